import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import { approvalAnswerSerdes, checkApprovalAnswer, redactCallbackId } from "../src";
import { samplePurchase } from "../src/demo";
import { setUp, testConfig } from "./support";
import { setupTestEnvironment, teardownTestEnvironment } from "./target";

// With DURABLE_TEST_TARGET=cloud the bad-input cases run against the deployed function (see target.ts): the
// input is checked before any side effect, whatever services and config the function has.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

describe("bad input", () => {
  const sameApprover = {
    ...samplePurchase,
    approvers: { manager: samplePurchase.approvers.manager, director: samplePurchase.approvers.manager },
  };
  it.each([
    ["an empty event", {}, "requestId is required"],
    ["not an object", "PR-2042", "event must be an object"],
    [
      "a zero quantity",
      { ...samplePurchase, item: { ...samplePurchase.item, quantity: 0 } },
      "item.quantity must be at least 1",
    ],
    [
      "a fractional amount",
      { ...samplePurchase, amountCents: 99.5 },
      "amountCents must be a whole number of cents",
    ],
    ["an unknown currency", { ...samplePurchase, currency: "BTC" }, "currency must be one of USD, EUR, GBP"],
    [
      "a bad requester email",
      { ...samplePurchase, requester: { ...samplePurchase.requester, email: "ada" } },
      "requester.email must be an email address",
    ],
    [
      "no director",
      { ...samplePurchase, approvers: { manager: samplePurchase.approvers.manager } },
      "approvers.director is required",
    ],
    [
      "the manager as director",
      sameApprover,
      "approvers.director.id the director must be someone other than the manager",
    ],
    [
      "the requester as her own manager",
      {
        ...samplePurchase,
        approvers: { ...samplePurchase.approvers, manager: { id: "u-ada", name: "Ada" } },
      },
      "approvers.manager.id the manager must be someone other than the requester",
    ],
    [
      "the requester as director, in other capitals",
      {
        ...samplePurchase,
        approvers: { ...samplePurchase.approvers, director: { id: "U-ADA", name: "Ada" } },
      },
      "approvers.director.id the director must be someone other than the requester",
    ],
    [
      "a request id of only spaces",
      { ...samplePurchase, requestId: "     " },
      "requestId must be 3-64 letters",
    ],
    [
      "a manager id of only spaces",
      { ...samplePurchase, approvers: { ...samplePurchase.approvers, manager: { id: "   ", name: "Dana" } } },
      "approvers.manager.id must be 2-64 letters",
    ],
    [
      "a supplier of only spaces",
      { ...samplePurchase, item: { ...samplePurchase.item, supplier: "  \t " } },
      "item.supplier is required",
    ],
    [
      "a 100 KB description",
      { ...samplePurchase, item: { ...samplePurchase.item, description: "x".repeat(100_000) } },
      "item.description must be at most 200 characters",
    ],
    [
      "a 100 KB supplier",
      { ...samplePurchase, item: { ...samplePurchase.item, supplier: "x".repeat(100_000) } },
      "item.supplier must be at most 100 characters",
    ],
    [
      "a 100 KB requester name",
      { ...samplePurchase, requester: { ...samplePurchase.requester, name: "x".repeat(100_000) } },
      "requester.name must be at most 100 characters",
    ],
    [
      "an amount past Number.MAX_SAFE_INTEGER",
      { ...samplePurchase, amountCents: Number.MAX_SAFE_INTEGER + 2 },
      "amountCents must be at most 10000000 (100,000.00)",
    ],
    [
      "an amount just past the maximum",
      { ...samplePurchase, amountCents: 10_000_001 },
      "amountCents must be at most 10000000 (100,000.00)",
    ],
    [
      "a quantity past Number.MAX_SAFE_INTEGER",
      { ...samplePurchase, item: { ...samplePurchase.item, quantity: 2 ** 60 } },
      "item.quantity must be at most 1000",
    ],
  ])("rejects %s before any side effect", async (_label, payload, problem) => {
    const { world, runner } = setUp({}, testConfig(), { callbacks: false });
    const result = await runner.run({ payload });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidPurchaseRequestError");
    expect(result.getError().errorMessage).toContain(problem);
    // Locally the fakes saw no call; in the cloud (real services) the empty operation list is the proof.
    expect(world.calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
    expect(result.getInvocations()).toHaveLength(1);
  });
});

describe("checking an approver's answer", () => {
  it("accepts a valid answer and keeps only the known fields", () => {
    expect(checkApprovalAnswer('{"decision":"approve","decidedBy":"u-dana","comment":"ok"}')).toEqual({
      valid: true,
      answer: { decision: "approve", decidedBy: "u-dana", comment: "ok" },
    });
  });

  it.each<[string, string | undefined, string]>([
    ["no answer at all", undefined, "the answer is empty"],
    [
      "a 100 KB answer, before parsing it",
      JSON.stringify({ decision: "approve", decidedBy: "u-dana", comment: "x".repeat(100_000) }),
      "the answer is too large (100056 characters, at most 4096)",
    ],
    [
      "a prototype key",
      '{"decision":"approve","decidedBy":"u-dana","__proto__":{"admin":true}}',
      "answer has unknown fields: __proto__",
    ],
    ["blank", "   ", "the answer is empty"],
    ["broken JSON", "{", "the answer is not JSON"],
    ["null", "null", "answer must be an object"],
    [
      "an empty approver",
      '{"decision":"approve","decidedBy":""}',
      "decidedBy must be 2-64 letters, digits, dots, dashes or underscores",
    ],
    [
      "a decision in capitals",
      '{"decision":"APPROVE","decidedBy":"u-dana"}',
      "decision must be approve or reject",
    ],
    [
      "a 501-character comment",
      JSON.stringify({ decision: "approve", decidedBy: "u-dana", comment: "x".repeat(501) }),
      "comment must be at most 500 characters",
    ],
  ])("reports %s as invalid, never throwing", (_label, raw, problem) => {
    const checked = checkApprovalAnswer(raw);
    expect(checked.valid).toBe(false);
    expect(checked.valid ? [] : checked.problems).toContain(problem);
  });

  it("is what the callback serdes hands the workflow", async () => {
    const context = { entityId: "1", durableExecutionArn: "arn" };
    await expect(approvalAnswerSerdes.deserialize("not json", context)).resolves.toEqual({
      valid: false,
      problems: ["the answer is not JSON"],
    });
  });
});

it("shows callback ids in logs as a fingerprint that gives away no part of them", () => {
  const callbackId = "Ab3dEf9hIjKlMnOpQrStUvWxYz0123456789+/==";
  const redacted = redactCallbackId(callbackId);
  expect(redacted).toMatch(/^callback#[0-9a-f]{12}$/);
  expect(redactCallbackId(callbackId)).toBe(redacted);
  expect(redactCallbackId(`${callbackId}x`)).not.toBe(redacted);
  for (let start = 0; start + 4 <= callbackId.length; start++) {
    expect(redacted).not.toContain(callbackId.slice(start, start + 4));
  }
});
