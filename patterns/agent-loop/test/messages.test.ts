import { InvalidSupportRequestError, MAX_QUESTION_CHARS, parseSupportRequest } from "../src";
import { readApprovalAnswer } from "../src/approval-answer";
import { parseToolCall } from "../src/tools";
import { MAX_LOGGED_ERROR_CHARS, redact, refundInDoubtProblem } from "../src/tool-failure";

// zod/mini ships no English messages: every problem the model or a caller can cause is worded here,
// by the schemas themselves or by the default map in src/input.ts. None may fall back to "Invalid input".

function toolProblem(name: string, input: unknown): string {
  const parsed = parseToolCall({ type: "toolUse", toolUseId: "tu-1", name, input } as never);
  if (parsed.ok) throw new Error(`expected ${name} to reject ${JSON.stringify(input)}`);
  return parsed.error.status === "error" ? parsed.error.text : "";
}

const refund = {
  orderId: "order-1042",
  reason: "damaged",
  amountCents: 1200,
  noteForApprover: "Both mugs arrived cracked.",
};

describe("invalid tool arguments are explained to the model", () => {
  it.each([
    ["lookup_order", { orderId: 1042 }, "orderId must be a string"],
    ["lookup_order", {}, "orderId is required"],
    ["lookup_order", { orderId: "1042" }, 'orderId must look like "order-1042"'],
    ["lookup_order", { orderId: "order-1042", customerId: "cust-9" }, 'input Unrecognized key: "customerId"'],
    ["lookup_order", "order-1042", "input must be an object"],
    ["lookup_order", null, "input must be an object"],
    [
      "check_refund_policy",
      { orderId: "order-1042", reason: "bored" },
      'reason must be one of "damaged", "not-delivered", "wrong-item", "changed-mind"',
    ],
    ["issue_refund", { ...refund, amountCents: 12.5 }, "amountCents must be a whole number of cents"],
    ["issue_refund", { ...refund, amountCents: 0 }, "amountCents must be positive"],
    [
      "issue_refund",
      { ...refund, amountCents: 100_001 },
      "amountCents must be at most 100000 (1000.00); larger refunds go to a person",
    ],
    ["issue_refund", { ...refund, amountCents: "1200" }, "amountCents must be a number"],
    ["issue_refund", { ...refund, amountCents: Number.NaN }, "amountCents must be a finite number"],
    ["issue_refund", { ...refund, noteForApprover: "no" }, "noteForApprover must be at least 3 characters"],
    [
      "issue_refund",
      { ...refund, noteForApprover: "y".repeat(301) },
      "noteForApprover must be at most 300 characters",
    ],
    [
      "issue_refund",
      { ...refund, reason: "because I say so" },
      'reason must be one of "damaged", "not-delivered", "wrong-item", "changed-mind"',
    ],
    ["issue_refund", { ...refund, approved: true }, 'input Unrecognized key: "approved"'],
    [
      "issue_refund",
      { orderId: "x", reason: "damaged", amountCents: 1.5, noteForApprover: "", a: 1, b: 2 },
      'orderId must look like "order-1042"; amountCents must be a whole number of cents; ' +
        'noteForApprover must be at least 3 characters; input Unrecognized keys: "a", "b"',
    ],
  ])("%s %j: %s", (name, input, problems) => {
    expect(toolProblem(name, input)).toBe(
      `Invalid arguments for ${name}: ${problems}. Fix them and try again.`,
    );
  });

  it("accepts valid arguments unchanged", () => {
    expect(
      parseToolCall({ type: "toolUse", toolUseId: "tu-1", name: "issue_refund", input: refund }),
    ).toEqual({
      ok: true,
      call: { name: "issue_refund", toolUseId: "tu-1", args: refund },
    });
  });
});

describe("a bad support request lists each problem", () => {
  it.each([
    [{ orderId: "order-1042", question: "Where is my order?" }, "customerId is required"],
    [
      { customerId: "c", orderId: "order-1042", question: "Where is my order?" },
      "customerId must be 3-64 letters, digits or dashes",
    ],
    [
      { customerId: 7, orderId: 1042, question: 8 },
      "customerId must be a string; orderId must be a string; question must be a string",
    ],
    [{ customerId: "cust-7", question: "Where is my order?" }, "orderId is required"],
    [{ customerId: "cust-7", orderId: "1042", question: "Where?" }, 'orderId must look like "order-1042"'],
    [{ customerId: "cust-7", orderId: "order-1042", question: " " }, "question must not be empty"],
    [
      { customerId: "cust-7", orderId: "order-1042", question: "x".repeat(MAX_QUESTION_CHARS + 1) },
      `question must be at most ${MAX_QUESTION_CHARS} characters`,
    ],
    ["help", "input must be an object"],
    [undefined, "input is required"],
  ])("%j: %s", (event, problems) => {
    let thrown: unknown;
    try {
      parseSupportRequest(event);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSupportRequestError);
    expect((thrown as Error).message).toBe(`Invalid support request: ${problems}`);
  });

  it("trims the question", () => {
    expect(
      parseSupportRequest({
        customerId: "cust-7",
        orderId: "order-1042",
        question: "  Where is my order?\n",
      }),
    ).toEqual({
      customerId: "cust-7",
      orderId: "order-1042",
      question: "Where is my order?",
    });
  });
});

