import {
  ExecutionStatus,
  OperationStatus,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { samplePurchase } from "../src/demo";
import {
  approve,
  managerGoesQuiet,
  recordingLogger,
  reject,
  setUp,
  testConfig,
  managerHasLink,
} from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The answers the workflow trusts, and how (README: "The answers it trusts, and how"). Every side effect is
// counted in the fakes' own records: messages the chat delivered, decisions purchasing stored, orders the
// supplier took. Local only: the cloud function talks to real services.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const huge = JSON.stringify({ decision: "approve", decidedBy: "u-dana", comment: "x".repeat(100_000) });

describeLocal(
  "an answer to the manager's link that is not her decision is refused, and she is asked again",
  () => {
    // [form, the raw answer on Dana's first link, the reason it is refused, what the refusal says]
    it.each<[string, string, "MALFORMED" | "NOT_ASKED", string]>([
      ["not JSON", "yes, go ahead", "MALFORMED", "the answer is not JSON"],
      ["empty", "", "MALFORMED", "the answer is empty"],
      ["blank", "  \n ", "MALFORMED", "the answer is empty"],
      ["a JSON string", JSON.stringify("approve"), "MALFORMED", "answer must be an object"],
      ["null", "null", "MALFORMED", "answer must be an object"],
      [
        "an array",
        JSON.stringify([{ decision: "approve", decidedBy: "u-dana" }]),
        "MALFORMED",
        "must be an object",
      ],
      [
        "yes instead of approve",
        JSON.stringify({ decision: "yes", decidedBy: "u-dana" }),
        "MALFORMED",
        "decision must be approve or reject",
      ],
      ["no approver", JSON.stringify({ decision: "approve" }), "MALFORMED", "decidedBy is required"],
      [
        "an extra field that could change what is approved",
        JSON.stringify({ decision: "approve", decidedBy: "u-dana", amountCents: 1 }),
        "MALFORMED",
        "answer has unknown fields: amountCents",
      ],
      ["huge (100 KB)", huge, "MALFORMED", "the answer is too large"],
      [
        "markup as the approver",
        JSON.stringify({ decision: "approve", decidedBy: "<!channel>" }),
        "MALFORMED",
        "decidedBy must be 2-64 letters",
      ],
      [
        "the requester approving her own request",
        approve("u-ada"),
        "NOT_ASKED",
        "Answered (approve) by u-ada, but u-dana was asked",
      ],
      [
        "the director, who was not asked yet",
        approve("u-sam"),
        "NOT_ASKED",
        "by u-sam, but u-dana was asked",
      ],
      [
        "the manager's id in other capitals",
        approve("U-DANA"),
        "NOT_ASKED",
        "by U-DANA, but u-dana was asked",
      ],
      [
        "someone else rejecting",
        reject("u-ada", "No desk for you"),
        "NOT_ASKED",
        "Answered (reject) by u-ada",
      ],
    ])(
      "%s: refused, nothing ordered; Dana's own answer on the new link decides",
      async (_form, raw, reason, detail) => {
        const logger = recordingLogger();
        const { world, runner, suspended } = setUp({}, testConfig(), { logger });
        const run = runner.run({ payload: samplePurchase });
        const first = runner.getOperation("ask-manager");
        await managerHasLink(runner);
        // The answer comes once the execution has suspended on the callback, so the replay is shown.
        await suspended();
        await first.sendCallbackSuccess(raw);
        // The refused answer decided nothing: Dana gets a new link, and rejects with it.
        const second = runner.getOperation("ask-manager-round-2");
        await managerHasLink(runner, 2);
        await second.sendCallbackSuccess(reject("u-dana", "Not this quarter"));
        const result = await run;

        // A handled outcome: the execution completed (no crash loop), and Dana's own rejection is the decision.
        expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
        expect(result.getResult()).toMatchObject({
          status: "DECLINED",
          reason: "REJECTED",
          detail: "Rejected by u-dana: Not this quarter",
          escalated: false,
          refusedAnswers: [
            { approver: "manager", round: 1, reason, detail: expect.stringContaining(detail) as string },
          ],
        });
        // The fakes' records: two messages to Dana, each with its own callback id; one decision; nothing ordered.
        const ids = [first, second].map((operation) => operation.getCallbackDetails()!.callbackId);
        expect(ids[0]).not.toBe(ids[1]);
        expect(world.messages).toEqual([
          { kind: "approval", to: "u-dana", callbackId: ids[0], moreTime: true },
          { kind: "again", to: "u-dana", callbackId: ids[1], moreTime: true, previousAnswer: reason },
        ]);
        expect(world.decisions).toEqual([
          {
            decision: "DECLINED",
            detail: expect.stringContaining("Rejected by u-dana: Not this quarter") as string,
          },
        ]);
        expect(world.callsTo("supplier.placeOrder")).toBe(0);
        expect(world.callsTo("chat")).toBe(2);
        // The refusal is logged (at least once: a line outside a step can repeat at an invocation boundary), and
        // it is the only warning.
        const warnings = logger.lines.filter((line) => line.level === "warn");
        expect(warnings.length).toBeGreaterThanOrEqual(1);
        for (const warning of warnings) {
          expect(warning).toEqual({
            level: "warn",
            message: "Refused an answer: not a decision; asking again with a new link",
            data: [expect.objectContaining({ approver: "manager", round: 1, reason })],
          });
        }
        expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
      },
    );
  },
);

// Under skipTime the director's one-day reminder wait ends at once, so a reminder could go out before the test's
// answer lands; these tests are about who may answer, so the director is not reminded (reminders: approval.test.ts).
const directorNotReminded = { timeout: { seconds: 60 }, remindEvery: { days: 1 }, maxReminders: 0 };

describeLocal("who may answer", () => {
  it("a forged approval ships nothing; the manager's own approval on the new link ships once", async () => {
    const { world, runner } = setUp();
    const run = runner.run({ payload: samplePurchase });
    await managerHasLink(runner);
    await runner.getOperation("ask-manager").sendCallbackSuccess(approve("u-ada", "Approved, says me"));
    const second = runner.getOperation("ask-manager-round-2");
    await managerHasLink(runner, 2);
    // Nothing was recorded or ordered on the strength of the forgery.
    expect(world.decisions).toEqual([]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
    await second.sendCallbackSuccess(approve("u-dana"));
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana", escalated: false });
    expect(world.decisions).toEqual([
      { decision: "APPROVED", detail: "Approved by u-dana (1 answer(s) refused: see the execution result)" },
    ]);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
  });

  it("the manager answering the director's link is refused; the director is asked again and decides", async () => {
    const { world, runner } = setUp({}, testConfig({ ...managerGoesQuiet, director: directorNotReminded }));
    const run = runner.run({ payload: samplePurchase });
    const first = runner.getOperation("director-approval");
    await runner.getOperation("notify-director").waitForData(WaitingOperationStatus.COMPLETED);
    await first.waitForData(WaitingOperationStatus.STARTED);
    await first.sendCallbackSuccess(approve("u-dana"));
    const second = runner.getOperation("director-approval-round-2");
    await runner.getOperation("notify-director-round-2").waitForData(WaitingOperationStatus.COMPLETED);
    await second.waitForData(WaitingOperationStatus.STARTED);
    await second.sendCallbackSuccess(approve("u-sam"));
    const result = await run;

    expect(result.getResult()).toMatchObject({
      status: "SHIPPED",
      approvedBy: "u-sam",
      escalated: true,
      refusedAnswers: [
        {
          approver: "director",
          round: 1,
          reason: "NOT_ASKED",
          detail: "Answered (approve) by u-dana, but u-sam was asked",
        },
      ],
    });
    expect(world.messages.map((message) => `${message.kind} ${message.to}`)).toEqual([
      "approval u-dana",
      "escalation u-sam",
      "again u-sam",
    ]);
    // The director's callbacks have no heartbeat timeout: none of his messages offers "need more time".
    expect(
      world.messages.filter((message) => message.to === "u-sam").every((message) => !message.moreTime),
    ).toBe(true);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
  });

  it("refused answers for every round: the manager counts as silent and the request escalates", async () => {
    const { world, runner } = setUp({}, testConfig({ askRounds: 2, director: directorNotReminded }));
    const run = runner.run({ payload: samplePurchase });
    for (const [round, name] of ["ask-manager", "ask-manager-round-2"].entries()) {
      await managerHasLink(runner, round + 1);
      await runner.getOperation(name).sendCallbackSuccess(approve("u-ada"));
    }
    const director = runner.getOperation("director-approval");
    await runner.getOperation("notify-director").waitForData(WaitingOperationStatus.COMPLETED);
    await director.waitForData(WaitingOperationStatus.STARTED);
    await director.sendCallbackSuccess(reject("u-sam", "Ask Dana directly"));
    const result = await run;

    expect(result.getResult()).toMatchObject({
      status: "DECLINED",
      reason: "REJECTED",
      escalated: true,
      refusedAnswers: [
        { approver: "manager", round: 1, reason: "NOT_ASKED" },
        { approver: "manager", round: 2, reason: "NOT_ASKED" },
      ],
    });
    expect(world.messages.map((message) => `${message.kind} ${message.to}`)).toEqual([
      "approval u-dana",
      "again u-dana",
      "escalation u-sam",
    ]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
  });

  it("refused answers for every round of the director too: auto-declined, nothing ordered", async () => {
    const { world, runner } = setUp({}, testConfig({ ...managerGoesQuiet, askRounds: 2 }));
    const run = runner.run({ payload: samplePurchase });
    for (const [callback, notify] of [
      ["director-approval", "notify-director"],
      ["director-approval-round-2", "notify-director-round-2"],
    ] as const) {
      await runner.getOperation(notify).waitForData(WaitingOperationStatus.COMPLETED);
      await runner.getOperation(callback).waitForData(WaitingOperationStatus.STARTED);
      await runner.getOperation(callback).sendCallbackSuccess("{not json");
    }
    const result = await run;

    expect(result.getResult()).toMatchObject({
      status: "DECLINED",
      reason: "NO_ANSWER",
      escalated: true,
      refusedAnswers: [
        { approver: "director", round: 1, reason: "MALFORMED" },
        { approver: "director", round: 2, reason: "MALFORMED" },
      ],
    });
    expect(world.decisions).toEqual([
      {
        decision: "DECLINED",
        detail:
          "Auto-declined: neither the manager nor the director decided in time (2 answer(s) refused: see the execution result)",
      },
    ]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
  });
});

describeLocal("late and repeated answers", () => {
  it("repeated: a second answer on a link already answered changes nothing (a no stays a no)", async () => {
    const { world, runner } = setUp();
    const run = runner.run({ payload: samplePurchase });
    const askManager = runner.getOperation("ask-manager");
    await managerHasLink(runner);
    await askManager.sendCallbackSuccess(reject("u-dana", "Over budget"));
    // The service refuses a second completion (CallbackTimeoutException: the callback is closed). The local
    // runner 1.1.4 accepts it instead, and overwrites the result if the workflow has not read it yet (see the
    // README's pitfalls), so the repeat is sent once the decision is recorded: it must change nothing after.
    await runner.getOperation("record-decision").waitForData(WaitingOperationStatus.COMPLETED);
    await askManager.sendCallbackSuccess(approve("u-dana")).catch(() => undefined);
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "DECLINED", reason: "REJECTED", refusedAnswers: [] });
    expect(world.decisions.map((decision) => decision.decision)).toEqual(["DECLINED"]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
    expect(world.callsTo("chat")).toBe(1);
  });

  it("repeated: the same approval twice orders once and records once", async () => {
    const { world, runner } = setUp();
    const run = runner.run({ payload: samplePurchase });
    const askManager = runner.getOperation("ask-manager");
    await managerHasLink(runner);
    await askManager.sendCallbackSuccess(approve("u-dana"));
    await runner.getOperation("record-decision").waitForData(WaitingOperationStatus.COMPLETED);
    await askManager.sendCallbackSuccess(approve("u-dana")).catch(() => undefined);
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana" });
    expect(world.callsTo("purchasing.recordDecision")).toBe(1);
    expect(world.callsTo("supplier.placeOrder")).toBe(1);
  });

  it("late: the manager's approval after her link timed out decides nothing; the director's answer does", async () => {
    const { world, runner } = setUp({}, testConfig(managerGoesQuiet));
    const run = runner.run({ payload: samplePurchase });
    const askManager = runner.getOperation("ask-manager");
    await managerHasLink(runner);
    const director = runner.getOperation("director-approval");
    await runner.getOperation("notify-director").waitForData(WaitingOperationStatus.COMPLETED);
    await director.waitForData(WaitingOperationStatus.STARTED);
    // Her callback has timed out (the escalation started): the service refuses the answer.
    expect(askManager.getStatus()).toBe(OperationStatus.TIMED_OUT);
    await askManager.sendCallbackSuccess(approve("u-dana")).catch(() => undefined);
    await director.sendCallbackSuccess(reject("u-sam", "Not now"));
    const result = await run;

    expect(result.getResult()).toMatchObject({ status: "DECLINED", reason: "REJECTED", escalated: true });
    expect(world.decisions).toEqual([{ decision: "DECLINED", detail: "Rejected by u-sam: Not now" }]);
    expect(world.callsTo("supplier.placeOrder")).toBe(0);
  });
});
