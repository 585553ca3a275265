import { CallbackExternalError, CallbackTimeoutError } from "@aws/durable-execution-sdk-js";
import type { CheckedAnswer } from "./answers";
import { plainLine } from "./chat-text";
import type { Person } from "./input";

/**
 * Who may answer, and what each way of answering means. The workflow asked one person on each callback; only
 * that person's answer is a decision. The callback id is a bearer token (a forwarded link works for anyone),
 * so the approval page authenticates whoever opens it and writes `decidedBy` from that session; here the
 * workflow checks it against whom it asked.
 *
 *   a well-formed answer from the person asked      approve -> approved; reject -> declined (REJECTED)
 *   a callback failure (SendDurableExecutionCallbackFailure)   declined (REJECTED): it can only ever say no
 *   a well-formed answer from anyone else           refused (NOT_ASKED): not a decision
 *   an answer that is not a well-formed answer      refused (MALFORMED): not a decision
 *   no answer before the timeout or a heartbeat     no decision (the caller escalates or auto-declines)
 *
 * A refused answer has used up its callback (a callback completes once), so the workflow asks the same person
 * again with a new callback: the link that was forwarded or misused is dead, and the real approver decides.
 */
export type Verdict =
  | { kind: "approved"; approvedBy: string; comment?: string }
  | { kind: "declined"; reason: "REJECTED"; detail: string }
  | { kind: "refused"; reason: RefusedAnswer["reason"]; detail: string }
  | { kind: "no-answer"; detail: string };

/** An answer that was not taken as a decision: kept in the result and logged, never acted upon. */
export interface RefusedAnswer {
  /** The stage whose callback received it, and the round of asking (1 is the first message). */
  approver: "manager" | "director";
  round: number;
  /** NOT_ASKED: from someone other than the person asked (a forgery, or a forwarded link). MALFORMED: unreadable. */
  reason: "NOT_ASKED" | "MALFORMED";
  detail: string;
}

/** A callback failure's message is free text from outside: it goes into the decision record, so keep it short. */
const MAX_REJECTION_CHARS = 200;

/** Turns the answer to a callback sent to `asked` into a verdict. Every branch is a value; only SDK bugs throw. */
export async function verdictOf(answer: PromiseLike<CheckedAnswer>, asked: Person): Promise<Verdict> {
  let checked: CheckedAnswer;
  try {
    checked = await answer;
  } catch (error) {
    if (error instanceof CallbackTimeoutError) return { kind: "no-answer", detail: error.message };
    if (error instanceof CallbackExternalError) {
      // No identity comes with a failure, which is acceptable because it can only decline: never a yes.
      return { kind: "declined", reason: "REJECTED", detail: `Rejected: ${plainText(error.message)}` };
    }
    throw error;
  }
  if (!checked.valid) {
    return {
      kind: "refused",
      reason: "MALFORMED",
      detail: `Not a valid answer: ${checked.problems.join("; ")}`,
    };
  }
  const { decision, decidedBy, comment } = checked.answer;
  // Exactly the id the workflow asked: "U-DANA" is not "u-dana". A stricter test than the input's (which
  // refuses look-alike ids for requester and approvers), and on the safe side: a refusal only asks again.
  if (decidedBy !== asked.id) {
    return {
      kind: "refused",
      reason: "NOT_ASKED",
      detail: `Answered (${decision}) by ${decidedBy}, but ${asked.id} was asked`,
    };
  }
  if (decision === "reject") {
    return {
      kind: "declined",
      reason: "REJECTED",
      detail: `Rejected by ${decidedBy}${comment ? `: ${plainText(comment)}` : ""}`,
    };
  }
  return comment === undefined
    ? { kind: "approved", approvedBy: decidedBy }
    : { kind: "approved", approvedBy: decidedBy, comment: plainText(comment) };
}

/** Outside text on its way into a record the requester reads: one line, no control characters, bounded. */
const plainText = (text: string) => plainLine(text, MAX_REJECTION_CHARS);
