import { createRetryStrategy, type RetryDecision } from "@aws/durable-execution-sdk-js";
import { classifyError } from "./call-outcome";

const backoff = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 5 },
  maxDelay: { minutes: 2 },
});

/**
 * Which failures of an outside call are worth another attempt of the same step, with the same idempotency key:
 * everything but a refusal and a setting only a person can fix (a secret missing, unreadable or in plain text, a
 * URL that cannot be used; call-outcome.ts). In doubt is retried because purchasing, the supplier and the chat
 * webhook take the idempotency key and answer a repeat with the first answer, so the retry either does the work
 * once or gets back what was done. After the last attempt the step fails with the last error, still in doubt:
 * the workflow says so (an order in doubt names its key), it never treats it as not done.
 */
export const retryTransient = (error: Error, attemptsMade: number): RetryDecision =>
  classifyError(error).retry ? backoff(error, attemptsMade) : { shouldRetry: false };
