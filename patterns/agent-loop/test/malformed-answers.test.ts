import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
  type DurableOperation,
} from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  defaultConfig,
  MAX_ANSWER_CHARS,
  scriptedModel,
  type AgentConfig,
  type AgentResult,
  type ModelProvider,
  type ModelResponse,
} from "../src";
import { sampleRequest, simulatedWorld, supportModel } from "../src/demo";
import { lastToolResults, type ScriptStep } from "../src/scripted-model";
import { watchInvocations } from "./invocations";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The answers the agent trusts, and how: every malformed form of an approval answer and of a model
// reply, with the outcome it must give and the side effects counted in the simulated world's own books.
// The README's table "The answers it trusts, and how" is this file. Local only (scripted model, fakes).
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

// Callback timeouts run on real time in the local runner: generous where the test answers (no race with a busy
// machine), a second where no one does and the timeout is the point.
const config: AgentConfig = { ...defaultConfig, approvalTimeout: { seconds: 30 }, refundApprover: "dana" };
const noOneAnswers: AgentConfig = { ...config, approvalTimeout: { seconds: 1 } };
const APPROVAL = "approve-refund-order-1042";
const json = (value: unknown) => JSON.stringify(value);
const notPaid = (why: string) => `I could not refund your order: ${why}`;
const unreadable = (problem: string) =>
  notPaid(
    `The approval answer could not be read (${problem}), so it counts as not approved and nothing was paid. A person will follow up.`,
  );
const notADecision = notPaid(
  "The answer did not come from dana, who was asked, so it is not a decision and nothing was paid. A person will follow up.",
);

type Send = (approval: DurableOperation<unknown>) => Promise<unknown>;
const succeed =
  (result?: string): Send =>
  (approval) =>
    approval.sendCallbackSuccess(result);

describeLocal("approval answers: only a well-formed yes from the person asked pays", () => {
  it.each<[string, Send | "no one answers", string, number]>([
    [
      "a yes from dana (the control)",
      succeed(json({ approved: true, approver: "dana" })),
      "Done: 25.00 EUR is on its way back to you (reference re-order-1042-1).",
      1,
    ],
    [
      "a no from dana",
      succeed(json({ approved: false, approver: "dana", note: "no photo" })),
      notPaid("Refund denied by dana: no photo."),
      0,
    ],
    ["not JSON", succeed("yes please"), unreadable("the answer is not JSON"), 0],
    [
      "wrong shape: approved as a string",
      succeed(json({ approved: "yes", approver: "dana" })),
      unreadable("approved must be true or false"),
      0,
    ],
    ["wrong shape: a bare true", succeed("true"), unreadable("input must be an object"), 0],
    [
      "extra field: a different amount",
      succeed(json({ approved: true, approver: "dana", amountCents: 99_000 })),
      unreadable('input Unrecognized key: "amountCents"'),
      0,
    ],
    [
      "extra field: another order",
      succeed(json({ approved: true, approver: "dana", orderId: "order-2001" })),
      unreadable('input Unrecognized key: "orderId"'),
      0,
    ],
    ["empty", succeed(""), unreadable("the answer is empty"), 0],
    ["no result at all", succeed(), unreadable("the answer is empty"), 0],
    [
      "huge (100,000 characters)",
      succeed(json({ approved: true, approver: "dana", note: "x".repeat(100_000) })),
      unreadable("the answer is longer than 2000 characters"),
      0,
    ],
    [
      "wrong person: someone never asked",
      succeed(json({ approved: true, approver: "mallory" })),
      notADecision,
      0,
    ],
    [
      "wrong person: the customer herself",
      succeed(json({ approved: true, approver: "cust-7" })),
      notADecision,
      0,
    ],
    [
      "a callback failure",
      (approval) =>
        approval.sendCallbackFailure({ ErrorMessage: "fraud check failed", ErrorType: "Rejected" }),
      notPaid("The refund was rejected: fraud check failed"),
      0,
    ],
    [
      "late: no answer before the timeout",
      "no one answers",
      notPaid("No one approved the refund in time, so it was not issued. A person will follow up."),
      0,
    ],
    [
      "repeated: the same yes sent twice",
      async (approval) => {
        await approval.sendCallbackSuccess(json({ approved: true, approver: "dana" }));
        await approval.sendCallbackSuccess(json({ approved: true, approver: "dana" }));
      },
      "Done: 25.00 EUR is on its way back to you (reference re-order-1042-1).",
      1,
    ],
  ])("%s", async (_label, send, answer, paid) => {
    const world = simulatedWorld();
    const model = supportModel();
    const invocations = watchInvocations(
      createHandler({ ...world.deps, model }, send === "no one answers" ? noOneAnswers : config),
    );
    const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: invocations.handler });
    const approval = runner.getOperation(APPROVAL);
    const running = runner.run({ payload: sampleRequest });
    // The approval request is sent by its own step, after the callback exists; the answer comes once the
    // execution has suspended on it, as a person's would.
    await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
    await invocations.suspended();
    if (send !== "no one answers") await send(approval);
    const result = await running;

    // Never a crash: the execution succeeds, and the model tells the customer what happened.
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "ANSWERED", answer, turns: 4 });
    if (send === "no one answers") {
      // The late answer, after the timeout: the local runner accepts it, the Lambda service refuses it
      // (CallbackTimeoutException). Either way the execution is over and nothing is paid.
      await approval.sendCallbackSuccess(json({ approved: true, approver: "dana" }));
    }
    // Side effects, from the world's own books: one approval request, and a refund only for the yes.
    expect(world.approvalRequests).toHaveLength(1);
    expect(world.callsTo("payments")).toBe(paid);
    expect(world.provider.refunds).toHaveLength(paid);
    // Replay: the run suspended on the callback and resumed in a later invocation, yet each turn was
    // one model call.
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(model.calls.map((call) => call.turn)).toEqual([1, 2, 3, 4]);
  });
});

