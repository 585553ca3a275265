import { createRetryStrategy, JitterStrategy } from "@aws/durable-execution-sdk-js";
import { TransientServiceError } from "./deps";
import { TransientModelError } from "./model";

/**
 * Which failures are worth another attempt, and how soon. A step retries only errors that say the same
 * request may succeed later (throttling, an outage, an answer lost on the way); everything else fails the
 * step at once, and the workflow decides what it means (src/tool-failure.ts).
 */

/** Throttled or overloaded model: 2 s, 4 s, 8 s, 16 s (capped at 30 s), with full jitter. */
export const retryTransientModelErrors = createRetryStrategy({
  maxAttempts: 5,
  initialDelay: { seconds: 2 },
  maxDelay: { seconds: 30 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
  retryableErrorTypes: [TransientModelError],
});

/** Back-office outages: 1 s, 2 s, 4 s. Anything else (a bug, a 4xx) fails the tool at once. */
export const retryTransientServiceErrors = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 1 },
  maxDelay: { seconds: 10 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
  retryableErrorTypes: [TransientServiceError],
});
