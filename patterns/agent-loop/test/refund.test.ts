import { OperationSubType, withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  OperationType,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { defaultConfig, runSupportAgent, scriptedModel, type AgentResult, type ModelProvider } from "../src";
import { sampleRequest, simulatedDeps, type WorldOptions } from "../src/demo";
import { lastToolResults } from "../src/scripted-model";
import { watchInvocations } from "./invocations";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The refund waits for a person through a callback: the function suspends until the callback is
// answered, so these runs span several invocations even under skipTime. Callback timeouts run on real
// time in the local runner: generous where dana answers (no race with a busy machine), one second where no
// one does and the timeout is the point.
// Local only (itLocal, describeLocal): the tests script the model, shorten the approval timeout and wrap the
// handler to count its runs.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const config = { ...defaultConfig, approvalTimeout: { seconds: 30 }, refundApprover: "dana" };
const noOneAnswers = { ...config, approvalTimeout: { seconds: 1 } };
const APPROVAL = "approve-refund-order-1042";

/** The agent behind our own withDurableExecution, to count how often the handler body runs (once per invocation). */
function setup(model?: ModelProvider, options?: WorldOptions, agentConfig = config) {
  const world = simulatedDeps(model, options);
  let handlerBodyRuns = 0;
  const invocations = watchInvocations(
    withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return runSupportAgent(event, context, world.deps, agentConfig);
    }),
  );
  const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: invocations.handler });
  return { ...world, runner, suspended: invocations.suspended, handlerBodyRuns: () => handlerBodyRuns };
}

itLocal(
  "suspends for the approval and replays: each model turn, tool and side effect ran exactly once",
  async () => {
    const { runner, suspended, deps, calls, approvalRequests, provider, handlerBodyRuns } = setup();
    const model = deps.model as ReturnType<typeof scriptedModel>;
    const approval = runner.getOperation(APPROVAL);

    const running = runner.run({ payload: sampleRequest });
    // The approval request is sent by its own step, after the callback exists.
    await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
    // The person asked sees the policy's verdict, the refunds already paid and the customer's own words;
    // the model's text is labelled as the model's. They answer with the callback id they were given.
    expect(approvalRequests).toEqual([
      {
        callbackId: approval.getCallbackDetails()?.callbackId,
        approver: "dana",
        orderId: "order-1042",
        customerId: "cust-7",
        amountCents: 2500,
        currency: "EUR",
        reason: "damaged",
        policy: { eligible: true, maxRefundCents: 2500, explanation: "A damaged order is refunded in full." },
        priorRefunds: { totalCents: 0, refunds: [], remainingAfterCents: 0 },
        customerWrote: "Both mugs from order-1042 arrived cracked. Can I get my money back?",
        writtenByModel: { noteForApprover: "Items arrived damaged" },
      },
    ]);
    // Dana answers once the execution has suspended on the approval (see test/invocations.ts).
    await suspended();
    await approval.sendCallbackSuccess(
      JSON.stringify({ approved: true, approver: "dana", note: "photo checked" }),
    );
    const result = await running;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "Done: 25.00 EUR is on its way back to you (reference re-order-1042-1).",
      turns: 4,
      toolCalls: [
        { turn: 1, tool: "lookup_order", status: "success" },
        { turn: 2, tool: "check_refund_policy", status: "success" },
        { turn: 3, tool: "issue_refund", status: "success" },
      ],
    });

    // Replay: the run suspended at the approval and a later invocation re-ran the handler from the top...
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(handlerBodyRuns()).toBe(invocations);
    // ...but the model was called once per turn, and each tool's side effects happened once.
    expect(model.calls.map((call) => call.turn)).toEqual([1, 2, 3, 4]);
    expect(calls).toEqual([
      { service: "orders", detail: "order-1042" }, // lookup_order
      { service: "orders", detail: "order-1042" }, // check_refund_policy
      { service: "refundPolicy", detail: "order-1042 damaged" },
      { service: "orders", detail: "order-1042 refunds" },
      { service: "orders", detail: "order-1042" }, // verify-refund: the order, the policy, the refunds paid
      { service: "refundPolicy", detail: "order-1042 damaged" },
      { service: "orders", detail: "order-1042 refunds" },
      { service: "approvals", detail: "order-1042 2500" },
      { service: "orders", detail: "order-1042 refunds" }, // refund-payment: still nothing paid?
      { service: "payments", detail: "order-1042 2500" },
    ]);
    // The provider's own books: one refund, keyed by order, prior refunds and amount (not by tool call).
    expect(provider.refunds).toEqual([
      {
        refundId: "re-order-1042-1",
        orderId: "order-1042",
        amountCents: 2500,
        currency: "EUR",
        idempotencyKey: "order-1042:refund-1",
      },
    ]);

    // Every operation, by name.
    for (const name of [
      "model-turn-1",
      "tool-lookup-order-turn-1",
      "model-turn-2",
      "tool-check-refund-policy-turn-2",
      "model-turn-3",
      "model-turn-4",
    ]) {
      expect(runner.getOperation(name).getType()).toBe(OperationType.STEP);
      expect(runner.getOperation(name).getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(runner.getOperation(name).getStepDetails()?.attempt).toBe(1);
    }
    const refundTool = runner.getOperation("tool-issue-refund-turn-3");
    expect(refundTool.getType()).toBe(OperationType.CONTEXT);
    expect(refundTool.getSubType()).toBe(OperationSubType.RUN_IN_CHILD_CONTEXT);
    expect(refundTool.getChildOperations()?.map((child) => child.getName())).toEqual([
      "verify-refund-order-1042",
      "approve-refund-order-1042",
      "request-approval-order-1042",
      "refund-payment-order-1042",
    ]);
    expect(approval.getSubType()).toBe(OperationSubType.CALLBACK);
    expect(approval.getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(runner.getOperation("refund-payment-order-1042").getStepDetails()?.result).toEqual({
      paid: true,
      refundId: "re-order-1042-1",
    });
    // The model saw who approved it.
    expect(lastToolResults(model.calls[3]!.request)).toEqual([
      {
        type: "toolResult",
        toolUseId: "tooluse-3-1",
        status: "success",
        json: {
          refundId: "re-order-1042-1",
          orderId: "order-1042",
          amountCents: 2500,
          currency: "EUR",
          approvedBy: "dana",
        },
      },
    ]);
  },
);

