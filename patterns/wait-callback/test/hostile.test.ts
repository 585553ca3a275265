/**
 * Hostile review of the wait-callback pattern: only the public surface (../src) and public packages.
 * The fakes keep their own records; assertions are on those records, not only on what the workflow reports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  LocalDurableTestRunner,
  WaitingOperationStatus,
  ExecutionStatus,
} from "@aws/durable-execution-sdk-js-testing";
import {
  ClientError,
  InvalidPurchaseRequestError,
  MalformedResponseError,
  TransientServiceError,
  chatText,
  checkApprovalAnswer,
  createHandler,
  createHttpDeps,
  decisionLinks,
  decisionMessage,
  defaultConfig,
  formatAmount,
  parsePurchaseRequest,
  redactCallbackId,
  retryTransient,
  type DecisionRequest,
  type PurchaseDeps,
  type WorkflowConfig,
} from "../src";
import { simulatedWorld } from "../src/demo";
import { handlerLoggingTo, managerHasLink, recordingLogger, type RecordingLogger } from "./support";

// ---------------------------------------------------------------------------------------------------------------
// The simulated world

// The package's simulated world (src/demo.ts): a chat that drops repeated keys, purchasing and a supplier that
// answer a repeated key with their first answer, each keeping its own record.
type World = ReturnType<typeof simulatedWorld>;

const fast: WorkflowConfig = {
  ...defaultConfig,
  manager: { timeout: { seconds: 60 }, heartbeatTimeout: { seconds: 60 } },
  director: { ...defaultConfig.director, timeout: { seconds: 60 } },
};
const managerSilent: WorkflowConfig = {
  ...fast,
  manager: { timeout: { seconds: 1 }, heartbeatTimeout: { seconds: 1 } },
};

function request(overrides: Record<string, unknown> = {}) {
  return {
    requestId: "PR-2042",
    requester: { id: "u-ada", name: "Ada Lovelace", email: "ada@example.com" },
    item: { description: "Standing desk", supplier: "DeskCo", quantity: 2 },
    amountCents: 129_900,
    currency: "EUR",
    approvers: { manager: { id: "u-dana", name: "Dana" }, director: { id: "u-sam", name: "Sam" } },
    ...overrides,
  };
}

const answer = (decision: string, decidedBy: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ decision, decidedBy, ...extra });

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

function runnerFor(deps: PurchaseDeps, config: WorkflowConfig = fast) {
  return new LocalDurableTestRunner({ handlerFunction: createHandler(deps, config) });
}

/** Runs a request and answers the manager's first link with `first`; then `then` for later rounds. */
async function managerAnswers(
  world: World,
  answers: Array<string | { failure: string }>,
  config: WorkflowConfig = fast,
  payload: unknown = request(),
) {
  const runner = runnerFor(world.deps, config);
  const handles = answers.map((_, i) =>
    runner.getOperation(i === 0 ? "ask-manager" : `ask-manager-round-${i + 1}`),
  );
  const running = runner.run({ payload });
  for (let i = 0; i < answers.length; i++) {
    await managerHasLink(runner, i + 1);
    const a = answers[i]!;
    if (typeof a === "string") await handles[i]!.sendCallbackSuccess(a);
    else await handles[i]!.sendCallbackFailure({ ErrorMessage: a.failure, ErrorType: "Rejected" });
  }
  const execution = await running;
  return { runner, execution };
}

// ---------------------------------------------------------------------------------------------------------------