describe("the approver's answer", () => {
  it.each([
    [
      '{"approved":true,"approver":"dana","note":"photo checked"}',
      { kind: "approved", approver: "dana", note: "photo checked" },
    ],
    ['{"approved":false,"approver":"dana"}', { kind: "denied", approver: "dana" }],
    [
      '{"approved":true,"approver":"mallory"}',
      { kind: "not-the-approver", answeredBy: "mallory", asked: "dana" },
    ],
  ])("%s is read as %j", (raw, outcome) => {
    expect(readApprovalAnswer(raw, "dana")).toEqual(outcome);
  });

  it.each([
    ['{"approved":"yes","approver":"dana"}', "approved must be true or false"],
    ['{"approved":true,"approver":""}', "approver must be 1-64 letters, digits or . _ @ -"],
    ['{"approved":true,"approver":"dana","amountCents":99000}', 'input Unrecognized key: "amountCents"'],
    ['{"approved":true,"approver":"dana","orderId":"order-2001"}', 'input Unrecognized key: "orderId"'],
    ['{"approved":true,"approver":"dana","note":7}', "note must be a string"],
    ["[true]", "input must be an object"],
    ["null", "input must be an object"],
    ["true", "input must be an object"],
    ["yes", "the answer is not JSON"],
    ["", "the answer is empty"],
    ["   ", "the answer is empty"],
    [undefined, "the answer is empty"],
    [
      `{"approved":true,"approver":"dana","note":"${"x".repeat(3000)}"}`,
      "the answer is longer than 2000 characters",
    ],
  ])("%s is malformed: %s", (raw, problem) => {
    expect(readApprovalAnswer(raw, "dana")).toEqual({ kind: "malformed", problem });
  });
});

describe("what operators may read of an error (redact)", () => {
  it("cuts out the secrets given, bearer tokens, query values, credential fields and long opaque strings", () => {
    const callbackId = "eyJjYWxsYmFja0lkIjoiMTIzNDU2Nzg5MCJ9";
    const message =
      `approvals: 400 for {"callbackId":"${callbackId}","note":"id ${callbackId}"} ` +
      "GET https://backoffice.internal/orders?token=sk-live-1&page=2 Authorization: Bearer abc.def password=hunter2";
    const redacted = redact(message, [callbackId]);

    for (const secret of [callbackId, "sk-live-1", "abc.def", "hunter2"])
      expect(redacted).not.toContain(secret);
    expect(redacted).toContain("GET https://backoffice.internal/orders?token=[redacted]&page=[redacted]");
    expect(redact("x".repeat(10_000)).length).toBeLessThanOrEqual(MAX_LOGGED_ERROR_CHARS);
  });

  it("keeps a call's URL readable, and still cuts long opaque strings in either base64 alphabet", () => {
    const call = "GET http://127.0.0.1:43491/support/orders/order-1042/refunds answered 503";
    expect(redact(call)).toBe(call);
    const standard = "tok/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/==";
    const urlSafe = "tok_AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_-";
    const hex = "0123456789abcdef0123456789abcdef";
    const redacted = redact(`echo ${standard} ${urlSafe} ${hex}`);
    for (const secret of [standard, urlSafe, hex]) expect(redacted).not.toContain(secret);
    expect(redacted).toBe("echo [redacted] [redacted] [redacted]");
  });
});

describe("what people are told of a refund payment in doubt", () => {
  it("says first that it may have been paid and to look it up by its key, then the last attempt's error, labelled", () => {
    const lastAttempt = new Error(
      "the ledger read before paying failed, so this attempt sent no payment: GET https://bo.example/orders/order-1042/refunds answered 503",
    );
    expect(refundInDoubtProblem("order-1042:refund-1", lastAttempt)).toBe(
      "In doubt: the refund may have been paid. Its payment request may have reached the payment provider, and " +
        "nothing since showed whether it was paid. Look it up at the provider under order-1042:refund-1 before " +
        "doing anything else: do not pay it again, or count it as unpaid, until you know. Last attempt: the ledger " +
        "read before paying failed, so this attempt sent no payment: GET https://bo.example/orders/order-1042/refunds answered 503",
    );
  });

  it("redacts and bounds the last attempt's error: a custom dep's message may hold anything", () => {
    const problem = refundInDoubtProblem(
      "order-1042:refund-1",
      new Error(`Authorization: Bearer sk-live-123 ${"x".repeat(10_000)}\r\n\u001b[31m`),
    );
    expect(problem).not.toContain("sk-live-123");
    for (const control of ["\r", "\n", "\u001b"]) expect(problem).not.toContain(control);
    expect(problem.length).toBeLessThanOrEqual(600);
    expect(problem).toMatch(/^In doubt: the refund may have been paid\. /);
  });
});
