import { createHash } from "node:crypto";

/**
 * The idempotency keys, and whose they are. Keys come from the business key and the execution, never from a
 * random UUID made outside a step: a replay or a retry must send the same key so the service can recognise the
 * repeat, and a person can look the action up by it.
 *
 * - The order's keys (`order-1042:charge`, `:ship`, `:email-tracking`, `:review-request`): money, goods and
 *   messages happen at most once per order, whichever execution asks. A second execution of the same order (the
 *   event delivered twice, the id started again) finds the charge under the order's key and stops before it.
 * - The execution's keys (`order-1042:reserve:<execution>`, `:release:<execution>`): a hold on stock belongs to
 *   one attempt at the order. An execution that failed released its hold; an execution started again under the
 *   same order id must take a hold of its own, not be handed back the first, released one by a key the
 *   inventory has already seen.
 */
export function idempotencyKey(orderId: string, action: string): string {
  return `${orderId}:${action}`;
}

export function executionKey(orderId: string, action: string, durableExecutionArn: string): string {
  // The ARN is the same on every replay of an execution and differs between executions. Hashed, to keep the key
  // short: 12 hex digits are enough to tell apart the executions of one order.
  const execution = createHash("sha256").update(durableExecutionArn).digest("hex").slice(0, 12);
  return `${orderId}:${action}:${execution}`;
}
