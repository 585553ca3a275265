import * as z from "zod/mini";
import { defaultMessages, describeIssues } from "./input";

/**
 * What the approver's answer means. A callback result arrives as the raw string someone sent with the
 * callback id, and anyone who holds the id can send one: it is read strictly, and checked against the
 * person the workflow asked. Only a well-formed `approved: true` from that person pays.
 *
 * Pure: it reads the checkpointed callback result, so it needs no step and gives the same outcome on
 * every replay.
 */
export const MAX_APPROVAL_ANSWER_CHARS = 2000;

/**
 * Strict: an unknown field is refused, not ignored. `{"approved": true, "amountCents": 99000}` is not
 * "yes to the request as sent" nor "yes to 990.00": it is an answer this code does not understand, and
 * it pays nothing. The approval app fills `approver` from the signed-in person.
 */
export const ApprovalAnswer = z.strictObject({
  approved: z.boolean("must be true or false"),
  approver: z
    .string("must be a string")
    .check(z.regex(/^[A-Za-z0-9._@-]{1,64}$/, "must be 1-64 letters, digits or . _ @ -")),
  note: z.optional(z.string("must be a string").check(z.maxLength(500, "must be at most 500 characters"))),
});

export type ApprovalOutcome =
  | { kind: "approved"; approver: string; note?: string }
  | { kind: "denied"; approver: string; note?: string }
  /** Not JSON, the wrong shape, extra fields, empty or too long: never a yes. */
  | { kind: "malformed"; problem: string }
  /** A well-formed answer from someone other than the person asked: not a decision. */
  | { kind: "not-the-approver"; answeredBy: string; asked: string };

export function readApprovalAnswer(raw: unknown, asked: string): ApprovalOutcome {
  if (typeof raw !== "string" || raw.trim() === "")
    return { kind: "malformed", problem: "the answer is empty" };
  if (raw.length > MAX_APPROVAL_ANSWER_CHARS) {
    return {
      kind: "malformed",
      problem: `the answer is longer than ${MAX_APPROVAL_ANSWER_CHARS} characters`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: "malformed", problem: "the answer is not JSON" };
  }
  const parsed = ApprovalAnswer.safeParse(json, { error: defaultMessages });
  if (!parsed.success) return { kind: "malformed", problem: describeIssues(parsed.error).join("; ") };
  const { approved, approver, note } = parsed.data;
  if (approver !== asked) return { kind: "not-the-approver", answeredBy: approver, asked };
  return { kind: approved ? "approved" : "denied", approver, ...(note === undefined ? {} : { note }) };
}

/** What the model is told when the answer pays nothing. It explains it to the customer. */
export function explainNoRefund(outcome: Exclude<ApprovalOutcome, { kind: "approved" }>): string {
  switch (outcome.kind) {
    case "denied":
      return `Refund denied by ${outcome.approver}${outcome.note ? `: ${outcome.note}` : ""}.`;
    case "malformed":
      return `The approval answer could not be read (${outcome.problem}), so it counts as not approved and nothing was paid. A person will follow up.`;
    case "not-the-approver":
      return `The answer did not come from ${outcome.asked}, who was asked, so it is not a decision and nothing was paid. A person will follow up.`;
  }
}

/**
 * What the model is told when it asks again after the person asked said no. The "no" stands for this
 * execution: asking again and again until someone says yes is how approval fatigue is exploited.
 */
export function explainAlreadyDenied(denial: string): string {
  return `${denial} The approver already answered this refund for this order in this conversation; it is not asked again. A person can reopen it.`;
}
