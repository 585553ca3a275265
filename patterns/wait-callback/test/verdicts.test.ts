import { CallbackExternalError, CallbackTimeoutError } from "@aws/durable-execution-sdk-js";
import { verdictOf, type CheckedAnswer } from "../src";
import { samplePurchase } from "../src/demo";

// The "who may answer" decision (src/verdicts.ts) on its own: a pure function, no runner needed.
describe("verdictOf: who may answer", () => {
  const dana = samplePurchase.approvers.manager;
  const answered = (checked: CheckedAnswer) => verdictOf(Promise.resolve(checked), dana);

  it("an approval by the person asked is an approval", async () => {
    await expect(
      answered({ valid: true, answer: { decision: "approve", decidedBy: "u-dana" } }),
    ).resolves.toEqual({
      kind: "approved",
      approvedBy: "u-dana",
    });
  });

  it("an approval by anyone else is refused, never an approval", async () => {
    await expect(
      answered({ valid: true, answer: { decision: "approve", decidedBy: "u-ada" } }),
    ).resolves.toEqual({
      kind: "refused",
      reason: "NOT_ASKED",
      detail: "Answered (approve) by u-ada, but u-dana was asked",
    });
  });

  it("a malformed answer is refused with its problems", async () => {
    await expect(answered({ valid: false, problems: ["the answer is not JSON"] })).resolves.toEqual({
      kind: "refused",
      reason: "MALFORMED",
      detail: "Not a valid answer: the answer is not JSON",
    });
  });

  it("a callback failure declines, its free text made one bounded line", async () => {
    const failure = Promise.reject(new CallbackExternalError(`Over\nbudget ${"!".repeat(500)}`));
    const verdict = await verdictOf(failure, dana);
    expect(verdict).toMatchObject({ kind: "declined", reason: "REJECTED" });
    expect(verdict.kind === "declined" ? verdict.detail : "").toMatch(/^Rejected: Over budget !+…$/);
    expect(verdict.kind === "declined" ? verdict.detail.length : 0).toBeLessThanOrEqual(210);
  });

  it("a timeout is no answer; any other error is not swallowed", async () => {
    await expect(
      verdictOf(Promise.reject(new CallbackTimeoutError("Callback timed out")), dana),
    ).resolves.toEqual({
      kind: "no-answer",
      detail: "Callback timed out",
    });
    await expect(verdictOf(Promise.reject(new TypeError("bug")), dana)).rejects.toThrow("bug");
  });
});
