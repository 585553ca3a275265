import {
  createRetryStrategy,
  JitterStrategy,
  StepInterruptedError,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import { notDoneForGood, outcomeOf } from "./call-outcome";
import { ClientError, OutcomeInDoubtError, TransientServiceError } from "./deps";

/**
 * When each step sends its call again. The decisions read the outcome of the last attempt (src/call-outcome.ts),
 * not the status code, and what the provider promises about repeated idempotency keys (README, Deploy).
 */

/** Exponential backoff (2 s, 4 s, 8 s, capped at 1 min) with full jitter: 4 attempts in all. */
const backoff = {
  maxAttempts: 4,
  initialDelay: { seconds: 2 },
  maxDelay: { minutes: 1 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
};

/** For calls that were not done and may succeed later (429, a 503 that took no action, a request never sent). */
export const retryTransientFaults = createRetryStrategy({
  ...backoff,
  retryableErrorTypes: [TransientServiceError],
});

/**
 * For a provider that honours idempotency keys (the inventory, the notifier; look-ups, which change nothing):
 * an attempt in doubt is sent again with the same key, which settles it, because the provider answers a repeated
 * key with its first answer. A refusal is never retried.
 */
export const retryWithSameKey = createRetryStrategy({
  ...backoff,
  retryableErrorTypes: [TransientServiceError, OutcomeInDoubtError],
});

/**
 * The charge goes to a gateway that does not honour keys, so it is sent again only when the last attempt was
 * not done (throttled, or the look-up before it could not answer). An attempt in doubt stops the step, and the
 * workflow settles it by looking the charge up by its key: a gap that the look-up settles is better than
 * charging a customer twice.
 */
export function chargeRetryStrategy(error: Error, attemptsMade: number): RetryDecision {
  // A crash mid-charge: the attempt started and never finished, so the provider may have charged.
  if (error instanceof StepInterruptedError) return { shouldRetry: false };
  if (outcomeOf(error) === "in-doubt") return { shouldRetry: false };
  return retryTransientFaults(error, attemptsMade);
}

/**
 * A hand-written decision for the carrier, which honours keys: a refusal (a 4xx) never improves with time;
 * anything else, in doubt included, is sent again with the same key: 5 attempts, 2^n seconds apart.
 */
export function retryUnlessClientError(error: Error, attemptsMade: number): RetryDecision {
  // A refusal, and a setting a person must fix (a SettingError is a ClientError; deps that throw the shared
  // modules' HttpSettingError or a non-retryable SecretSettingError are not done for good too).
  if (error instanceof ClientError || notDoneForGood(error) || attemptsMade >= 5)
    return { shouldRetry: false };
  return { shouldRetry: true, delay: { seconds: Math.min(60, 2 ** attemptsMade) } };
}