describeLocal("a refund the person does not approve is not paid, and the model explains", () => {
  it.each([
    [
      "denied in the answer",
      (op: ReturnType<LocalDurableTestRunner["getOperation"]>) =>
        op.sendCallbackSuccess(
          JSON.stringify({ approved: false, approver: "dana", note: "no photo of the damage" }),
        ),
      "I could not refund your order: Refund denied by dana: no photo of the damage.",
    ],
    [
      "rejected as a callback failure",
      (op: ReturnType<LocalDurableTestRunner["getOperation"]>) =>
        op.sendCallbackFailure({ ErrorMessage: "fraud check failed", ErrorType: "Rejected" }),
      "I could not refund your order: The refund was rejected: fraud check failed",
    ],
    [
      "an unreadable answer",
      (op: ReturnType<LocalDurableTestRunner["getOperation"]>) => op.sendCallbackSuccess("yes please"),
      "I could not refund your order: The approval answer could not be read (the answer is not JSON), so it counts as not approved and nothing was paid. A person will follow up.",
    ],
  ])("%s", async (_label, answer, expected) => {
    const { runner, callsTo, provider } = setup();
    const approval = runner.getOperation(APPROVAL);
    const running = runner.run({ payload: sampleRequest });
    // The approval request is sent by its own step, after the callback exists.
    await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
    await answer(approval);
    const result = await running;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "ANSWERED", answer: expected, turns: 4 });
    expect(result.getResult()?.toolCalls[2]).toEqual({ turn: 3, tool: "issue_refund", status: "error" });
    expect(callsTo("payments")).toBe(0);
    expect(provider.refunds).toEqual([]);
    expect(runner.getOperation("tool-issue-refund-turn-3").getStatus()).toBe(OperationStatus.SUCCEEDED);
  });
});

itLocal(
  "times out when no one answers: no refund, and the model tells the customer a person will follow up",
  async () => {
    const { runner, callsTo } = setup(undefined, undefined, noOneAnswers);
    const result = await runner.run({ payload: sampleRequest });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer:
        "I could not refund your order: No one approved the refund in time, so it was not issued. A person will follow up.",
    });
    // The callback itself timed out (it is a CALLBACK operation, not a waitForCallback context).
    expect(runner.getOperation(APPROVAL).getStatus()).toBe(OperationStatus.TIMED_OUT);
    expect(callsTo("approvals")).toBe(1);
    expect(callsTo("payments")).toBe(0);
  },
);

itLocal("checks the model's refund against the policy and prior refunds before asking anyone", async () => {
  const model = scriptedModel([
    {
      toolUses: [
        {
          name: "issue_refund",
          input: {
            orderId: "order-1042",
            reason: "damaged",
            amountCents: 99_000,
            noteForApprover: "Arrived damaged",
          },
        },
      ],
    },
    (request) => ({
      text: `Sorry: ${lastToolResults(request)[0]?.status === "error" ? "not possible" : "?"}`,
    }),
  ]);
  const { runner, calls, provider } = setup(model);
  const result = await runner.run({ payload: sampleRequest });

  expect(result.getResult()).toMatchObject({ status: "ANSWERED", answer: "Sorry: not possible" });
  expect(lastToolResults(model.calls[1]!.request)[0]).toMatchObject({
    status: "error",
    text: "990.00 EUR is more than can be refunded for order-1042: at most 25.00 EUR (the policy allows 25.00 EUR, 0.00 EUR already refunded).",
  });
  expect(calls).toEqual([
    { service: "orders", detail: "order-1042" },
    { service: "refundPolicy", detail: "order-1042 damaged" },
    { service: "orders", detail: "order-1042 refunds" },
  ]);
  expect(provider.refunds).toEqual([]);
  expect(
    runner
      .getOperation("tool-issue-refund-turn-1")
      .getChildOperations()
      ?.map((child) => child.getName()),
  ).toEqual(["verify-refund-order-1042"]);
});

itLocal(
  "a refund paid whose answer was lost is in doubt: the retry finds it under its key and does not pay again",
  async () => {
    const { runner, callsTo, provider } = setup(undefined, { lostAnswers: { payments: 1 } });
    const approval = runner.getOperation(APPROVAL);
    const running = runner.run({ payload: sampleRequest });
    // The approval request is sent by its own step, after the callback exists.
    await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
    await approval.sendCallbackSuccess(JSON.stringify({ approved: true, approver: "dana" }));
    const result = await running;

    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "Done: 25.00 EUR is on its way back to you (reference re-order-1042-1).",
    });
    // Attempt 1 paid and lost the answer, then read the refunds paid once more, found its own key listed
    // for its amount, and stopped there: no retry was needed to know.
    expect(runner.getOperation("refund-payment-order-1042").getStepDetails()?.attempt).toBe(1);
    expect(callsTo("payments")).toBe(1);
    expect(provider.refunds).toHaveLength(1);
  },
);
