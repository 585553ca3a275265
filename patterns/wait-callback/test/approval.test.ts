import type { ErrorObject } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  OperationStatus,
  OperationType,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { samplePurchase } from "../src/demo";
import {
  approve,
  managerGoesQuiet,
  nowReally,
  recordingLogger,
  setUp,
  sleepReally,
  testConfig,
  managerHasLink,
} from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): every test here reads the simulated world (messages, decisions, calls counted in the
// fakes), shortens the callback timeouts through the config, or injects a fault. The deployed function has real
// services and its default timeouts, and an approval there is followed by a real 4-hour lead time.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

type Reply = { success: string } | { failure: ErrorObject };

describeLocal("the manager answers", () => {
  it.each<[string, Reply, Record<string, unknown>]>([
    [
      "approves: the order is placed and polled until it ships",
      { success: approve("u-dana", "Within budget") },
      {
        status: "SHIPPED",
        approvedBy: "u-dana",
        jobId: "job-PR-2042",
        trackingNumber: "TRK-job-PR-2042",
        statusChecks: 3,
      },
    ],
    [
      "rejects in the answer",
      { success: JSON.stringify({ decision: "reject", decidedBy: "u-dana", comment: "Over budget" }) },
      { status: "DECLINED", reason: "REJECTED", detail: "Rejected by u-dana: Over budget" },
    ],
    [
      "rejects with a callback failure (CallbackExternalError)",
      { failure: { ErrorType: "Rejected", ErrorMessage: "Over budget this quarter" } },
      { status: "DECLINED", reason: "REJECTED", detail: "Rejected: Over budget this quarter" },
    ],
  ])("%s", async (_label, reply, expected) => {
    const { world, runner } = setUp();
    const askManager = runner.getOperation("ask-manager");
    const run = runner.run({ payload: samplePurchase });
    // notify-manager has sent the message, so the manager can have the callback id.
    await managerHasLink(runner);
    if ("success" in reply) await askManager.sendCallbackSuccess(reply.success);
    else await askManager.sendCallbackFailure(reply.failure);
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toEqual({
      requestId: "PR-2042",
      reference: "PO-REQ-PR-2042",
      escalated: false,
      refusedAnswers: [],
      failedReminders: [],
      ...expected,
    });
    // The manager got one message, carrying this callback's id and a "need more time" link (her callback has
    // a heartbeat timeout); nobody else was asked.
    expect(world.messages).toEqual([
      {
        kind: "approval",
        to: "u-dana",
        callbackId: askManager.getCallbackDetails()!.callbackId,
        moreTime: true,
      },
    ]);
    expect(askManager.getType()).toBe(OperationType.CALLBACK);
    expect(result.getOperations().map((operation) => operation.getName())).not.toContain("director-approval");
    expect(world.decisions).toHaveLength(1);
    expect(world.decisions[0]!.decision).toBe(expected.status === "SHIPPED" ? "APPROVED" : "DECLINED");
    expect(world.callsTo("supplier.placeOrder")).toBe(expected.status === "SHIPPED" ? 1 : 0);
  });

  it("waits 4 hours of lead time before the first status check, by name and duration", async () => {
    const { runner } = setUp();
    const askManager = runner.getOperation("ask-manager");
    const run = runner.run({ payload: samplePurchase });
    await managerHasLink(runner);
    await askManager.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const leadTime = runner.getOperation("wait-for-supplier-lead-time");
    expect(leadTime.getType()).toBe(OperationType.WAIT);
    expect(leadTime.getWaitDetails()?.waitSeconds).toBe(4 * 60 * 60);
    expect(result.getOperations().map((operation) => operation.getName())).toEqual([
      "submit-request",
      "ask-manager",
      "notify-manager",
      "record-decision",
      "place-order",
      "wait-for-supplier-lead-time",
      "poll-fulfilment",
    ]);
  });
});

describeLocal("heartbeats", () => {
  it("keep a long approval alive past the heartbeat timeout", async () => {
    const { world, runner } = setUp(
      {},
      testConfig({ manager: { timeout: { seconds: 20 }, heartbeatTimeout: { seconds: 3 } } }),
    );
    const askManager = runner.getOperation("ask-manager");
    const started = nowReally();
    const run = runner.run({ payload: samplePurchase });
    await managerHasLink(runner);
    // "Need more time", every 300 ms for 4.2 s: well past the 3 s heartbeat timeout, and each beat far inside it
    // (a gap of 300 ms against 3 s leaves room for a busy machine; heartbeat timeouts run on real time).
    for (let beat = 0; beat < 14; beat++) {
      await askManager.sendCallbackHeartbeat();
      await sleepReally(300);
    }
    await askManager.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(nowReally() - started).toBeGreaterThan(4000);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana", escalated: false });
    expect(world.messages.map((message) => message.kind)).toEqual(["approval"]);
  });
});

describeLocal("no answer in time: escalation with durable reminders, then auto-decline", () => {
  async function escalate(
    director: (op: ReturnType<typeof setUp>["runner"]) => Promise<void>,
    directorTimeout = 60,
  ) {
    const { world, runner } = setUp(
      {},
      testConfig({
        ...managerGoesQuiet,
        director: { timeout: { seconds: directorTimeout }, remindEvery: { days: 1 }, maxReminders: 2 },
      }),
    );
    const run = runner.run({ payload: samplePurchase });
    await director(runner);
    return { world, runner, result: await run };
  }

  it("the manager's silence times out, the director is reminded twice and approves", async () => {
    const { world, runner, result } = await escalate(async (runner) => {
      // Answer only once the director has been asked and reminded twice.
      await runner.getOperation("remind-director-2").waitForData(WaitingOperationStatus.COMPLETED);
      await runner.getOperation("director-approval").waitForData(WaitingOperationStatus.STARTED);
      await runner.getOperation("director-approval").sendCallbackSuccess(approve("u-sam", "OK"));
    });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-sam", escalated: true });
    // A callback of its own (not a waitForCallback context): the service records it TIMED_OUT.
    expect(runner.getOperation("ask-manager").getStatus()).toBe(OperationStatus.TIMED_OUT);
    expect(runner.getOperation("ask-manager").getCallbackDetails()?.error).toMatchObject({
      errorMessage: "Callback timed out on heartbeat",
    });
    const directorCallback = runner.getOperation("director-approval");
    expect(directorCallback.getType()).toBe(OperationType.CALLBACK);
    const callbackId = directorCallback.getCallbackDetails()!.callbackId;
    // The director's callback has no heartbeat timeout, so his messages offer no "need more time" link.
    expect(world.messages).toEqual([
      {
        kind: "approval",
        to: "u-dana",
        callbackId: runner.getOperation("ask-manager").getCallbackDetails()!.callbackId,
        moreTime: true,
      },
      { kind: "escalation", to: "u-sam", callbackId, moreTime: false },
      { kind: "reminder", to: "u-sam", callbackId, moreTime: false, reminderNumber: 1 },
      { kind: "reminder", to: "u-sam", callbackId, moreTime: false, reminderNumber: 2 },
    ]);
    for (const turn of [1, 2]) {
      expect(runner.getOperation(`wait-before-reminder-${turn}`).getWaitDetails()?.waitSeconds).toBe(
        24 * 60 * 60,
      );
      // The reminder won each race: the durable wait finished first, and that outcome is checkpointed.
      expect(runner.getOperation(`director-answer-or-reminder-${turn}`).getStatus()).toBe(
        OperationStatus.SUCCEEDED,
      );
    }
  });

  it("the director rejects with a callback failure", async () => {
    const { world, result } = await escalate(async (runner) => {
      await runner.getOperation("notify-director").waitForData(WaitingOperationStatus.COMPLETED);
      await runner.getOperation("director-approval").waitForData(WaitingOperationStatus.STARTED);
      await runner
        .getOperation("director-approval")
        .sendCallbackFailure({ ErrorType: "Rejected", ErrorMessage: "Not now" });
    });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "DECLINED",
      reason: "REJECTED",
      detail: "Rejected: Not now",
      escalated: true,
    });
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
  });

  it("nobody answers: auto-declined after the director's timeout", async () => {
    // The director's 6 s (real time, from the callback's creation) must outlast both reminders' skipped waits,
    // one invocation each, on a busy machine too.
    const { world, runner, result } = await escalate(async () => undefined, 6);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toEqual({
      requestId: "PR-2042",
      reference: "PO-REQ-PR-2042",
      status: "DECLINED",
      reason: "NO_ANSWER",
      detail: "Auto-declined: neither the manager nor the director decided in time",
      escalated: true,
      refusedAnswers: [],
      failedReminders: [],
    });
    expect(runner.getOperation("director-approval").getStatus()).toBe(OperationStatus.TIMED_OUT);
    expect(world.messages.map((message) => `${message.kind} ${message.to}`)).toEqual([
      "approval u-dana",
      "escalation u-sam",
      "reminder u-sam",
      "reminder u-sam",
    ]);
    expect(world.decisions).toEqual([
      {
        decision: "DECLINED",
        detail: "Auto-declined: neither the manager nor the director decided in time",
      },
    ]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
  });
});

