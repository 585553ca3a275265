import { ExecutionStatus, OperationStatus } from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  defaultConfig,
  MAX_QUESTION_CHARS,
  scriptedModel,
  type AgentConfig,
  type AgentResult,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
} from "../src";
import { simulatedDeps, supportModel, type WorldOptions } from "../src/demo";
import { lastToolResults, type ScriptedModel } from "../src/scripted-model";
import { createRunner, describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// With DURABLE_TEST_TARGET=cloud the bad-input tests run against the deployed agent (see target.ts). Every other
// test scripts the model's replies and reads the simulated back office: the deployed agent talks to a real model,
// whose replies no test can script, so those run only locally.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const changedMind = {
  customerId: "cust-7",
  orderId: "order-1042",
  question: "I changed my mind about order-1042. Can I send it back?",
};

async function runAgent(
  model: ScriptedModel | ModelProvider,
  payload: unknown = changedMind,
  config: AgentConfig = defaultConfig,
  world: WorldOptions = {},
) {
  const simulated = simulatedDeps(model, world);
  const runner = createRunner<AgentResult>({
    handler: createHandler(simulated.deps, config),
    cloudOutput: "AgentLoopHandlerAliasArn",
  });
  const result = await runner.run({ payload });
  const topLevel = result
    .getOperations()
    .filter((operation) => operation.getParentId() === undefined)
    .map((operation) => operation.getName() ?? "(unnamed)");
  return { ...simulated, runner, result, topLevel };
}

/** The tool results the agent sent the model in a given turn's request. */
const toolResultsSentIn = (model: ScriptedModel, turn: number) =>
  lastToolResults(model.calls.filter((call) => call.turn === turn && call.outcome === "ok")[0]!.request);

describeLocal("a multi-turn conversation with tool use", () => {
  it("looks up the order, checks the policy and answers: one named step per model turn and per tool", async () => {
    const model = supportModel();
    const { runner, result, topLevel, calls } = await runAgent(model);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "I'm sorry, I cannot refund this order: Change-of-mind returns close 14 days after delivery.",
      turns: 3,
      toolCalls: [
        { turn: 1, tool: "lookup_order", status: "success" },
        { turn: 2, tool: "check_refund_policy", status: "success" },
      ],
    });
    expect(topLevel).toEqual([
      "model-turn-1",
      "tool-lookup-order-turn-1",
      "model-turn-2",
      "tool-check-refund-policy-turn-2",
      "model-turn-3",
    ]);
    for (const name of topLevel) {
      expect(runner.getOperation(name).getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(runner.getOperation(name).getStepDetails()?.attempt).toBe(1);
    }
    expect(calls).toEqual([
      { service: "orders", detail: "order-1042" },
      { service: "orders", detail: "order-1042" },
      { service: "refundPolicy", detail: "order-1042 changed-mind" },
      { service: "orders", detail: "order-1042 refunds" },
    ]);

    // The conversation grows from step results: turn 3 sees the question, two model replies and two tool results.
    expect(model.calls.map((call) => call.request.messages.length)).toEqual([1, 3, 5]);
    expect(toolResultsSentIn(model, 2)).toMatchObject([
      { toolUseId: "tooluse-1-1", status: "success", json: { orderId: "order-1042" } },
    ]);
    // What the model sees of the order leaves out whose it is.
    expect(runner.getOperation("tool-lookup-order-turn-1").getStepDetails()?.result).toMatchObject({
      json: { orderId: "order-1042", totalCents: 2500, currency: "EUR" },
    });
    expect(
      JSON.stringify(runner.getOperation("tool-lookup-order-turn-1").getStepDetails()?.result),
    ).not.toContain("cust-7");

    // The model's usage numbers add up across turns.
    const usage = result.getResult()!.usage;
    const stepUsage = [1, 2, 3].map(
      (turn) => runner.getOperation<ModelResponse>(`model-turn-${turn}`).getStepDetails()!.result!.usage,
    );
    expect(usage.inputTokens).toBe(stepUsage.reduce((sum, u) => sum + u.inputTokens, 0));
    expect(usage.outputTokens).toBe(stepUsage.reduce((sum, u) => sum + u.outputTokens, 0));
  });

  it("only shows the customer their own orders", async () => {
    const { result, calls } = await runAgent(supportModel(), {
      customerId: "cust-7",
      orderId: "order-1042",
      question: "What happened to order-2001?",
    });

    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "I could not find that order. Could you check the order number?",
      toolCalls: [{ turn: 1, tool: "lookup_order", status: "error" }],
    });
    expect(calls).toEqual([{ service: "orders", detail: "order-2001" }]);
  });

  it("names a second call of the same tool in one turn apart from the first", async () => {
    const model = scriptedModel([
      {
        toolUses: [
          { name: "lookup_order", input: { orderId: "order-1042" } },
          { name: "lookup_order", input: { orderId: "order-2001" } },
        ],
      },
      { text: "One of them is yours." },
    ]);
    const { topLevel, result } = await runAgent(model);

    expect(topLevel).toEqual([
      "model-turn-1",
      "tool-lookup-order-turn-1",
      "tool-lookup-order-turn-1-2",
      "model-turn-2",
    ]);
    expect(result.getResult()?.toolCalls.map((call) => call.status)).toEqual(["success", "error"]);
  });
});