/** A model that returns these replies as they are, one per turn: for shapes the scripted model cannot produce. */
function rawModel(replies: ModelResponse[]): ModelProvider & { calls: number } {
  const model = {
    calls: 0,
    async converse() {
      const reply = replies[model.calls];
      model.calls += 1;
      if (!reply) throw new Error("no more replies");
      return structuredClone(reply);
    },
  };
  return model;
}

const fullRefund = {
  orderId: "order-1042",
  reason: "damaged",
  amountCents: 2500,
  noteForApprover: "Arrived cracked",
};
/** Turn 1 calls a tool with this input; turn 2 repeats what the tool answered. */
const callThen = (name: string, input: unknown) =>
  scriptedModel([
    { toolUses: [{ name, input }] },
    (request) => {
      const [result] = lastToolResults(request);
      return { text: result?.status === "error" ? result.text : "the tool ran" };
    },
  ] satisfies ScriptStep[]);
const usage = { inputTokens: 10, outputTokens: 5 };
const toolUse = (toolUseId: string) => ({
  type: "toolUse" as const,
  toolUseId,
  name: "issue_refund",
  input: fullRefund,
});

describeLocal("model replies: untrusted input, never a crash, never an empty ANSWERED", () => {
  it.each<[string, () => ModelProvider, Partial<AgentConfig>, Record<string, unknown>]>([
    [
      "not JSON: the tool input is a string",
      () => callThen("issue_refund", '{"orderId": "order-1042", amountCents: 25'),
      {},
      {
        status: "ANSWERED",
        answer: "Invalid arguments for issue_refund: input must be an object. Fix them and try again.",
      },
    ],
    [
      "wrong shape: the arguments as a list",
      () => callThen("issue_refund", [fullRefund]),
      {},
      {
        status: "ANSWERED",
        answer: "Invalid arguments for issue_refund: input must be an object. Fix them and try again.",
      },
    ],
    [
      "wrong shape: the amount as a string",
      () => callThen("issue_refund", { ...fullRefund, amountCents: "2500" }),
      {},
      {
        status: "ANSWERED",
        answer: "Invalid arguments for issue_refund: amountCents must be a number. Fix them and try again.",
      },
    ],
    [
      "extra field: approved",
      () => callThen("issue_refund", { ...fullRefund, approved: true }),
      {},
      {
        status: "ANSWERED",
        answer:
          'Invalid arguments for issue_refund: input Unrecognized key: "approved". Fix them and try again.',
      },
    ],
    [
      "unknown tool: __proto__",
      () => callThen("__proto__", fullRefund),
      {},
      {
        status: "ANSWERED",
        answer: 'Unknown tool "__proto__". Available tools: lookup_order, check_refund_policy, issue_refund.',
      },
    ],
    [
      "wrong person: another customer's order",
      () => callThen("issue_refund", { ...fullRefund, orderId: "order-2001" }),
      {},
      {
        status: "ANSWERED",
        answer: "This conversation is about order-1042; order-2001 cannot be refunded here.",
      },
    ],
    [
      "huge: a 10 KB note for the approver",
      () => callThen("issue_refund", { ...fullRefund, noteForApprover: "x".repeat(10_000) }),
      {},
      {
        status: "ANSWERED",
        answer:
          "Invalid arguments for issue_refund: noteForApprover must be at most 300 characters. Fix them and try again.",
      },
    ],
    [
      "huge: a 1 MB note, beyond the token budget",
      () => callThen("issue_refund", { ...fullRefund, noteForApprover: "x".repeat(1_000_000) }),
      {},
      { status: "STOPPED", reason: "token-budget" },
    ],
    [
      "empty final reply",
      () => scriptedModel([{ text: "" }]),
      {},
      {
        status: "STOPPED",
        reason: "unusable-reply",
        explanation: "The model finished without a word for the customer; a person should answer.",
      },
    ],
    [
      "blank final reply",
      () => scriptedModel([{ text: "  \n\t " }]),
      {},
      {
        status: "STOPPED",
        reason: "unusable-reply",
        explanation: "The model finished without a word for the customer; a person should answer.",
      },
    ],
    [
      "huge final reply",
      () => scriptedModel([{ text: "x".repeat(MAX_ANSWER_CHARS + 1) }]),
      {},
      {
        status: "STOPPED",
        reason: "unusable-reply",
        explanation: `The model's answer is ${MAX_ANSWER_CHARS + 1} characters long (at most ${MAX_ANSWER_CHARS}); it was not sent.`,
      },
    ],
    [
      "repeated: two tool calls with the same id",
      () =>
        rawModel([
          {
            message: { role: "assistant", content: [toolUse("tu-1"), toolUse("tu-1")] },
            stopReason: "tool_use",
            usage,
          },
        ]),
      {},
      {
        status: "STOPPED",
        reason: "unusable-reply",
        explanation: "The model gave two tool calls the same id; none was run.",
      },
    ],
    [
      "wrong shape: negative token usage",
      () =>
        rawModel([
          {
            message: { role: "assistant", content: [toolUse("tu-1")] },
            stopReason: "tool_use",
            usage: { inputTokens: -1_000_000, outputTokens: 0 },
          },
        ]),
      {},
      {
        status: "STOPPED",
        reason: "unusable-reply",
        explanation: "The model's reply was malformed (usage.inputTokens must not be negative).",
      },
    ],
    [
      "late: a refund asked for in the last allowed turn",
      () => scriptedModel([{ toolUses: [{ name: "issue_refund", input: fullRefund }] }]),
      { maxTurns: 1 },
      { status: "STOPPED", reason: "max-turns" },
    ],
  ])("%s", async (_label, makeModel, overrides, outcome) => {
    const world = simulatedWorld();
    const model = makeModel();
    const runner = new LocalDurableTestRunner<AgentResult>({
      handlerFunction: createHandler({ ...world.deps, model }, { ...config, ...overrides }),
    });
    const result = await runner.run({ payload: sampleRequest });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject(outcome);
    // Nothing asked, nothing paid.
    expect(world.approvalRequests).toEqual([]);
    expect(world.callsTo("payments")).toBe(0);
    expect(world.provider.refunds).toEqual([]);
  });
});
