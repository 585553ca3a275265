/**
 * What one call to a provider did, as far as the caller can know. Every HTTP answer and every network error is
 * classified here, once, with its reason; the retry decisions and the workflow only ask "done, not done, or in
 * doubt?" (see docs/outcomes.md for the model, taught once for the whole cookbook).
 *
 * - **done**: the provider acted (2xx with a well-formed body).
 * - **not done**: a definite refusal, or an error that proves nothing happened.
 * - **in doubt**: the provider may have acted. In doubt is settled, never guessed: retry with the same
 *   idempotency key where the provider honours keys, look the action up by its key where the provider offers
 *   that, and when it still cannot be settled, compensate by key or hand it to people.
 */
import type { HttpResult } from "./http-call";

export type CallOutcome = "done" | "not-done" | "in-doubt";

export interface Classification {
  outcome: CallOutcome;
  /** Only for not done: whether the same request may succeed later (throttled, unavailable, never sent). */
  retryable: boolean;
  /** Why this answer means what it means. */
  reason: string;
}

/** What a provider promises about its answers, beyond HTTP itself. */
export interface ProviderContract {
  /** The provider documents that it answers 503 only when it took no action. */
  unavailableMeansNoAction: boolean;
}

/**
 * HTTP statuses. The table is the lesson: read each line's reason before changing its outcome.
 * Statuses not listed fall back by class: another 2xx is done, a 3xx (never followed) in doubt, another 4xx not
 * done, anything else in doubt.
 */
export const STATUS_OUTCOMES: Readonly<Record<number, Classification>> = {
  400: { outcome: "not-done", retryable: false, reason: "bad request: refused before acting" },
  401: { outcome: "not-done", retryable: false, reason: "unauthenticated: refused before acting" },
  402: { outcome: "not-done", retryable: false, reason: "payment declined: nothing charged" },
  403: { outcome: "not-done", retryable: false, reason: "forbidden: refused before acting" },
  404: { outcome: "not-done", retryable: false, reason: "not found: nothing to act on" },
  409: {
    outcome: "not-done",
    retryable: false,
    reason: "conflict (out of stock, key reused): a definite no",
  },
  422: { outcome: "not-done", retryable: false, reason: "unprocessable: refused before acting" },
  429: { outcome: "not-done", retryable: true, reason: "throttled: the request was not processed" },
  500: { outcome: "in-doubt", retryable: false, reason: "internal error: it may have failed after acting" },
  502: { outcome: "in-doubt", retryable: false, reason: "bad gateway: the upstream may have acted" },
  504: { outcome: "in-doubt", retryable: false, reason: "gateway timeout: the upstream may still act" },
};

export function classifyStatus(status: number, contract: ProviderContract): Classification {
  const listed = STATUS_OUTCOMES[status];
  if (listed) return listed;
  if (status === 503) {
    return contract.unavailableMeansNoAction
      ? {
          outcome: "not-done",
          retryable: true,
          reason: "unavailable, and the contract says no action was taken",
        }
      : {
          outcome: "in-doubt",
          retryable: false,
          reason: "unavailable, and nothing says no action was taken",
        };
  }
  if (status >= 200 && status < 300)
    return { outcome: "done", retryable: false, reason: "2xx: the provider acted" };
  if (status >= 300 && status < 400) {
    // The HTTP deps never follow a redirect (a POST would be sent again, elsewhere, with our key).
    return {
      outcome: "in-doubt",
      retryable: false,
      reason: "redirect, not followed: the provider may have acted before redirecting",
    };
  }
  if (status >= 400 && status < 500) {
    return { outcome: "not-done", retryable: false, reason: "4xx: the provider refused the request as sent" };
  }
  return { outcome: "in-doubt", retryable: false, reason: `${status}: nothing says nothing happened` };
}

/**
 * Network errors. Only an error raised before the request left this process proves nothing happened.
 * Node's fetch reports them as `TypeError: fetch failed` with the system error (and its code) as `cause`.
 */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED", // nobody listened: the connection was never made
  "ENOTFOUND", // DNS: the host name did not resolve, nothing was sent
  "EAI_AGAIN", // DNS, temporarily: nothing was sent
  "UND_ERR_CONNECT_TIMEOUT", // the TCP connection was never established
]);

export function classifyNetworkError(error: unknown): Classification {
  const code = errorCode(error);
  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return { outcome: "not-done", retryable: true, reason: `${code}: the request was never sent` };
  }
  const name = (error as Error | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { outcome: "in-doubt", retryable: false, reason: "timed out: the provider may have acted" };
  }
  // ECONNRESET, EPIPE, socket hang up (UND_ERR_SOCKET) and anything unknown: the request may have arrived.
  return {
    outcome: "in-doubt",
    retryable: false,
    reason: `${code ?? "connection lost"}: the request may have arrived`,
  };
}

function errorCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined; current;) {
    if (typeof current.code === "string") return current.code;
    current = current.cause as typeof current | undefined;
  }
  return undefined;
}

/** A 2xx whose body is not what the provider promised: it acted, or not, and we cannot read what it did. */
export const MALFORMED_ANSWER: Classification = {
  outcome: "in-doubt",
  retryable: false,
  reason: "2xx with a malformed body: it may have acted, and we cannot read what it did",
};