describeLocal("reminders are courtesy: one that cannot be delivered never fails the request", () => {
  it("the first reminder is undeliverable; it is recorded and logged, and the director's approval still counts", async () => {
    const logger = recordingLogger();
    const { world, runner } = setUp(
      { undeliverableReminders: [1] },
      testConfig({
        ...managerGoesQuiet,
        director: { timeout: { seconds: 60 }, remindEvery: { days: 1 }, maxReminders: 2 },
      }),
      { logger },
    );
    const run = runner.run({ payload: samplePurchase });
    await runner.getOperation("remind-director-2").waitForData(WaitingOperationStatus.COMPLETED);
    const director = runner.getOperation("director-approval");
    await director.waitForData(WaitingOperationStatus.STARTED);
    await director.sendCallbackSuccess(approve("u-sam"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "SHIPPED",
      approvedBy: "u-sam",
      escalated: true,
      failedReminders: [{ operation: "remind-director-1", error: "chat webhook answered 503" }],
    });
    // The chat's own record: four attempts at reminder 1 (all refused), then reminder 2 delivered.
    expect(
      world.calls
        .filter((call) => call.key.startsWith("PR-2042:remind-director-1:"))
        .map((call) => call.outcome),
    ).toEqual(["transient", "transient", "transient", "transient"]);
    expect(world.messages.map((message) => `${message.kind} ${message.reminderNumber ?? ""}`.trim())).toEqual(
      ["approval", "escalation", "reminder 2"],
    );
    expect(runner.getOperation("remind-director-1").getStatus()).toBe(OperationStatus.FAILED);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
    // Logged through context.logger. Replay-aware logging suppresses the line on later replays, but a line
    // outside a step can repeat once at an invocation boundary (when the step was the last checkpoint): at least
    // once, and always this line. The result, above, holds it exactly once.
    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    for (const warning of warnings) {
      expect(warning).toEqual({
        level: "warn",
        message: "Reminder not delivered; still waiting for the director",
        data: [{ operation: "remind-director-1", error: "chat webhook answered 503" }],
      });
    }
  });
});

describeLocal("the chat webhook is briefly down", () => {
  it("the submitter step retries and the manager gets the message once, with the same callback id", async () => {
    const { world, runner } = setUp({ chatOutages: 2 });
    const askManager = runner.getOperation("ask-manager");
    const run = runner.run({ payload: samplePurchase });
    await managerHasLink(runner);
    await askManager.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.calls.filter((call) => call.service === "chat").map((call) => call.outcome)).toEqual([
      "transient",
      "transient",
      "ok",
    ]);
    expect(world.messages).toHaveLength(1);
  });
});
