import { createRetryStrategy, JitterStrategy, type Duration } from "@aws/durable-execution-sdk-js";
import { OutcomeInDoubtError, ProviderUnavailableError } from "./call-outcome";
import { StaleBreakerRecordError } from "./breaker";

/**
 * How often each call is tried again, and on which outcomes (see src/call-outcome.ts). All of one kind:
 * exponential backoff from 1 s with full jitter, up to a cap. A definite refusal is never retried.
 *
 * `retryOutages` retries only what did not happen (throttled, unavailable, never sent). `retryKeyed` also
 * retries an outcome in doubt: for a provider that honours idempotency keys, the same request with the same
 * key is answered with what it did the first time, so repeating it is how the doubt is settled.
 */
export function retryOutages(maxAttempts: number, maxDelay: Duration = { minutes: 5 }) {
  return createRetryStrategy({
    maxAttempts,
    initialDelay: { seconds: 1 },
    maxDelay,
    backoffRate: 2,
    jitter: JitterStrategy.FULL,
    retryableErrorTypes: [ProviderUnavailableError],
  });
}

export function retryKeyed(maxAttempts: number, maxDelay: Duration = { minutes: 5 }) {
  return createRetryStrategy({
    maxAttempts,
    initialDelay: { seconds: 1 },
    maxDelay,
    backoffRate: 2,
    jitter: JitterStrategy.FULL,
    retryableErrorTypes: [ProviderUnavailableError, OutcomeInDoubtError],
  });
}

// Forward reservations: a few quick retries, the same key each time, so a lost reply is settled.
export const retryReservation = retryKeyed(3, { seconds: 10 });
// The car gives up sooner: it is optional, and the breaker remembers the outage for the next bookings.
export const retryCarReservation = retryKeyed(2);
// Compensations are more patient than forward steps: giving up leaves a real reservation or a real charge
// behind. Each is matched to its provider. A refusal (past the cancellation deadline) is final.
export const cancelFlightRetry = retryKeyed(8, { minutes: 2 });
export const cancelHotelRetry = retryKeyed(6, { minutes: 1 });
export const cancelCarRetry = retryKeyed(4, { seconds: 30 });
/** Money: the most patient, and a refund with its idempotency key is safe to repeat. */
export const refundRetry = retryKeyed(10);
/** The charge itself: only what the gateway told us it did not do. In doubt goes to the look-up instead. */
export const chargeOutageRetry = retryOutages(3, { seconds: 10 });
/**
 * How long the payment function waits, after a charge in doubt, before it looks the charge up: longer than the
 * gateway takes to finish a request (our call gives up after 10 s), so a charge still in flight has landed and
 * "no charge under this key" means none. A durable wait: nothing runs, or bills, meanwhile.
 */
export const waitBeforeChargeLookUp: Duration = { seconds: 60 };
/**
 * Checking the settings before anything is reserved: nothing is sent, so every failure is not done. A Secrets
 * Manager that throttles is given a few tries (about 15 s of backoff in all); a setting that is wrong, none.
 */
export const settingsCheckRetry = retryOutages(5, { seconds: 10 });
/** Looking a confirmed booking up before anything is reserved: a read, a few quick tries, then gone on without. */
export const findBookingRetry = retryKeyed(3, { seconds: 10 });
/** Looking a charge up is a read: safe to repeat on any failure but a refusal. */
export const lookUpRetry = retryKeyed(5, { seconds: 30 });
/**
 * Telling operations what could not be undone: patient (up to about 40 minutes of backoff in all), because
 * after it there is only the execution's error. See the README: retry longer rather than park.
 */
export const alertRetry = retryKeyed(12, { minutes: 5 });
/** Breaker writes are side work: a few tries on a concurrent writer or an outage, then given up and recorded. */
export const breakerWriteRetry = createRetryStrategy({
  maxAttempts: 5,
  initialDelay: { seconds: 1 },
  retryableErrorTypes: [StaleBreakerRecordError, ProviderUnavailableError],
});