/**
 * What an HTTP call's fact (src/http-call.ts) means for the workflow: a status goes through the table above; a
 * malformed 2xx, a timeout and a connection lost after it was made are in doubt; a connection never made is not
 * done, and may be retried.
 */
export function classifyHttpResult(
  result: Exclude<HttpResult<unknown>, { kind: "answered" }>,
  contract: ProviderContract,
): Classification {
  switch (result.kind) {
    case "status":
      return classifyStatus(result.status, contract);
    case "malformed":
      return MALFORMED_ANSWER;
    case "not-sent":
      return { outcome: "not-done", retryable: true, reason: `${result.code}: the request was never sent` };
    case "timed-out":
      return { outcome: "in-doubt", retryable: false, reason: "timed out: the provider may have acted" };
    case "lost":
      return {
        outcome: "in-doubt",
        retryable: false,
        reason: `${result.code}: the request may have arrived`,
      };
  }
}

/**
 * Errors the shared modules throw before anything is sent (src/http-call.ts, src/secret-setting.ts), for deps
 * that use them directly: a setting is wrong, so the call was not done. The HTTP deps turn them into SettingError
 * (or TransientServiceError, for a secret that cannot be read for now) themselves.
 */
const NOT_SENT_SETTING_ERRORS: ReadonlySet<string> = new Set(["HttpSettingError", "SecretSettingError"]);

/**
 * The outcome a retry decision sees, from the live error of one attempt. Our provider errors carry their
 * classification; anything else (a StepInterruptedError after a crash mid-call, a bug in a client library)
 * says nothing about what the provider did, so it is in doubt.
 */
export function outcomeOf(error: unknown): CallOutcome {
  if (error instanceof Error && NOT_SENT_SETTING_ERRORS.has(error.name)) return "not-done";
  return (error as { outcome?: unknown } | undefined)?.outcome === "not-done" ? "not-done" : "in-doubt";
}

/**
 * A call that was never made because a setting is wrong (a URL, a secret), and that a person must fix: the HTTP
 * deps' SettingError, or the shared modules' own errors from deps that use them directly.
 */
export function isSettingFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const setting = error.name === "SettingError" || NOT_SENT_SETTING_ERRORS.has(error.name);
  return setting && (error as { retryable?: unknown }).retryable !== true;
}

/**
 * An attempt that failed on a setting before sending anything: a setting a person must fix, or a secret that could
 * not be read for now (the HTTP deps' SettingUnavailableError, or the shared module's retryable SecretSettingError
 * from deps that use it directly). Unlike a 429, it proves nothing about the provider: the provider never saw it.
 */
export function failedBeforeSending(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isSettingFailure(error) || error.name === "SecretSettingError") return true;
  return (error as { sentNothing?: unknown }).sentNothing === true;
}

/**
 * Not done, and sending it again cannot help: a refusal, or a setting a person must fix. Never retried. A
 * TransientServiceError (or a secret that could not be read for now) is not done too, but may succeed later.
 */
export function notDoneForGood(error: unknown): boolean {
  return outcomeOf(error) === "not-done" && (error as { retryable?: unknown }).retryable !== true;
}

/**
 * The outcome of a step that failed after its retries. A failed step's error class does not survive the
 * checkpoint; its name does, on `cause`.
 *
 * - A refusal (`ClientError`) is not done: the provider looked at the request and said no. Our providers that
 *   are retried in doubt honour idempotency keys, so they answer a repeated key with the first answer: a refusal
 *   on a later attempt means no earlier attempt acted either.
 * - An outage on the last attempt (`TransientServiceError`) proves only that that attempt did nothing. It is
 *   not done for a step whose strategy stops at the first answer in doubt (`stopsInDoubt`, the charge): every
 *   attempt it retried was not done. For a step that retries in doubt with the same key, an earlier attempt may
 *   have acted before its reply was lost, so it is in doubt.
 * - Everything else (timeout, reset, 500/502/504, malformed answer, a crash) is in doubt.
 */
export function outcomeOfFailedStep(
  error: unknown,
  strategy: { stopsInDoubt: boolean },
): Exclude<CallOutcome, "done"> {
  const name = failureName(error);
  if (name === "ClientError") return "not-done";
  // The step's first attempt failed before sending, and the step stopped there (src/provider-call.ts).
  if (name === "NotSentError") return "not-done";
  // Nothing was sent: a setting (a URL, a secret) is wrong. On the first attempt that is the whole story; see the
  // README's Pitfalls for a setting broken between two attempts of a step that retries in doubt.
  if (name === "SettingError" || (name !== undefined && NOT_SENT_SETTING_ERRORS.has(name))) return "not-done";
  if (name === "TransientServiceError" && strategy.stopsInDoubt) return "not-done";
  return "in-doubt";
}

/** The name of the provider error behind a failed step, through a child context's error and the step's. */
function failureName(error: unknown): string | undefined {
  let name: string | undefined;
  for (let current = error; current instanceof Error; current = current.cause) name = current.name;
  return name;
}