describeLocal("invalid tool arguments go back to the model", () => {
  it.each([
    ["a wrong type", { orderId: 1042 }, "Invalid arguments for lookup_order: orderId"],
    ["a malformed id", { orderId: "1042" }, 'orderId must look like "order-1042"'],
    ["a missing field", {}, "Invalid arguments for lookup_order: orderId"],
    ["an extra field", { orderId: "order-1042", customerId: "cust-9" }, 'Unrecognized key: "customerId"'],
  ])(
    "%s: a tool error, no tool step, and the model fixes it next turn",
    async (_label, badInput, problem) => {
      const model = scriptedModel([
        { toolUses: [{ name: "lookup_order", input: badInput }] },
        (request: ModelRequest) => {
          const [error] = lastToolResults(request);
          return error?.status === "error"
            ? {
                text: "Let me try that again.",
                toolUses: [{ name: "lookup_order", input: { orderId: "order-1042" } }],
              }
            : { text: "unexpected" };
        },
        { text: "Your order was delivered on time." },
      ]);
      const { result, topLevel, callsTo } = await runAgent(model);

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({
        status: "ANSWERED",
        answer: "Your order was delivered on time.",
        toolCalls: [
          { turn: 1, tool: "lookup_order", status: "error" },
          { turn: 2, tool: "lookup_order", status: "success" },
        ],
      });
      const [sent] = toolResultsSentIn(model, 2);
      expect(sent).toMatchObject({ type: "toolResult", toolUseId: "tooluse-1-1", status: "error" });
      expect(sent?.status === "error" && sent.text).toContain(problem);
      // The invalid call never became an operation, and never reached the order service.
      expect(topLevel).toEqual(["model-turn-1", "model-turn-2", "tool-lookup-order-turn-2", "model-turn-3"]);
      expect(callsTo("orders")).toBe(1);
    },
  );

  // `name in toolInputs` is true for every Object.prototype member: these must be unknown tools too.
  it.each(["delete_account", "constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"])(
    "an unknown tool (%s) is a tool error too",
    async (name) => {
      const model = scriptedModel([
        { toolUses: [{ name, input: { customerId: "cust-7" } }] },
        { text: "I cannot do that." },
      ]);
      const { result, topLevel, calls } = await runAgent(model);

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({ status: "ANSWERED", answer: "I cannot do that." });
      expect(toolResultsSentIn(model, 2)[0]).toMatchObject({
        status: "error",
        text: `Unknown tool "${name}". Available tools: lookup_order, check_refund_policy, issue_refund.`,
      });
      expect(topLevel).toEqual(["model-turn-1", "model-turn-2"]);
      expect(calls).toEqual([]);
    },
  );
});

describeLocal("guards end the run with an explained stop, not a crash", () => {
  /** A model that never stops asking for the same tool. */
  const loopingModel = (usage?: { inputTokens: number; outputTokens: number }) =>
    scriptedModel(
      Array.from({ length: 20 }, () => ({
        text: "Let me check once more.",
        toolUses: [{ name: "lookup_order", input: { orderId: "order-1042" } }],
        usage,
      })),
    );

  it("stops at the turn limit without running the last turn's tools", async () => {
    const model = loopingModel();
    const { result, topLevel, callsTo } = await runAgent(model, changedMind, {
      ...defaultConfig,
      maxTurns: 3,
    });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "STOPPED",
      reason: "max-turns",
      explanation:
        "Stopped after 3 model turns (the limit is 3); the model still wanted: lookup_order. Nothing was run for it.",
      partialAnswer: "Let me check once more.",
      turns: 3,
    });
    expect(result.getResult()?.toolCalls.map((call) => call.status)).toEqual([
      "success",
      "success",
      "not-run",
    ]);
    expect(model.calls).toHaveLength(3);
    expect(callsTo("orders")).toBe(2);
    expect(topLevel).toEqual([
      "model-turn-1",
      "tool-lookup-order-turn-1",
      "model-turn-2",
      "tool-lookup-order-turn-2",
      "model-turn-3",
    ]);
  });

  it("stops when the model's reported usage reaches the token budget", async () => {
    const model = loopingModel({ inputTokens: 1000, outputTokens: 200 });
    const { result, callsTo } = await runAgent(model, changedMind, { ...defaultConfig, tokenBudget: 3000 });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "STOPPED",
      reason: "token-budget",
      explanation:
        "Stopped after 3 model turns: 3600 tokens used of a 3000 budget; the model still wanted: lookup_order. Nothing was run for it.",
      turns: 3,
      usage: { inputTokens: 3000, outputTokens: 600 },
    });
    expect(model.calls).toHaveLength(3); // 2400 tokens after two turns was under budget
    expect(callsTo("orders")).toBe(2);
  });

  it("reports a reply cut short by the model (max_tokens) as a stop", async () => {
    const model = scriptedModel([{ text: "Your order is", stopReason: "max_tokens" }]);
    const { result } = await runAgent(model);

    expect(result.getResult()).toMatchObject({
      status: "STOPPED",
      reason: "model-stopped",
      explanation: 'The model stopped with "max_tokens" before finishing its answer.',
      partialAnswer: "Your order is",
    });
  });
});

