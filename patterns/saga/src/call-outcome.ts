/**
 * What one call to a provider did, as far as the caller can know. Every HTTP answer and every network error is
 * classified here, once, with its reason; the rest of the pattern only asks "done, not done, or in doubt?".
 *
 * - **done**: the provider acted (2xx with a well-formed body).
 * - **not done**: a definite refusal, or an error that proves nothing happened.
 * - **in doubt**: the provider may have acted. In doubt is settled, never guessed: retry with the same
 *   idempotency key where the provider honours keys, look the action up by its key where the provider offers
 *   that, and when it still cannot be settled, compensate by key or hand it to people (alert).
 */
import type { HttpResult } from "./http-call";
import { SecretSettingError } from "./secret-setting";

export type CallOutcome = "done" | "not-done" | "in-doubt";

export interface Classification {
  outcome: CallOutcome;
  /** Only for not done: whether the same request may succeed later (throttled, unavailable). */
  retryable: boolean;
  /** Why this answer means what it means. */
  reason: string;
}

/** What a provider promises about its answers, beyond HTTP itself. */
export interface ProviderContract {
  /** The provider answers 503 only when it took no action (documented by the provider). */
  unavailableMeansNoAction: boolean;
}

/** The contract our providers are required to honour (see the README's Deploy section). */
export const PROVIDER_CONTRACT: ProviderContract = { unavailableMeansNoAction: true };

/**
 * HTTP statuses. The table is the lesson: read each line's reason before changing its outcome.
 * Statuses not listed fall back by class: another 2xx is done, another 4xx not done, another 5xx in doubt.
 */
export const STATUS_OUTCOMES: Record<number, Classification> = {
  400: { outcome: "not-done", retryable: false, reason: "bad request: refused before acting" },
  401: { outcome: "not-done", retryable: false, reason: "unauthenticated: refused before acting" },
  402: { outcome: "not-done", retryable: false, reason: "payment declined: nothing charged" },
  403: { outcome: "not-done", retryable: false, reason: "forbidden: refused before acting" },
  404: { outcome: "not-done", retryable: false, reason: "not found: nothing to act on" },
  409: {
    outcome: "not-done",
    retryable: false,
    reason: "conflict (sold out, past a deadline): a definite no",
  },
  422: { outcome: "not-done", retryable: false, reason: "unprocessable: refused before acting" },
  429: { outcome: "not-done", retryable: true, reason: "throttled: the request was not processed" },
  500: { outcome: "in-doubt", retryable: false, reason: "internal error: it may have failed after acting" },
  502: { outcome: "in-doubt", retryable: false, reason: "bad gateway: the upstream may have acted" },
  504: { outcome: "in-doubt", retryable: false, reason: "gateway timeout: the upstream may still act" },
};

export function classifyStatus(
  status: number,
  contract: ProviderContract = PROVIDER_CONTRACT,
): Classification {
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
  if (status >= 400 && status < 500) {
    return { outcome: "not-done", retryable: false, reason: "4xx: the provider refused the request as sent" };
  }
  if (status >= 300 && status < 400) {
    return {
      outcome: "in-doubt",
      retryable: false,
      reason: `${status}: a redirect, never followed: the provider may have acted before redirecting`,
    };
  }
  return { outcome: "in-doubt", retryable: false, reason: `${status}: nothing says nothing happened` };
}

/**
 * Network errors, by code. Only errors raised before the request left this process prove nothing happened.
 * Node's fetch reports them as `TypeError: fetch failed` with the system error as `cause`.
 */
export const NETWORK_NOT_SENT: ReadonlySet<string> = new Set([
  "ECONNREFUSED", // nobody listened: the connection was never made
  "ENOTFOUND", // DNS: the host name did not resolve, nothing was sent
  "EAI_AGAIN", // DNS, temporarily: nothing was sent
  "UND_ERR_CONNECT_TIMEOUT", // the TCP connection was never established
]);

