/**
 * What one call to the outside world did, as far as the workflow can know, and whether the same call, with the
 * same idempotency key, is worth another attempt. Every HTTP answer and every error a dependency throws is
 * classified here, once, with its reason (the model: ../../docs/outcomes.md).
 *
 * - done: the provider acted (a 2xx whose body is what the API documents).
 * - not done: a definite refusal, or an error that proves nothing happened.
 * - in doubt: the provider may have acted. Settled by repeating the call with the same idempotency key: every
 *   provider here (purchasing, the supplier, the chat webhook) must answer a repeated key with its first answer.
 */
export type CallOutcome = "done" | "not-done" | "in-doubt";

export interface Classification {
  outcome: CallOutcome;
  /** Another attempt of the same step, with the same key: for in doubt, and for not done that may work later. */
  retry: boolean;
  reason: string;
}

/** HTTP statuses of our providers. Not listed: another 2xx is done, another 4xx not done, anything else in doubt. */
export const STATUS_OUTCOMES: Record<number, Classification> = {
  408: {
    outcome: "not-done",
    retry: true,
    reason: "request timeout: the server gave up waiting for the request before acting on it",
  },
  429: { outcome: "not-done", retry: true, reason: "throttled: the request was not processed" },
  500: { outcome: "in-doubt", retry: true, reason: "internal error: it may have failed after acting" },
  502: { outcome: "in-doubt", retry: true, reason: "bad gateway: the upstream may have acted" },
  503: {
    outcome: "in-doubt",
    retry: true,
    reason: "unavailable, and nothing in these providers' contracts says no action was taken",
  },
  504: { outcome: "in-doubt", retry: true, reason: "gateway timeout: the upstream may still act" },
};

export function classifyStatus(status: number): Classification {
  const listed = STATUS_OUTCOMES[status];
  if (listed) return listed;
  if (status >= 200 && status < 300)
    return { outcome: "done", retry: false, reason: "2xx: the provider acted" };
  if (status >= 400 && status < 500) {
    return {
      outcome: "not-done",
      retry: false,
      reason: `${status}: the provider refused the request as sent`,
    };
  }
  // 1xx, 3xx (redirects are not followed: a POST repeated elsewhere would carry our key and token), other 5xx.
  return { outcome: "in-doubt", retry: true, reason: `${status}: nothing says nothing happened` };
}

/**
 * An error thrown by a dependency, the built-in HTTP client or yours. Only a refusal (ClientError) is final;
 * anything else, a TransientServiceError, a MalformedResponseError, or a client library's own error ("socket
 * hang up", ECONNRESET, a timeout), says nothing certain about what the provider did, so it is in doubt and
 * retried with the same key. A step that failed reaches the workflow as a StepError whose cause keeps the
 * original error's name, on the first run and on replay alike: the name is what is compared.
 */
export function classifyError(error: unknown): Classification {
  const name = errorName(error);
  if (name === "ClientError") {
    return {
      outcome: "not-done",
      retry: false,
      reason: "the provider refused the request: the same no again",
    };
  }
  if (name === "MalformedResponseError") {
    return { outcome: "in-doubt", retry: true, reason: "a 2xx we cannot read: it may have acted" };
  }
  if (name === "TransientServiceError") {
    return { outcome: "in-doubt", retry: true, reason: "unavailable, throttled, a 5xx or a network error" };
  }
  return {
    outcome: "in-doubt",
    retry: true,
    reason: "an error that says nothing about what the provider did",
  };
}

/** The call was refused for good: nothing was done, and nothing will be by asking again. */
export const refusedForGood = (error: unknown) => classifyError(error).outcome === "not-done";

function errorName(error: unknown): string | undefined {
  const own = (error as Error | undefined)?.name;
  // A step's failure, as the workflow sees it: StepError, the dependency's error as its cause.
  if (own === "StepError" || own === "CallbackSubmitterError") {
    return errorName((error as Error).cause) ?? own;
  }
  return own;
}