describeLocal("model errors", () => {
  it("retries throttling and unavailability with backoff, then carries on", async () => {
    const model = supportModel({ 1: ["throttled", "throttled"], 2: ["unavailable"], 3: ["not-ready"] });
    const { runner, result } = await runAgent(model);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.status).toBe("ANSWERED");
    expect(runner.getOperation("model-turn-1").getStepDetails()?.attempt).toBe(3);
    expect(runner.getOperation("model-turn-2").getStepDetails()?.attempt).toBe(2);
    expect(runner.getOperation("model-turn-3").getStepDetails()?.attempt).toBe(2);
    expect([1, 2, 3].map((turn) => model.callsFor(turn))).toEqual([3, 2, 2]);
    expect(model.calls.map((call) => call.outcome)).toEqual([
      "throttled",
      "throttled",
      "ok",
      "unavailable",
      "ok",
      "not-ready",
      "ok",
    ]);
  });

  it("gives up after five attempts when throttling persists", async () => {
    const model = supportModel({ 1: Array.from({ length: 9 }, () => "throttled" as const) });
    const { runner, result } = await runAgent(model);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "StepError",
      errorMessage: "Bedrock ThrottlingException (429): Too many requests, please wait.",
    });
    expect(model.callsFor(1)).toBe(5);
    expect(runner.getOperation("model-turn-1").getStatus()).toBe(OperationStatus.FAILED);
  });

  it.each([
    ["validation", "Bedrock ValidationException (400): The provided model identifier is invalid."],
    ["access-denied", "Bedrock AccessDeniedException (403): You don't have access to the model."],
  ] as const)("does not retry %s: the run fails at once with the model's message", async (fault, message) => {
    const model = supportModel({ 1: [fault] });
    const { runner, result, calls } = await runAgent(model);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({ errorType: "StepError", errorMessage: message });
    expect(runner.getOperation("model-turn-1").getStepDetails()?.attempt).toBe(1);
    expect(model.calls).toHaveLength(1);
    expect(calls).toEqual([]);
  });
});

describeLocal("tool faults", () => {
  it("retries a back-office outage inside the tool step", async () => {
    const { runner, result, callsTo } = await runAgent(supportModel(), changedMind, defaultConfig, {
      outages: { orders: 2 },
    });

    expect(result.getResult()?.status).toBe("ANSWERED");
    expect(runner.getOperation("tool-lookup-order-turn-1").getStepDetails()?.attempt).toBe(3);
    // Three attempts of the lookup, then the policy check's order and its refunds already paid.
    expect(callsTo("orders")).toBe(5);
  });

  it("turns a tool that keeps failing into a tool error the model can explain", async () => {
    const model = supportModel();
    const { runner, result, callsTo } = await runAgent(model, changedMind, defaultConfig, {
      outages: { orders: 99 },
    });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "I could not find that order. Could you check the order number?",
      toolCalls: [{ turn: 1, tool: "lookup_order", status: "error" }],
    });
    expect(toolResultsSentIn(model, 2)[0]).toMatchObject({
      status: "error",
      // A fixed sentence for the kind of failure, never the error's own text (src/tool-failure.ts).
      text: "lookup_order failed: the back office is unavailable right now. Nothing was changed by this call; suggest trying again later.",
    });
    expect(callsTo("orders")).toBe(4);
    expect(runner.getOperation("tool-lookup-order-turn-1").getStatus()).toBe(OperationStatus.FAILED);
  });
});

describe("bad input fails before any model call", () => {
  it.each([
    ["an empty question", { ...changedMind, question: "" }, "question must not be empty"],
    ["a blank question", { ...changedMind, question: "   \n " }, "question must not be empty"],
    [
      "an oversized question",
      { ...changedMind, question: "x".repeat(MAX_QUESTION_CHARS + 1) },
      `question must be at most ${MAX_QUESTION_CHARS} characters`,
    ],
    ["no question", { customerId: "cust-7", orderId: "order-1042" }, "question must be a string"],
    ["no customer", { orderId: "order-1042", question: "Where is my order?" }, "customerId"],
    ["no order", { customerId: "cust-7", question: "Where is my order?" }, "orderId is required"],
    ["a malformed order", { ...changedMind, orderId: "1042; DROP" }, 'orderId must look like "order-1042"'],
    ["not an object", "help", "input"],
  ])("rejects %s", async (_label, payload, problem) => {
    const model = supportModel();
    const { result, calls } = await runAgent(model, payload);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidSupportRequestError");
    expect(result.getError().errorMessage).toContain(problem);
    // Locally the scripted model and the fakes saw no call; in the cloud the empty operation list is the proof.
    expect(model.calls).toEqual([]);
    expect(calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
  });
});
