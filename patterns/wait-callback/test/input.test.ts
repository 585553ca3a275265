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
    ["blank", "   ", "the answer is empty"],
    ["broken JSON", "{", "the answer is not JSON"],
    ["null", "null", "answer must be an object"],
    ["an empty approver", '{"decision":"approve","decidedBy":""}', "decidedBy is required"],
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

it("redacts callback ids for logs", () => {
  const callbackId = "Ab3dEf9hIjKlMnOpQrStUvWxYz0123456789+/==";
  const redacted = redactCallbackId(callbackId);
  expect(redacted).toBe(`Ab3dEf…(${callbackId.length} chars)`);
  expect(redacted).not.toContain(callbackId.slice(6, 12));
});