export function classifyNetworkError(error: unknown): Classification {
  const code = networkErrorCode(error);
  if (code !== undefined && NETWORK_NOT_SENT.has(code)) {
    return { outcome: "not-done", retryable: true, reason: `${code}: the request was never sent` };
  }
  const name = (error as Error | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { outcome: "in-doubt", retryable: false, reason: "timed out: the provider may have acted" };
  }
  // ECONNRESET, socket hang up, UND_ERR_SOCKET and anything unknown: the request may have arrived.
  return {
    outcome: "in-doubt",
    retryable: false,
    reason: `${code ?? "connection lost"}: the request may have arrived`,
  };
}

function networkErrorCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined; current;) {
    if (typeof current.code === "string") return current.code;
    current = current.cause as typeof current | undefined;
  }
  return undefined;
}

/**
 * What one call through src/http-call.ts means, for each fact it reports (`answered` is done, and never comes
 * here). The connection never made is the only failure without a status that proves nothing was sent.
 */
export function classifyHttpResult(
  result: Exclude<HttpResult<unknown>, { kind: "answered" }>,
  contract: ProviderContract = PROVIDER_CONTRACT,
): Classification {
  switch (result.kind) {
    case "status": {
      const classification = classifyStatus(result.status, contract);
      // Only a 2xx is done, and a 2xx is never a "status" fact: whatever else says "done" is not believed.
      return classification.outcome === "done" ? MALFORMED_ANSWER : classification;
    }
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

/** The message of the error a failed call becomes: the call, what came back, and an excerpt (already made safe). */
export function describeHttpResult(result: Exclude<HttpResult<unknown>, { kind: "answered" }>): string {
  switch (result.kind) {
    case "status":
      return `${result.call} answered ${result.status}: ${result.excerpt}`;
    case "malformed":
      return `${result.call} answered ${result.status} with a malformed body: ${result.excerpt}`;
    default:
      return `${result.call} failed (${classifyHttpResult(result).reason}): ${result.excerpt}`;
  }
}

/** A 2xx whose body is not what the provider promised: it acted, or not, and we cannot tell what it did. */
export const MALFORMED_ANSWER: Classification = {
  outcome: "in-doubt",
  retryable: false,
  reason: "2xx with a malformed body: it may have acted, and we cannot read what it did",
};

/** Not done, and the same request may succeed later (429, 503 with no action, connection refused). */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
  readonly outcome: CallOutcome = "not-done";
  constructor(
    message = "Provider unavailable",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Not done, for good: the provider said no (sold out, card declined, past the cancellation deadline). */
export class ProviderRejectedError extends Error {
  override readonly name = "ProviderRejectedError";
  readonly outcome: CallOutcome = "not-done";
  constructor(
    message = "Provider rejected the request",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * In doubt: the provider may have acted (timeout, reset, 500/502/504, malformed 2xx). Never treated as not done:
 * repeated with the same key where the provider honours keys, looked up by key, or compensated by key.
 */
export class OutcomeInDoubtError extends Error {
  override readonly name = "OutcomeInDoubtError";
  readonly outcome: CallOutcome = "in-doubt";
  constructor(
    message = "Outcome in doubt",
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * In doubt, and not to be retried: a refusal that came on a retry. The earlier attempt under the same key failed
 * with an outage or an outcome in doubt, and may have acted (our own first attempt took the last room, and the
 * retry is told "sold out" or "key in use"). The refusal speaks only for the attempt that got it, so the
 * compensation stays and settles it by key; retrying again would only be refused again.
 */
export class RefusedAfterRetryError extends Error {
  override readonly name = "RefusedAfterRetryError";
  readonly outcome: CallOutcome = "in-doubt";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A keyed call made in a step that may retry it (`step` is the step's context): a refusal is definite only on the
 * step's first attempt. On a later one it becomes RefusedAfterRetryError (in doubt): an earlier attempt may have acted.
 */
export async function refusalFinalOnlyOnFirstAttempt<T>(
  step: { attempt: number },
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (thrown) {
    // A secret the call needs could not be read for a while (Secrets Manager throttled, unreachable): nothing was
    // sent on this attempt. Retried, the step could end after several such attempts with an outage that says
    // nothing about the earlier ones (in doubt), though none was ever sent. So it ends the step here, as a setting
    // error: on the first attempt every attempt sent nothing (not done); on a retry an earlier attempt was sent.
    const error =
      thrown instanceof SecretsUnavailableError
        ? new SecretSettingError(thrown.message, thrown.setting, true)
        : thrown;
    if (error instanceof ProviderRejectedError && step.attempt > 1) {
      throw new RefusedAfterRetryError(
        `refused on attempt ${step.attempt}, after an attempt that may have acted: ${error.message}`,
        error.status,
      );
    }
    if (isSettingError(error) && step.attempt > 1) {
      // Nothing was sent on this attempt, but an earlier one was, and may have acted.
      throw new RefusedAfterRetryError(
        `${(error as Error).name} on attempt ${step.attempt}, after an attempt that may have acted: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

/**
 * A secret setting that Secrets Manager could not give for a while (throttled, internal error, network, timeout):
 * nothing was sent, and the same call may succeed later, so the strategies that retry outages retry it (the
 * compensations, the up-front `check-settings` step). A forward call ends its step on it instead (see
 * `refusalFinalOnlyOnFirstAttempt`).
 */
export class SecretsUnavailableError extends ProviderUnavailableError {
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/**
 * A setting that cannot be used (a secret missing, unreadable or set in plain env; a base URL that is not one, or
 * carries credentials), thrown before the request is sent: not done, and not retried (no strategy lists them).
 */
const SETTING_ERRORS: ReadonlySet<string> = new Set(["SecretSettingError", "HttpSettingError"]);

function isSettingError(error: unknown): boolean {
  return error instanceof Error && SETTING_ERRORS.has(error.name);
}

/** The name a failed step's error had: on `cause` after the checkpoint, on the error itself before. */
function failedName(error: unknown): string | undefined {
  const cause = (error as Error | undefined)?.cause;
  return cause instanceof Error ? cause.name : (error as Error | undefined)?.name;
}

/** The error a classified failure becomes, so retry strategies can filter on its class. */
export function errorFor(classification: Classification, message: string, status?: number): Error {
  if (classification.outcome === "in-doubt") return new OutcomeInDoubtError(message, status);
  if (classification.retryable) return new ProviderUnavailableError(message, status);
  return new ProviderRejectedError(message, status);
}

/**
 * The outcome of a step that failed after its retries. A failed step's error class does not survive the
 * checkpoint; its name does, on `cause`. Only a definite refusal is not done: the provider looked at the
 * idempotency key and said no, on the step's first attempt (a refusal on a retry is RefusedAfterRetryError, in
 * doubt: see `refusalFinalOnlyOnFirstAttempt`), or a setting that could not be used before the first attempt
 * sent anything (a secret missing or unreadable, a base URL that cannot be used). An outage on the last attempt
 * says nothing about the earlier attempts (one of them may have timed out after acting), so it is in doubt, and so
 * is everything unknown, a crash included.
 */
export function outcomeOfFailedStep(error: unknown): CallOutcome {
  const name = failedName(error);
  return name === "ProviderRejectedError" || (name !== undefined && SETTING_ERRORS.has(name))
    ? "not-done"
    : "in-doubt";
}

/**
 * The outcome of the charge step after its retries. Its strategy retries only outages (every retried attempt
 * was not done), so an outage as the final error means no attempt charged; a decline is not done, and so is a
 * setting that could not be used (the token's secret missing or unreadable: nothing was sent); anything
 * else (timeout, reset, 500/502/504, malformed answer, StepInterruptedError after a crash mid-charge) is in
 * doubt and goes to the look-up by key.
 */
export function outcomeOfFailedCharge(error: unknown): CallOutcome {
  const name = failedName(error);
  return name === "ProviderRejectedError" ||
    name === "ProviderUnavailableError" ||
    (name !== undefined && SETTING_ERRORS.has(name))
    ? "not-done"
    : "in-doubt";
}
