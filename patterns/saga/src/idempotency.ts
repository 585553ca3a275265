import { createHash } from "node:crypto";

/**
 * Idempotency keys: `<bookingId>:<execution>:<operation>`, e.g. `trip-2041:5f0c2a9be1d4:reserve-hotel`.
 *
 * - The operation name makes every action's key different (reserve and cancel never share one).
 * - The execution part is derived from the durable execution's ARN, which is the same on every retry and every
 *   replay of one execution and different for the next. So a booking id reused after a failed, compensated
 *   attempt gets new keys: the providers make new reservations instead of answering the old keys with the
 *   old, cancelled ones, and the new attempt never confirms stale work.
 * - A duplicate start of the same attempt is not a new execution: start each attempt with a durable execution
 *   name (e.g. the booking id and an attempt number) and Lambda answers a repeated start with the same
 *   execution, hence the same keys. A new execution for a booking id already confirmed is refused by the
 *   workflow's `find-confirmed-booking` look-up, before anything is reserved.
 *
 * Reading the ARN is deterministic (it is part of the invocation's input, not I/O), so no step is needed.
 */
export function executionPart(durableExecutionArn: string): string {
  return createHash("sha256").update(durableExecutionArn).digest("hex").slice(0, 12);
}

export function idempotencyKey(bookingId: string, execution: string, operation: string): string {
  return `${bookingId}:${execution}:${operation}`;
}
