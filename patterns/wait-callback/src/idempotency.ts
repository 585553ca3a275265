import { createHash } from "node:crypto";

/**
 * Idempotency keys, identical on every retry and replay, different for every action. What a key is scoped to
 * decides what a second execution for the same request id (a re-run after a rejection, or a duplicate start)
 * does at each provider:
 *
 * - per request, `PR-2042:submit`, `PR-2042:place-order`: what one purchase request can have only once,
 *   whichever execution asks. A re-run finds the request already held and never orders twice: the supplier
 *   answers a second execution's order with the first execution's job.
 * - per execution, `PR-2042:5f0c2a9be1d4:record-decision`: what each execution decides anew. A re-run that is
 *   approved after a rejection records its approval, instead of purchasing answering the old key with the old
 *   rejection while the supplier ships. The execution part is a hash of the durable execution's ARN, which is
 *   part of the invocation's input (no step needed) and the same on every replay of one execution.
 * - per link, `PR-2042:notify-manager:3fa9c1d2b0e4`: a message that carries a callback id is keyed by that
 *   callback (a fingerprint of its id, never the id: keys travel in headers), so a new link is never taken by
 *   a chat that drops repeats for a repeat of an old one, and a retried send of the same link is.
 */
export const requestKey = (requestId: string, action: string) => `${requestId}:${action}`;

export const executionKey = (requestId: string, durableExecutionArn: string, action: string) =>
  `${requestId}:${fingerprint(durableExecutionArn)}:${action}`;

export const linkKey = (requestId: string, action: string, callbackId: string) =>
  `${requestId}:${action}:${fingerprint(callbackId)}`;

const fingerprint = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 12);
