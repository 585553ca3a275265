import { createRetryStrategy } from "@aws/durable-execution-sdk-js";
import { MalformedResponseError, TransientServiceError } from "./deps";

/**
 * Which failures of an outside call are worth another attempt of the same step, with the same idempotency key.
 *
 * - TransientServiceError (5xx, 429, a network error or timeout): the service may answer later. In doubt for
 *   a POST, and the retry settles it: purchasing, the supplier and the chat webhook take the idempotency key
 *   and answer a repeat with the first answer.
 * - MalformedResponseError (a 2xx whose body is not what the API documents): the action may have happened, so
 *   it is in doubt as well, and settled the same way; a proxy's HTML page in place of JSON often passes.
 *   If the service keeps answering garbage, the step fails after the last attempt with that error.
 * - ClientError (another 4xx): the service refused the request for good; retrying cannot help.
 */
export const retryTransient = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 5 },
  maxDelay: { minutes: 2 },
  retryableErrorTypes: [TransientServiceError, MalformedResponseError],
});
