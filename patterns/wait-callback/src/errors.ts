/**
 * The errors a dependency throws, by what they say about the call (call-outcome.ts classifies them). Your own
 * deps may throw these, or anything else: any other error counts as in doubt and is retried with the same key.
 */
/** A service said no for good (4xx): retrying the same request cannot help. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  constructor(
    message = "Client error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A 2xx whose body is not what the API documents. The action may have been done: in doubt, not "not done".
 * The message names the service and what was wrong, never the body itself.
 */
export class MalformedResponseError extends Error {
  override readonly name = "MalformedResponseError";
}

/**
 * The service was unavailable, throttled us or timed out (5xx, 429, network): the same request may work later.
 * Arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as `new () => Error`.
 */
export class TransientServiceError extends Error {
  override readonly name: string = "TransientServiceError";
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The request never left this process: the connection was never made (refused, the host did not resolve). This
 * attempt did nothing, so it is not done, and may work later. A TransientServiceError too, so code that catches
 * those still does; its own name is what the classification reads (call-outcome.ts).
 */
export class NotSentError extends TransientServiceError {
  override readonly name = "NotSentError";
}
