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
 * An error thrown by a dependency, the built-in HTTP client or yours. Only a refusal (ClientError) and a request
 * that never left (a setting that could not be used, a connection never made) are not done; anything else, a
 * TransientServiceError, a MalformedResponseError, or a client library's own error ("socket hang up",
 * ECONNRESET, a timeout), says nothing certain about what the provider did, so it is in doubt and retried with
 * the same key. A step that failed reaches the workflow as a StepError whose cause keeps the original error's
 * name, on the first run and on replay alike: the name is what is compared.
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
  if (name === "SecretSettingError" || name === "HttpSettingError") {
    // Thrown before the request is made. Only a live SecretSettingError says whether Secrets Manager itself
    // failed for a while (throttled, internal error, network); a missing, unreadable or plain-text secret and a
    // wrong URL need a person, so asking again cannot help. The flag does not survive a checkpoint: not retried.
    const retry = (innermost(error) as { retryable?: unknown } | undefined)?.retryable === true;
    return {
      outcome: "not-done",
      retry,
      reason: retry
        ? "a secret could not be read for now (Secrets Manager throttled or failed): nothing was sent"
        : "a setting is missing or wrong: nothing was sent, and nothing will be until a person fixes it",
    };
  }
  if (name === "NotSentError") {
    return {
      outcome: "not-done",
      retry: true,
      reason: "the connection was never made (refused, DNS): nothing was sent, it may work later",
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

/**
 * The provider refused the call for good: nothing was done, and nothing will be by asking again. Only a refusal:
 * the providers answer a repeated key with their first answer, so a refusal on a later attempt means no earlier
 * attempt acted either. An error that says "not sent" proves that for its own attempt only (an earlier one may
 * have acted and lost its reply), so a step that retries in doubt and ends in one is still in doubt.
 */
export const refusedForGood = (error: unknown) => errorName(error) === "ClientError";

/**
 * Nothing was sent, and nothing will be until a person fixes a setting: a secret that is missing, unreadable or
 * set in plain text, or a URL that cannot be used. For the first attempt of a step this means the step sent
 * nothing at all (see the place-order step); the error's message names the setting.
 */
export function notSentForGood(error: unknown): boolean {
  const name = errorName(error);
  const { retry } = classifyError(error);
  return (name === "SecretSettingError" || name === "HttpSettingError") && !retry;
}

/** This package's error classes (errors.ts, http-call.ts, secret-setting.ts): what a step's cause may be named. */
const OWN_ERRORS = new Set([
  "ClientError",
  "MalformedResponseError",
  "TransientServiceError",
  "NotSentError",
  "SecretSettingError",
  "HttpSettingError",
]);

/**
 * A step that failed after its retries, as the execution's own error. The SDK rejects with a StepError, and an
 * execution that ends with it has the error type `StepError` whatever went wrong: an alarm or a
 * GetDurableExecution reader looking for `SecretSettingError` would never see one. So the workflow rethrows the
 * failure as an error named after its cause (the name the checkpoint keeps, on the first run and on replay
 * alike), with the cause's message: one bounded line, its secrets already cut out (checked-deps.ts). A cause of
 * another name (a custom client's own error) leaves the StepError as it is.
 */
export function asItsCause(error: unknown): unknown {
  const cause = innermost(error);
  if (cause === error || !(cause instanceof Error) || !OWN_ERRORS.has(cause.name)) return error;
  const named = new Error(cause.message);
  named.name = cause.name;
  return named;
}

function errorName(error: unknown): string | undefined {
  return (innermost(error) as Error | undefined)?.name;
}

/** A step's failure, as the workflow sees it: StepError, the dependency's error as its cause. */
function innermost(error: unknown): unknown {
  const own = (error as Error | undefined)?.name;
  if ((own === "StepError" || own === "CallbackSubmitterError") && (error as Error).cause !== undefined) {
    return innermost((error as Error).cause);
  }
  return error;
}