describe("baseline", () => {
  it("Dana's approval orders exactly once, to her request, and tells her only once", async () => {
    const world = simulatedWorld();
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.orders.length).toBe(1);
    expect(world.orders[0]).toMatchObject({
      amountCents: 129_900,
      quantity: 2,
      requestId: "PR-2042",
    });
    expect(world.messages.map((s) => [s.kind, s.to])).toEqual([["approval", "u-dana"]]);
    expect(world.decisions.map((d) => d.decision)).toEqual(["APPROVED"]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers for the director stage

async function escalatedRun(
  world: World,
  directorAnswers: Array<{ by?: string; raw?: string; failure?: string }>,
  config: WorkflowConfig = managerSilent,
  payload: unknown = request(),
  logger?: RecordingLogger,
) {
  const runner = logger
    ? new LocalDurableTestRunner({ handlerFunction: handlerLoggingTo(logger, world.deps, config) })
    : runnerFor(world.deps, config);
  const rounds = directorAnswers.map((_, i) => ({
    cb: runner.getOperation(i === 0 ? "director-approval" : `director-approval-round-${i + 1}`),
    lastReminder: runner.getOperation(i === 0 ? "remind-director-2" : `remind-director-2-round-${i + 1}`),
  }));
  const running = runner.run({ payload });
  for (let i = 0; i < directorAnswers.length; i++) {
    await rounds[i]!.cb.waitForData(WaitingOperationStatus.STARTED);
    await rounds[i]!.lastReminder.waitForData(WaitingOperationStatus.COMPLETED);
    const a = directorAnswers[i]!;
    if (a.failure !== undefined) await rounds[i]!.cb.sendCallbackFailure({ ErrorMessage: a.failure });
    else await rounds[i]!.cb.sendCallbackSuccess(a.raw ?? answer("approve", a.by!));
  }
  const execution = await running;
  return { runner, execution };
}

const orderCount = (world: World) => world.orders.length;

// ---------------------------------------------------------------------------------------------------------------

describe("who may answer", () => {
  it("an approval forged by the requester on Dana's link orders nothing; Dana (only Dana) gets a new link; her approval then orders once", async () => {
    const world = simulatedWorld();
    const { execution } = await managerAnswers(world, [
      answer("approve", "u-ada"),
      answer("approve", "u-dana"),
    ]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.messages.map((s) => [s.kind, s.to])).toEqual([
      ["approval", "u-dana"],
      ["again", "u-dana"],
    ]);
    expect(world.messages[1]!.callbackId).not.toBe(world.messages[0]!.callbackId);
    expect(world.messages[1]!.previousAnswer).toBe("NOT_ASKED");
    expect(orderCount(world)).toBe(1);
    expect(execution.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-dana" });
  });

  it.each([
    ["upper-case id", answer("approve", "U-DANA")],
    ["cyrillic look-alike id", answer("approve", "u-d\u0430na")],
    ["trailing space", answer("approve", "u-dana ")],
    ["trailing new line", answer("approve", "u-dana\n")],
    ["zero-width space", answer("approve", "u-da\u200bna")],
    ["extra field amountCents", answer("approve", "u-dana", { amountCents: 1 })],
    ["own __proto__ key", '{"decision":"approve","decidedBy":"u-dana","__proto__":{"admin":true}}'],
    ["constructor key", '{"decision":"approve","decidedBy":"u-dana","constructor":{"prototype":{}}}'],
    ["not JSON", "yes, go ahead"],
    ["JSON null", "null"],
    ["huge (100 KB)", answer("approve", "u-dana", { comment: "x".repeat(100_000) })],
    [
      "deeply nested",
      `{"decision":"approve","decidedBy":"u-dana","comment":${"[".repeat(1500)}${"]".repeat(1500)}}`,
    ],
    ["decision as boolean", '{"decision":true,"decidedBy":"u-dana"}'],
  ])(
    "a malformed or foreign answer (%s) orders nothing and is refused, not crashing",
    async (_label, raw) => {
      const world = simulatedWorld();
      const { execution } = await managerAnswers(world, [raw, answer("reject", "u-dana", { comment: "no" })]);
      expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(orderCount(world)).toBe(0);
      expect(world.keysSentTo("supplier.placeOrder")).toEqual([]);
      expect(world.messages.filter((s) => s.to === "u-dana").length).toBe(2);
      expect(world.decisions.map((d) => d.decision)).toEqual(["DECLINED"]);
      expect(Object.prototype).not.toHaveProperty("admin");
    },
  );

  it("three refused answers on Dana's links escalate to Sam and never order on their own", async () => {
    const world = simulatedWorld();
    const runner = runnerFor(world.deps, fast);
    const names = ["ask-manager", "ask-manager-round-2", "ask-manager-round-3"];
    const handles = names.map((n) => runner.getOperation(n));
    const director = runner.getOperation("director-approval");
    const last = runner.getOperation("remind-director-2");
    const running = runner.run({ payload: request() });
    for (const [i, h] of handles.entries()) {
      await managerHasLink(runner, i + 1);
      await h.sendCallbackSuccess(answer("approve", "u-ada"));
    }
    await director.waitForData(WaitingOperationStatus.STARTED);
    await last.waitForData(WaitingOperationStatus.COMPLETED);
    expect(orderCount(world)).toBe(0);
    await director.sendCallbackSuccess(answer("approve", "u-sam"));
    const execution = await running;
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.messages.filter((s) => s.kind === "escalation").map((s) => s.to)).toEqual(["u-sam"]);
    expect(world.messages.filter((s) => s.to === "u-ada")).toEqual([]);
    expect(orderCount(world)).toBe(1);
    expect(execution.getResult()).toMatchObject({ escalated: true, approvedBy: "u-sam" });
  });

  it("Ada approving her own desks with Sam's forwarded link is refused; Sam (only Sam) gets a new link; nothing ordered until he approves", async () => {
    const world = simulatedWorld();
    const { execution } = await escalatedRun(world, [{ by: "u-ada" }, { by: "u-sam" }]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const toSam = world.messages.filter((s) => s.to === "u-sam");
    expect(toSam.map((s) => s.kind)).toEqual([
      "escalation",
      "reminder",
      "reminder",
      "again",
      "reminder",
      "reminder",
    ]);
    expect(new Set(toSam.slice(0, 3).map((s) => s.callbackId)).size).toBe(1);
    expect(toSam[3]!.callbackId).not.toBe(toSam[0]!.callbackId);
    expect(toSam.every((s) => !s.moreTime)).toBe(true);
    expect(world.messages.filter((s) => s.to === "u-ada")).toEqual([]);
    expect(orderCount(world)).toBe(1);
    expect(execution.getResult()).toMatchObject({ status: "SHIPPED", approvedBy: "u-sam" });
  });

  it("Dana answering on the director's link is refused (she was not asked there)", async () => {
    const world = simulatedWorld();
    const { execution } = await escalatedRun(world, [{ by: "u-dana" }, { failure: "no" }]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(orderCount(world)).toBe(0);
    expect(execution.getResult()).toMatchObject({ status: "DECLINED", reason: "REJECTED" });
  });

  it("every distinct message has a key of its own, so a chat that drops repeated keys delivers each", async () => {
    const world = simulatedWorld();
    await escalatedRun(world, [{ by: "u-ada" }, { by: "u-sam" }]);
    const keys = world.keysSentTo("chat");
    expect(new Set(keys).size).toBe(keys.length);
    // The chat's own record: every message was delivered (none dropped as a repeat).
    expect(world.messages).toHaveLength(keys.length);
  });
});

describe("lost replies and in-doubt calls", () => {
  it("the supplier placed the order but its reply was lost (504): retried with the same key, exactly one order", async () => {
    const world = simulatedWorld({ lostReplies: { "supplier.placeOrder": { times: 2 } } });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo("supplier.placeOrder")).toBe(3);
    expect(new Set(world.keysSentTo("supplier.placeOrder")).size).toBe(1);
    expect(orderCount(world)).toBe(1);
  });

  it("the supplier placed the order but answered with a malformed 2xx: retried with the same key, one order", async () => {
    const world = simulatedWorld({
      lostReplies: {
        "supplier.placeOrder": { times: 1, error: () => new MalformedResponseError("supplier: bad body") },
      },
    });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(new Set(world.keysSentTo("supplier.placeOrder")).size).toBe(1);
    expect(orderCount(world)).toBe(1);
  });

  it("purchasing recorded the request but the reply was lost: one held request, same key", async () => {
    const world = simulatedWorld({ lostReplies: { "purchasing.submit": { times: 2 } } });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.submissions.length).toBe(1);
    expect(new Set(world.keysSentTo("purchasing.submit")).size).toBe(1);
  });

  it("purchasing recorded the decision but the reply was lost: one decision, one order", async () => {
    const world = simulatedWorld({ lostReplies: { "purchasing.recordDecision": { times: 2 } } });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.decisions.length).toBe(1);
    expect(new Set(world.keysSentTo("purchasing.recordDecision")).size).toBe(1);
    expect(orderCount(world)).toBe(1);
  });

  it("the chat delivered Dana's message but the webhook answered 503: she still has one working link (same callback id on the retry)", async () => {
    const world = simulatedWorld({
      chatFailure: (m, attempt) =>
        m.kind === "approval" && attempt === 1
          ? { error: new TransientServiceError("chat 503", 503), delivered: true }
          : undefined,
    });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const toDana = world.messages.filter((s) => s.to === "u-dana");
    expect(new Set(toDana.map((s) => s.callbackId)).size).toBe(1);
    expect(new Set(world.keysSentTo("chat")).size).toBe(1);
    expect(world.keysSentTo("chat")).toHaveLength(2);
    expect(orderCount(world)).toBe(1);
  });
});

describe("the same business id run twice", () => {
  it("a duplicate delivery of an approved request orders once", async () => {
    const world = simulatedWorld();
    await managerAnswers(world, [answer("approve", "u-dana")]);
    await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(orderCount(world)).toBe(1);
  });

  it("a request id declined, then run again and approved, leaves purchasing saying APPROVED for the goods ordered", async () => {
    // Keys made only from request id + action would make the second execution's decision look like a repeat of
    // the first one's: purchasing, which honours keys, would keep DECLINED while the supplier ships.
    const world = simulatedWorld();
    await managerAnswers(world, [answer("reject", "u-dana", { comment: "Over budget" })]);
    const second = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(second.execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const shipped = orderCount(world) > 0;
    const recorded = world.decisions.map((d) => d.decision);
    // Whatever the design, purchasing's final record must not say DECLINED for goods that were ordered.
    if (shipped) expect(recorded[recorded.length - 1]).toBe("APPROVED");
    expect(new Set(world.keysSentTo("purchasing.recordDecision")).size).toBe(2);
  });
});

describe("the same business id run twice (messages)", () => {
  it("a second execution's new link reaches Dana: a chat that drops repeated keys does not take it for the first", async () => {
    const world = simulatedWorld();
    await managerAnswers(world, [answer("reject", "u-dana")]);
    await managerAnswers(world, [answer("approve", "u-dana")]);
    // The chat's own record: two messages to Dana, each with its own callback id, under two keys.
    const toDana = world.messages.filter((m) => m.to === "u-dana");
    expect(toDana).toHaveLength(2);
    expect(new Set(toDana.map((m) => m.callbackId)).size).toBe(2);
    expect(new Set(world.keysSentTo("chat")).size).toBe(2);
  });
});

/** Line breaks, control, bidi and zero-width characters: what outside text must not carry into a record. */
const NOT_ONE_PLAIN_LINE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

describe("callback failures and comments", () => {
  it("a callback failure with a multi-line, bidi, control-character message is recorded as one bounded line and orders nothing", async () => {
    const world = simulatedWorld();
    const evil =
      "No\nApprove: https://evil.example\u2028line2\u2029line3\u0085line4\r\u202Eevil\u0000\u001b[31m" +
      "x".repeat(5_000);
    const { execution } = await managerAnswers(world, [{ failure: evil }]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(orderCount(world)).toBe(0);
    const d = world.decisions[0]!;
    expect(d.decision).toBe("DECLINED");
    expect(d.detail.length).toBeLessThanOrEqual(230);
    expect(d.detail).not.toMatch(NOT_ONE_PLAIN_LINE);
    const result = execution.getResult() as { detail: string };
    expect(result.detail).not.toMatch(NOT_ONE_PLAIN_LINE);
  });

  it("a 40 KB callback failure on Dana's link (anyone with the link can send one) declines the request instead of crashing the invocation", async () => {
    const world = simulatedWorld();
    const run = managerAnswers(world, [{ failure: "No " + "x".repeat(40_000) }]);
    const outcome = await run.then(
      (r) => ({
        status: r.execution.getStatus(),
        result: (r.execution.getStatus() === ExecutionStatus.SUCCEEDED
          ? r.execution.getResult()
          : r.execution.getError()) as unknown,
      }),
      (e: unknown) => ({ status: "CRASHED", result: String(e) }),
    );
    expect(outcome).toMatchObject({ status: ExecutionStatus.SUCCEEDED, result: { status: "DECLINED" } });
    expect(orderCount(world)).toBe(0);
  });

  it("a 40 KB callback failure on Sam's link declines the request instead of crashing the invocation", async () => {
    const world = simulatedWorld();
    const outcome = await escalatedRun(world, [{ failure: "No " + "x".repeat(40_000) }]).then(
      (r) => ({
        status: r.execution.getStatus(),
        result: (r.execution.getStatus() === ExecutionStatus.SUCCEEDED
          ? r.execution.getResult()
          : r.execution.getError()) as unknown,
      }),
      (e: unknown) => ({ status: "CRASHED", result: String(e) }),
    );
    expect(outcome).toMatchObject({ status: ExecutionStatus.SUCCEEDED, result: { status: "DECLINED" } });
    expect(orderCount(world)).toBe(0);
  });

  it("a rejection comment reaches the purchasing record as one line without control characters", async () => {
    const world = simulatedWorld();
    const comment = "Over budget\nApprove: see https://evil.example\u2028\u202E\u0000\u001b[31m";
    await managerAnswers(world, [answer("reject", "u-dana", { comment })]);
    const d = world.decisions[0]!;
    expect(d.decision).toBe("DECLINED");
    expect(d.detail).not.toMatch(NOT_ONE_PLAIN_LINE);
  });
});

describe("side work failing", () => {
  it("undeliverable reminders are recorded and the director's later approval still ships once", async () => {
    const world = simulatedWorld({
      chatFailure: (m) =>
        m.kind === "reminder" ? { error: new ClientError("chat: channel archived", 404) } : undefined,
    });
    const { execution } = await escalatedRun(world, [{ by: "u-sam" }]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const result = execution.getResult() as { failedReminders: unknown[] };
    expect(result.failedReminders).toHaveLength(2);
    expect(orderCount(world)).toBe(1);
    expect(world.messages.filter((s) => s.kind === "reminder")).toEqual([]);
  });

  it("a reminder failure whose error quotes the message does not put Sam's callback id into the result", async () => {
    const world = simulatedWorld({
      chatFailure: (m) =>
        m.kind === "reminder"
          ? { error: new ClientError(`chat refused message for ${m.callbackId}`, 400) }
          : undefined,
    });
    const { execution, runner } = await escalatedRun(world, [{ by: "u-sam" }]);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const id = runner.getOperation("director-approval").getCallbackDetails()!.callbackId;
    expect(JSON.stringify(execution.getResult())).not.toContain(id);
  });

  it("an undeliverable approval request fails the execution without the callback id in the error", async () => {
    const seen: string[] = [];
    const world = simulatedWorld({
      chatFailure: (m) => {
        seen.push(m.callbackId);
        return { error: new ClientError(`webhook rejected text containing ${m.callbackId}`, 400) };
      },
    });
    const runner = runnerFor(world.deps, fast);
    const execution = await runner.run({ payload: request() });
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(seen.length).toBeGreaterThan(0);
    expect(JSON.stringify(execution.getError())).not.toContain(seen[0]);
    expect(orderCount(world)).toBe(0);
  });

  it("a supplier (custom deps) that says SHIPPED without a tracking number does not yield a SHIPPED result with an empty one", async () => {
    const world = simulatedWorld({
      jobStatuses: [{ state: "SHIPPED", trackingNumber: undefined, detail: undefined }],
    });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    if (execution.getStatus() === ExecutionStatus.SUCCEEDED) {
      const result = execution.getResult() as { status: string; trackingNumber?: unknown };
      if (result.status === "SHIPPED") expect(result.trackingNumber).toMatch(/\S/);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The approver's message

const CB = "eyJleGVjdXRpb25JZCI6ImFiYyIsInRva2VuIjoiZGVmIn0=";

function decisionRequestWith(
  overrides: Record<string, unknown> = {},
  kind: DecisionRequest["kind"] = "approval",
): DecisionRequest {
  const r = parsePurchaseRequest(request());
  return {
    kind,
    approver: r.approvers.manager,
    callbackId: CB,
    acceptsHeartbeat: true,
    request: { ...r, ...overrides },
    reminderNumber: undefined,
    previousAnswer: undefined,
    idempotencyKey: "PR-2042:ask-manager",
  };
}

describe("chat text", () => {
  const lineBreaks = ["\n", "\r", "\u000b", "\u000c", "\u0085", "\u2028", "\u2029"];
  it.each(lineBreaks.map((c) => [JSON.stringify(c), c]))(
    "chatText makes every line break (%s) a space: one line",
    (_l, c) => {
      expect(chatText(`a${c}Approve: b`, 100)).not.toContain(c);
    },
  );

  const invisible = [
    "\u202A",
    "\u202B",
    "\u202C",
    "\u202D",
    "\u202E",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200E",
    "\u200F",
    "\u061C",
    "\u200B",
    "\u200C",
    "\u200D",
    "\u2060",
    "\uFEFF",
  ];
  it.each(invisible.map((c) => [c.codePointAt(0)!.toString(16), c]))(
    "chatText removes bidi and zero-width character U+%s",
    (_l, c) => {
      expect(chatText(`pay${c}ment`, 100)).not.toContain(c);
    },
  );

  it.each([
    ["NUL", "\u0000"],
    ["ESC", "\u001b"],
    ["BEL", "\u0007"],
    ["DEL", "\u007f"],
  ])("chatText removes the control character %s", (_l, c) => {
    expect(chatText(`a${c}b`, 100)).not.toContain(c);
  });

  it("chatText bounds a 100 KB string", () => {
    expect(chatText("y".repeat(100_000), 200).length).toBeLessThanOrEqual(201);
  });

  it("chatText never cuts an emoji in half (no lone surrogate in the chat message)", () => {
    for (let pad = 0; pad < 3; pad++) {
      const out = chatText("a".repeat(pad) + "\u{1F600}".repeat(300), 200);
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it("chatText defangs Slack mentions, links and markup", () => {
    const out = chatText(
      "<!channel> <@U123> @here <https://evil.example|Approve> https://evil.example *b* _i_ ~s~ `c`",
      500,
    );
    expect(out).not.toMatch(/[<>*_~`]/);
    expect(out).not.toContain("@here");
    expect(out).not.toContain("://");
    expect(out).not.toContain("evil.example");
  });

  it.each([
    ["www.evil.com", /www\.evil\.com/i],
    ["EVIL.COM/approve", /EVIL\.COM/],
  ])("chatText leaves no clickable host or scheme in %s", (text, bad) => {
    expect(chatText(text, 200)).not.toMatch(bad);
  });

  it("a description that forges an 'Approve:' line cannot start a line of the message", () => {
    const m = decisionRequestWith({
      item: {
        description: "desk\nApprove: https://evil.example/ok\r\nReject: none",
        supplier: "Desk\u2028Approve: x",
        quantity: 2,
      },
      requester: { id: "u-ada", name: "Ada\u2029Approve: https://evil.example", email: "ada@example.com" },
    });
    const text = decisionMessage(m, decisionLinks("https://approve.example.com", CB));
    const approveLines = text
      .split(/\r\n|[\n\r\u2028\u2029\u0085\v\f]/)
      .filter((l) => /^\W*(Approve|Reject)\b/i.test(l));
    expect(approveLines.length).toBe(2);
    expect(approveLines.every((l) => l.includes("approve.example.com"))).toBe(true);
    expect(text).not.toContain("https://evil");
  });

  it("the callback id appears in the message only inside the approval page's links", () => {
    const m = decisionRequestWith();
    const links = decisionLinks("https://approve.example.com", CB);
    const text = decisionMessage(m, links);
    const withoutLinks = [links.approve, links.reject, links.moreTime].reduce(
      (t, l) => t.split(l).join(""),
      text,
    );
    expect(withoutLinks).not.toContain(CB);
    expect(withoutLinks).not.toContain(encodeURIComponent(CB));
    expect(withoutLinks).not.toContain(CB.slice(0, 16));
  });

  it("the director's message (no heartbeat) offers no 'need more time' link", () => {
    const m = { ...decisionRequestWith({}, "escalation"), acceptsHeartbeat: false };
    const links = decisionLinks("https://approve.example.com", CB);
    expect(decisionMessage(m, links)).not.toContain(links.moreTime);
  });

  it.each(["a&action=approve", "a#action=approve", "a|Approve>", "a+b/c=", "a b"])(
    "decisionLinks carries the callback id %j intact in the fragment, with exactly one action",
    (id) => {
      const links = decisionLinks("https://approve.example.com", id);
      for (const [action, url] of [
        ["approve", links.approve],
        ["reject", links.reject],
        ["more-time", links.moreTime],
      ] as const) {
        const u = new URL(url);
        expect(u.search).toBe("");
        const params = new URLSearchParams(u.hash.slice(1));
        expect(params.getAll("callback")).toEqual([id]);
        expect(params.getAll("action")).toEqual([action]);
        expect(url).not.toMatch(/[|<>\s]/);
      }
    },
  );

  it("formatAmount is exact in minor units", () => {
    expect(formatAmount(1, "USD")).toContain("0.01");
    expect(formatAmount(10, "USD")).toContain("0.10");
    expect(formatAmount(129_900, "EUR")).toMatch(/1,?299\.00/);
    expect(formatAmount(10_000_000, "GBP")).toMatch(/100,?000\.00/);
    expect(formatAmount(29, "USD")).toContain("0.29");
  });

  it("redactCallbackId is a fingerprint: no 6-character piece of the id, stable, distinct for distinct ids", () => {
    const fp = redactCallbackId(CB);
    for (let i = 0; i + 6 <= CB.length; i++) expect(fp).not.toContain(CB.slice(i, i + 6));
    expect(redactCallbackId(CB)).toBe(fp);
    expect(redactCallbackId(CB.slice(0, -2) + "x=")).not.toBe(fp);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Input

describe("input", () => {
  const bad: Array<[string, unknown]> = [
    ["negative amount", request({ amountCents: -100 })],
    ["zero amount", request({ amountCents: 0 })],
    ["NaN amount", request({ amountCents: NaN })],
    ["Infinity amount", request({ amountCents: Infinity })],
    ["fractional amount", request({ amountCents: 12.5 })],
    ["amount as string", request({ amountCents: "129900" })],
    ["amount past MAX_SAFE_INTEGER", request({ amountCents: Number.MAX_SAFE_INTEGER + 2 })],
    ["amount over the maximum", request({ amountCents: 10_000_001 })],
    ["quantity zero", request({ item: { description: "d", supplier: "s", quantity: 0 } })],
    ["negative quantity", request({ item: { description: "d", supplier: "s", quantity: -2 } })],
    ["fractional quantity", request({ item: { description: "d", supplier: "s", quantity: 1.5 } })],
    [
      "quantity past MAX_SAFE_INTEGER",
      request({ item: { description: "d", supplier: "s", quantity: 2 ** 60 } }),
    ],
    ["request id of spaces", request({ requestId: "   " })],
    ["request id with a path", request({ requestId: "../orders/1" })],
    ["request id with a colon (idempotency key collisions)", request({ requestId: "PR-1:place-order" })],
    ["request id of 100 KB", request({ requestId: "P".repeat(100_000) })],
    [
      "description of 100 KB",
      request({ item: { description: "d".repeat(100_000), supplier: "s", quantity: 1 } }),
    ],
    [
      "requester is the manager (case)",
      request({ requester: { id: "U-DANA", name: "Dana", email: "d@example.com" } }),
    ],
    [
      "requester is the director",
      request({ requester: { id: "u-sam", name: "Sam", email: "s@example.com" } }),
    ],
    [
      "manager is the director",
      request({
        approvers: { manager: { id: "u-sam", name: "Sam" }, director: { id: "U-SAM", name: "Sam" } },
      }),
    ],
    [
      "manager a cyrillic look-alike of the requester",
      request({
        approvers: { manager: { id: "u-\u0430da", name: "A" }, director: { id: "u-sam", name: "Sam" } },
      }),
    ],
    [
      "manager with a zero-width space",
      request({
        approvers: { manager: { id: "u-a\u200bda", name: "A" }, director: { id: "u-sam", name: "Sam" } },
      }),
    ],
    [
      "manager full-width",
      request({
        approvers: { manager: { id: "\uFF55-ada", name: "A" }, director: { id: "u-sam", name: "Sam" } },
      }),
    ],
    [
      "manager with a trailing space",
      request({
        approvers: { manager: { id: "u-ada ", name: "A" }, director: { id: "u-sam", name: "Sam" } },
      }),
    ],
    ["unknown currency", request({ currency: "JPY" })],
    ["lower-case currency", request({ currency: "eur" })],
    [
      "email with a header injection",
      request({ requester: { id: "u-ada", name: "Ada", email: "ada@example.com\r\nBcc: x@evil.example" } }),
    ],
    ["not an object", "PR-2042"],
    ["null", null],
    ["array", [request()]],
  ];
  it.each(bad)("refuses %s with InvalidPurchaseRequestError", (_l, event) => {
    expect(() => parsePurchaseRequest(event)).toThrow(InvalidPurchaseRequestError);
  });

  it("a __proto__ key in the event pollutes nothing and cannot inject approvers", () => {
    const event: unknown = JSON.parse(
      '{"requestId":"PR-1","requester":{"id":"u-ada","name":"Ada","email":"ada@example.com"},"item":{"description":"d","supplier":"s","quantity":1},"amountCents":100,"currency":"EUR","approvers":{"__proto__":{"manager":{"id":"u-bob","name":"Bob"}},"director":{"id":"u-sam","name":"Sam"}},"__proto__":{"polluted":true}}',
    );
    let parsed: unknown;
    try {
      parsed = parsePurchaseRequest(event);
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPurchaseRequestError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (parsed)
      expect((parsed as { approvers: { manager?: { id: string } } }).approvers.manager?.id).not.toBe("u-bob");
  });

  it("bad input fails the execution before any side effect", async () => {
    const world = simulatedWorld();
    const execution = await runnerFor(world.deps).run({ payload: request({ amountCents: -1 }) });
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError().errorType).toBe("InvalidPurchaseRequestError");
    expect(world.submissions.length + world.messages.length + world.orders.length).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Answer checker

describe("answer checker", () => {
  it.each([
    [
      "duplicate decision keys (reject, then approve)",
      '{"decision":"reject","decidedBy":"u-dana","decision":"approve"}',
    ],
    ["a comment of 501 characters", answer("approve", "u-dana", { comment: "c".repeat(501) })],
    ["a BOM before the JSON", "\uFEFF" + answer("approve", "u-dana")],
    ["decidedBy with a NUL", answer("approve", "u-dana\u0000")],
  ])("refuses %s", (_l, raw) => {
    expect(checkApprovalAnswer(raw).valid).toBe(false);
  });

  it("a refused answer's unknown-field names are bounded in the detail", () => {
    const keys = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}${"z".repeat(80)}`, 1]));
    const checked = checkApprovalAnswer(
      JSON.stringify({ decision: "approve", decidedBy: "u-dana", ...keys }),
    );
    expect(checked.valid).toBe(false);
    if (!checked.valid) {
      expect(checked.problems.length).toBeLessThanOrEqual(5);
      for (const p of checked.problems) expect(p.length).toBeLessThanOrEqual(160);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real HTTP dependencies against a local server

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}
type Behaviour = (req: Seen, res: ServerResponse) => void;

async function withServer(behaviour: Behaviour, fn: (base: string, seen: Seen[]) => Promise<void>) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const s = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
      seen.push(s);
      behaviour(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await fn(base, seen);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

const TOKEN = "tok-SECRET-8d1f2c3b4a";
const httpDeps = (base: string, timeoutMs = 500) =>
  createHttpDeps(() => ({
    chatWebhookUrl: async () => `${base}/hooks/T000/B000/SECRETWEBHOOK`,
    approvalPageUrl: "https://approve.example.com",
    purchasingUrl: `${base}/purchasing/`,
    supplierUrl: `${base}/supplier/`,
    apiToken: async () => TOKEN,
    timeoutMs,
  }));
const order = {
  requestId: "PR-2042",
  supplier: "DeskCo",
  description: "Standing desk",
  quantity: 2,
  amountCents: 129_900,
  currency: "EUR",
  idempotencyKey: "PR-2042:place-order",
};
const retried = (e: unknown) => retryTransient(e as Error, 1).shouldRetry;

describe("HTTP dependencies", () => {
  it.each([429, 408, 502, 503, 504])(
    "a %d from the supplier after it may have acted is retried (same key)",
    async (status) => {
      await withServer(
        (_r, res) => json(res, status, { message: "busy" }),
        async (base) => {
          const err = await httpDeps(base)
            .supplier.placeOrder(order)
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          expect(err).toBeInstanceOf(Error);
          expect(retried(err)).toBe(true);
        },
      );
    },
  );

  it("a connection reset after the supplier received the order is treated as in doubt and retried", async () => {
    await withServer(
      (_r, res) => res.socket?.destroy(),
      async (base, seen) => {
        const err = await httpDeps(base)
          .supplier.placeOrder(order)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(seen.length).toBe(1);
        expect(err).toBeInstanceOf(Error);
        expect(retried(err)).toBe(true);
      },
    );
  });

  it("a supplier that never answers times out within the configured timeout and is retried", async () => {
    await withServer(
      () => undefined,
      async (base) => {
        const started = Date.now();
        const err = await httpDeps(base, 300)
          .supplier.placeOrder(order)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(err).toBeInstanceOf(Error);
        expect(retried(err)).toBe(true);
      },
    );
  });

  it("a 400 from the supplier is not retried (a client error will not get better)", async () => {
    await withServer(
      (_r, res) => json(res, 400, { message: "bad" }),
      async (base) => {
        const err = await httpDeps(base)
          .supplier.placeOrder(order)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(ClientError);
        expect(retried(err)).toBe(false);
      },
    );
  });

  it("a 2xx HTML page from a proxy is a MalformedResponseError that quotes neither body nor token", async () => {
    await withServer(
      (r, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`<html>Login required ${r.headers.authorization ?? ""}</html>`);
      },
      async (base) => {
        const err = await httpDeps(base)
          .supplier.placeOrder(order)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(MalformedResponseError);
        expect(String((err as Error).message)).not.toContain("Login required");
        expect(JSON.stringify(err) + String(err) + String((err as Error).stack)).not.toContain(TOKEN);
      },
    );
  });

  it("a 500 that echoes the Authorization header does not put the token into the error", async () => {
    await withServer(
      (r, res) => json(res, 500, { error: `bad auth ${r.headers.authorization}` }),
      async (base) => {
        const err = (await httpDeps(base)
          .purchasing.submit({ request: parsePurchaseRequest(request()), idempotencyKey: "PR-2042:submit" })
          .then(
            () => undefined,
            (e: unknown) => e,
          )) as Error;
        expect(err).toBeInstanceOf(TransientServiceError);
        expect(`${err.message} ${err.stack} ${JSON.stringify(err)} ${String(err.cause)}`).not.toContain(
          TOKEN,
        );
      },
    );
  });

  it("the API token goes to purchasing and the supplier, never to the chat webhook", async () => {
    await withServer(
      (r, res) =>
        r.path.startsWith("/hooks") ? res.end("ok") : json(res, 200, { reference: "REF-1", jobId: "job-1" }),
      async (base, seen) => {
        const deps = httpDeps(base);
        await deps.approvals.askForDecision(decisionRequestWith());
        await deps.purchasing.submit({
          request: parsePurchaseRequest(request()),
          idempotencyKey: "PR-2042:submit",
        });
        const hook = seen.find((s) => s.path.startsWith("/hooks"))!;
        expect(JSON.stringify(hook.headers)).not.toContain(TOKEN);
        expect(seen.find((s) => s.path.includes("purchase-requests"))!.headers.authorization).toContain(
          TOKEN,
        );
      },
    );
  });

  it("the idempotency key is sent with the order (so the supplier can recognise a repeat)", async () => {
    await withServer(
      (_r, res) => json(res, 201, { jobId: "job-1" }),
      async (base, seen) => {
        await httpDeps(base).supplier.placeOrder(order);
        expect(JSON.stringify(seen[0]!.headers) + seen[0]!.body).toContain("PR-2042:place-order");
      },
    );
  });

  it("a reference from purchasing cannot steer the decision request to another path", async () => {
    await withServer(
      (_r, res) => json(res, 200, {}),
      async (base, seen) => {
        await httpDeps(base)
          .purchasing.recordDecision({
            requestId: "PR-2042",
            reference: "../../supplier/orders?x=",
            decision: "APPROVED",
            detail: "ok",
            idempotencyKey: "k",
          })
          .catch(() => undefined);
        for (const s of seen) {
          expect(s.path.startsWith("/purchasing/purchase-requests/")).toBe(true);
          expect(s.path).not.toContain("/supplier/");
          expect(s.path).not.toContain("?");
        }
      },
    );
  });

  it("a submit response with a path-like reference is refused as malformed (it is checkpointed and reused)", async () => {
    await withServer(
      (_r, res) => json(res, 200, { reference: "../../supplier/orders" }),
      async (base) => {
        const out = await httpDeps(base)
          .purchasing.submit({ request: parsePurchaseRequest(request()), idempotencyKey: "PR-2042:submit" })
          .then(
            (v) => v,
            (e: unknown) => e,
          );
        expect(out).toBeInstanceOf(MalformedResponseError);
      },
    );
  });

  it("a job id from the supplier cannot steer the status check to another path", async () => {
    await withServer(
      (_r, res) => json(res, 200, { state: "QUEUED" }),
      async (base, seen) => {
        await httpDeps(base)
          .supplier.jobStatus({ jobId: "../../purchasing/purchase-requests" })
          .catch(() => undefined);
        for (const s of seen) expect(s.path.startsWith("/supplier/orders/")).toBe(true);
      },
    );
  });

  it("a base URL without a trailing slash keeps its path (POST <base>/purchase-requests)", async () => {
    await withServer(
      (_r, res) => json(res, 200, { reference: "REF-1" }),
      async (base, seen) => {
        const deps = createHttpDeps(() => ({
          chatWebhookUrl: async () => `${base}/hooks/x`,
          approvalPageUrl: "https://approve.example.com",
          purchasingUrl: `${base}/purchasing`,
          supplierUrl: `${base}/supplier`,
          apiToken: async () => undefined,
          timeoutMs: 500,
        }));
        await deps.purchasing
          .submit({ request: parsePurchaseRequest(request()), idempotencyKey: "PR-2042:submit" })
          .catch(() => undefined);
        expect(seen[0]!.path).toBe("/purchasing/purchase-requests");
      },
    );
  });

  it("SHIPPED without a tracking number is a malformed status, not a shipment", async () => {
    await withServer(
      (_r, res) => json(res, 200, { state: "SHIPPED" }),
      async (base) => {
        const out = await httpDeps(base)
          .supplier.jobStatus({ jobId: "job-1" })
          .then(
            (v) => v,
            (e: unknown) => e,
          );
        expect(out).toBeInstanceOf(MalformedResponseError);
      },
    );
  });

  it("a chat webhook outage does not reveal the webhook URL in the error", async () => {
    await withServer(
      (_r, res) => json(res, 503, "upstream quoting /hooks/T000/B000/SECRETWEBHOOK"),
      async (base) => {
        const err = (await httpDeps(base)
          .approvals.askForDecision(decisionRequestWith())
          .then(
            () => undefined,
            (e: unknown) => e,
          )) as Error;
        expect(retried(err)).toBe(true);
        expect(`${err.message} ${err.stack} ${String(err.cause)}`).not.toContain("SECRETWEBHOOK");
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Time, as the providers see it (the fake clock of time skipping)

describe("durations and bounds", () => {
  it("the supplier is asked only after a 4-hour durable wait, and at most 12 times (the supplier's own count)", async () => {
    const world = simulatedWorld({
      jobStatuses: [{ state: "IN_PROGRESS", trackingNumber: undefined, detail: undefined }],
    });
    const { execution, runner } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError().errorType).toMatch(/FulfilmentNotFinished/);
    expect(execution.getError().errorMessage).toMatch(/IN_PROGRESS/);
    expect(world.callsTo("supplier.jobStatus")).toBe(12);
    expect(runner.getOperation("wait-for-supplier-lead-time").getWaitDetails()?.waitSeconds).toBe(4 * 3600);
    expect(orderCount(world)).toBe(1);
  });

  it("Sam's reminders each wait a durable day and carry the escalation's callback id", async () => {
    const world = simulatedWorld();
    const { runner } = await escalatedRun(world, [{ by: "u-sam" }]);
    for (const n of ["wait-before-reminder-1", "wait-before-reminder-2"]) {
      expect(runner.getOperation(n).getWaitDetails()?.waitSeconds).toBe(86_400);
    }
    const ids = world.messages.filter((s) => s.to === "u-sam").map((s) => s.callbackId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
  });

  it("the default config keeps the README's promises (2 d heartbeat, 5 d, 3 d, daily reminders, 3 rounds, 12 checks) within 30 days", () => {
    const s = (d: object) =>
      Object.entries(d).reduce(
        (t, [k, v]) =>
          t +
          (v as number) *
            ({ days: 86400, hours: 3600, minutes: 60, seconds: 1 } as Record<string, number>)[k]!,
        0,
      );
    expect(s(defaultConfig.manager.timeout)).toBe(5 * 86400);
    expect(s(defaultConfig.manager.heartbeatTimeout!)).toBe(2 * 86400);
    expect(s(defaultConfig.director.timeout)).toBe(3 * 86400);
    expect(s(defaultConfig.director.remindEvery)).toBe(86400);
    expect(defaultConfig.askRounds).toBe(3);
    expect(defaultConfig.polling.maxChecks).toBe(12);
    const worstPolling = s(defaultConfig.polling.maxDelay) * defaultConfig.polling.maxChecks;
    const longest =
      defaultConfig.askRounds * (s(defaultConfig.manager.timeout) + s(defaultConfig.director.timeout)) +
      s(defaultConfig.supplierLeadTime) +
      worstPolling;
    expect(longest).toBeLessThanOrEqual(30 * 86400);
  });
});

describe("late and repeated answers", () => {
  it("a repeated approval on Dana's link after her rejection was recorded orders nothing", async () => {
    const world = simulatedWorld();
    const runner = runnerFor(world.deps, fast);
    const dana = runner.getOperation("ask-manager");
    const record = runner.getOperation("record-decision");
    const running = runner.run({ payload: request() });
    await managerHasLink(runner);
    await dana.sendCallbackSuccess(answer("reject", "u-dana"));
    await record.waitForData(WaitingOperationStatus.COMPLETED);
    await dana.sendCallbackSuccess(answer("approve", "u-dana")).catch(() => undefined);
    const execution = await running;
    expect(execution.getResult()).toMatchObject({ status: "DECLINED" });
    expect(orderCount(world)).toBe(0);
  });

  it("the same request run twice at once, both approved, orders once", async () => {
    const world = simulatedWorld();
    await Promise.all([
      managerAnswers(world, [answer("approve", "u-dana")]),
      managerAnswers(world, [answer("approve", "u-dana")]),
    ]);
    expect(orderCount(world)).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Callback ids and logs

describe("callback ids stay with their approver", () => {
  it("no callback id in the result, any step result, or any history event but its own CallbackStarted", async () => {
    const world = simulatedWorld();
    const { execution } = await escalatedRun(world, [{ by: "u-ada" }, { by: "u-sam" }]);
    const ids = [...new Set(world.messages.map((s) => s.callbackId))];
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const result = JSON.stringify(execution.getResult());
    for (const op of execution.getOperations()) {
      if (op.getType() === "STEP")
        expect(JSON.stringify(op.getStepDetails()?.result ?? null)).not.toMatch(
          new RegExp(ids.map((i) => i.slice(0, 24).replace(/[+/=]/g, ".")).join("|")),
        );
    }
    for (const id of ids) {
      expect(result).not.toContain(id);
      const events = execution.getHistoryEvents().filter((e) => JSON.stringify(e).includes(id));
      expect(events.map((e) => e.EventType)).toEqual(["CallbackStarted"]);
    }
  });

  it("the logs of a run whose reminders fail with an error quoting the message hold no callback id", async () => {
    const world = simulatedWorld({
      chatFailure: (m) =>
        m.kind === "reminder"
          ? { error: new ClientError(`chat refused: "${m.callbackId}"`, 400) }
          : undefined,
    });
    const logger = recordingLogger();
    const { execution } = await escalatedRun(world, [{ by: "u-sam" }], managerSilent, request(), logger);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const id = world.messages.find((m) => m.kind === "escalation")!.callbackId;
    const logged = JSON.stringify(logger.lines);
    expect(logged).toContain("Reminder not delivered");
    expect(logged).not.toContain(id);
  });

  it("a supplier client's own 'socket hang up' after the order was taken is retried, not a failed purchase", async () => {
    const world = simulatedWorld({
      lostReplies: {
        "supplier.placeOrder": {
          times: 1,
          error: () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
        },
      },
    });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(orderCount(world)).toBe(1);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
  });
});

describe("a request that cannot go on is not left half done", () => {
  it("when Dana cannot be asked at all, the request held in purchasing is recorded as declined (not left pending forever)", async () => {
    const world = simulatedWorld({
      chatFailure: () => ({ error: new ClientError("chat: channel not found", 404) }),
    });
    const execution = await runnerFor(world.deps, fast).run({ payload: request() });
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError().errorType).toBe("ApprovalRequestUndeliverableError");
    expect(world.submissions.length).toBe(1);
    expect(orderCount(world)).toBe(0);
    expect(world.decisions).toEqual([
      { decision: "DECLINED", detail: expect.stringContaining("could not be sent to the manager") as string },
    ]);
  });

  it("an order still in doubt after every retry is not recorded as refused, and the error names its key", async () => {
    // The supplier took the order each time and every reply was lost: it holds one order, so purchasing's
    // APPROVED stands, and a person settles it with the supplier by the key the error names.
    const world = simulatedWorld({ lostReplies: { "supplier.placeOrder": { times: 10 } } });
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError().errorType).toBe("OrderInDoubtError");
    expect(execution.getError().errorMessage).toContain("PR-2042:place-order");
    expect(world.keysSentTo("supplier.placeOrder")).toEqual(Array(4).fill("PR-2042:place-order"));
    expect(orderCount(world)).toBe(1);
    expect(world.decisions.map((d) => d.decision)).toEqual(["APPROVED"]);
  });

  it("when the supplier refuses the approved order (422), purchasing is not left saying APPROVED for goods never ordered", async () => {
    const world = simulatedWorld();
    let attempts = 0;
    world.deps.supplier.placeOrder = () => {
      attempts += 1;
      return Promise.reject(new ClientError("supplier: item discontinued", 422));
    };
    const { execution } = await managerAnswers(world, [answer("approve", "u-dana")]);
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError().errorType).toBe("OrderRefusedError");
    // A refusal is not retried, and purchasing's last word is that nothing was ordered.
    expect(attempts).toBe(1);
    expect(orderCount(world)).toBe(0);
    expect(world.decisions.map((d) => d.decision)).toEqual(["APPROVED", "DECLINED"]);
    expect(world.decisions[1]!.detail).toContain("the supplier refused the order");
  });
});
