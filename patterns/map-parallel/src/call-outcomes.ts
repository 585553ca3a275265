import { createRetryStrategy, type Duration, type RetryDecision } from "@aws/durable-execution-sdk-js";
import { AnswerRejectedError, IssuedWithOtherContentError } from "./answers";
import { HttpSettingError } from "./http-call";
import { SecretSettingError } from "./secret-setting";

/**
 * What a failed call to a provider means: done, not done, or in doubt. The deps report facts (the status the
 * provider answered, that no answer came, that the answer could not be read); this module decides what those
 * facts mean for each call of this pattern, and so whether the call may be repeated.
 *
 * Two kinds of call, and they differ only where something could have happened:
 *
 * - a read (`GET` customers, accounts, vat, rates): it changes nothing, so any failure means "not done" and
 *   repeating it is harmless. Outages are retried; refusals (4xx) and answers we cannot accept are not.
 * - a send (`POST invoices`: the provider emails the invoice): a failure is "not done" only when the provider's
 *   contract says so; everything else is "in doubt", because the email may have gone out. The provider honours
 *   the `Idempotency-Key` header (same key: the first result, no second email), so an in-doubt send is
 *   settled by sending again with the same key: the retry pass does, after the cool-down. If your provider
 *   does not honour keys, never send "in doubt" again: look the send up by its key, or hand it to a person.
 *
 * A third outcome is particular to a send repeating a key: "issued before". The provider answered with the
 * receipt of an earlier send under the same key, for other content (a rerun of the batch after the amount,
 * the legal name or the billing address changed). By the provider's contract nothing was sent now; the
 * customer has the earlier invoice. It is never resent, neither by the retry pass nor under a new key.
 *
 * The S3 `PutObject` of a document is left to the AWS SDK's own retries: writing the same body under the same
 * key twice is harmless, so "in doubt" costs nothing there.
 */
export type Outcome = "not-done" | "in-doubt" | "issued-before";

export interface Verdict {
  outcome: Outcome;
  /**
   * Whether the step tries again at once (seconds later). Only for "not done": a send in doubt is not retried
   * within its step, so that the verdict its step ends with is true of every attempt (an attempt that timed out
   * after sending, then two 503s, must not end as "not sent"). The retry pass settles it after the cool-down,
   * sending again with the same idempotency key, which the provider honours.
   */
  retry: boolean;
  reason: string;
}

/** The provider answered, with a status that is not 2xx. */
export class ProviderHttpError extends Error {
  override readonly name = "ProviderHttpError";
  constructor(
    readonly status: number,
    message = `answered ${status}`,
  ) {
    super(message);
  }
}

/**
 * No answer came. `connect`: the connection was never made (DNS, refused), so the request never left.
 * `timeout` and `reset`: the request may have arrived and been acted on; only its answer is missing.
 */
export class ProviderUnreachableError extends Error {
  override readonly name = "ProviderUnreachableError";
  constructor(
    readonly phase: "connect" | "timeout" | "reset",
    message = `no answer (${phase})`,
  ) {
    super(message);
  }
}

/** The call could not even be made: no URL, no bucket. Nothing left the process; retrying cannot help. */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
  constructor(message = "not configured") {
    super(message);
  }
}

/**
 * The invoicing provider's contract for `POST invoices`, status by status. Kept as data so that the README's
 * table and the tests read the same rules. A status not listed: 4xx is a refusal, 5xx is in doubt.
 */
export const SEND_STATUS_RULES: Record<number, Verdict> = {
  400: {
    outcome: "not-done",
    retry: false,
    reason: "the request was refused as malformed: nothing was sent",
  },
  401: { outcome: "not-done", retry: false, reason: "not authenticated: refused before any processing" },
  403: { outcome: "not-done", retry: false, reason: "not authorised: refused before any processing" },
  404: { outcome: "not-done", retry: false, reason: "no such endpoint: nothing was sent" },
  409: {
    outcome: "in-doubt",
    retry: false,
    reason: "a request with the same key is still being processed: it may send; ask again with the same key",
  },
  413: { outcome: "not-done", retry: false, reason: "the request was too large: refused, nothing was sent" },
  422: {
    outcome: "not-done",
    retry: false,
    reason: "the invoice was refused (validation): nothing was sent",
  },
  429: {
    outcome: "not-done",
    retry: true,
    reason: "throttled before processing, by contract",
  },
  500: {
    outcome: "in-doubt",
    retry: false,
    reason: "the provider failed while processing: it may have sent",
  },
  502: { outcome: "in-doubt", retry: false, reason: "a gateway lost the answer: the provider may have sent" },
  503: {
    outcome: "not-done",
    retry: true,
    reason: "refused before processing, by contract",
  },
  504: { outcome: "in-doubt", retry: false, reason: "a gateway timed out: the provider may have sent" },
};

/**
 * A setting that stopped the call before it was made: a configuration error, a base URL httpCall refused, or a
 * secret that could not be read (src/secret-setting.ts). Nothing left the process, so it is "not done", for a
 * send as for a read; retried only when Secrets Manager itself failed for a while (throttled, internal error).
 */
function settingVerdict(error: unknown): Verdict | undefined {
  if (error instanceof ConfigurationError || error instanceof HttpSettingError) {
    return { outcome: "not-done", retry: false, reason: "not configured: the request never left" };
  }
  if (error instanceof SecretSettingError) {
    return error.retryable
      ? {
          outcome: "not-done",
          retry: true,
          reason: "the secret could not be read for now: the request never left",
        }
      : {
          outcome: "not-done",
          retry: false,
          reason: `${error.setting} cannot be used: the request never left; fix the secret, then run again`,
        };
  }
  return undefined;
}

/** What a failed `POST invoices` means. Anything not recognised is in doubt: it may have sent. */
export function classifySend(error: unknown): Verdict {
  const setting = settingVerdict(error);
  if (setting) return setting;
  if (error instanceof ProviderHttpError) {
    const rule = SEND_STATUS_RULES[error.status];
    if (rule) return rule;
    if (error.status >= 300 && error.status < 400) {
      return {
        outcome: "not-done",
        retry: false,
        reason: `a redirect (${error.status}), not followed: nothing was sent`,
      };
    }
    return error.status >= 400 && error.status < 500
      ? { outcome: "not-done", retry: false, reason: `refused (${error.status}): nothing was sent` }
      : { outcome: "in-doubt", retry: false, reason: `unexpected status ${error.status}: it may have sent` };
  }
  if (error instanceof ProviderUnreachableError) {
    return error.phase === "connect"
      ? { outcome: "not-done", retry: true, reason: "the connection was never made: nothing was sent" }
      : { outcome: "in-doubt", retry: false, reason: `no answer (${error.phase}): it may have sent` };
  }
  if (error instanceof IssuedWithOtherContentError) {
    return {
      outcome: "issued-before",
      retry: false,
      reason:
        "this key was used before for other content: the customer has that earlier invoice, nothing new was " +
        "sent; correct it with a credit note and a new invoice id, never by resending",
    };
  }
  if (error instanceof AnswerRejectedError) {
    return {
      outcome: "in-doubt",
      retry: false,
      reason: "the provider said yes in a form we cannot read: it may have sent; ask again with the same key",
    };
  }
  return {
    outcome: "in-doubt",
    retry: false,
    reason: "an unexpected error from the sender: it may have sent",
  };
}

/** What a failed read means: never done (a read changes nothing), retried only when it may work next time. */
export function classifyRead(error: unknown): Verdict {
  const setting = settingVerdict(error);
  if (setting) return setting;
  if (error instanceof ProviderHttpError) {
    return error.status === 429 || error.status >= 500
      ? { outcome: "not-done", retry: true, reason: `an outage (${error.status}): a read may be repeated` }
      : { outcome: "not-done", retry: false, reason: `refused (${error.status}): asking again cannot help` };
    // (3xx lands here too: the real deps do not follow redirects.)
  }
  if (error instanceof ProviderUnreachableError) {
    return { outcome: "not-done", retry: true, reason: `no answer (${error.phase}): a read may be repeated` };
  }
  if (error instanceof AnswerRejectedError) {
    return {
      outcome: "not-done",
      retry: false,
      reason: "an answer we cannot accept: the same provider would give it again",
    };
  }
  return { outcome: "not-done", retry: false, reason: "an unexpected error: not retried" };
}

/**
 * A delivery that did not end in a confirmed send. The SDK keeps only an error's message across a checkpoint
 * (a map item's error comes back as a ChildContextError with the original message, whatever its class), so
 * the verdict is written at the start of the message, where `deliveryOutcomeOf` and `worthAnotherPass` read it
 * back, on the first run and after a replay alike.
 */
export class DeliveryFailedError extends Error {
  override readonly name = "DeliveryFailedError";
  constructor(
    readonly verdict: Verdict,
    detail: string,
  ) {
    super(`${markerOf(verdict)} ${detail} (${verdict.reason})`);
  }
}

const IN_DOUBT = "[in doubt]";
const REFUSED = "[refused]";
const NOT_SENT = "[not sent]";
const ISSUED_BEFORE = "[issued before]";
function markerOf(verdict: Verdict): string {
  if (verdict.outcome === "in-doubt") return IN_DOUBT;
  if (verdict.outcome === "issued-before") return ISSUED_BEFORE;
  return verdict.retry ? NOT_SENT : REFUSED;
}

/** The error a delivery attempt throws: the facts of the failure, with the verdict in front. */
export function deliveryFailure(error: unknown): DeliveryFailedError {
  if (error instanceof DeliveryFailedError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new DeliveryFailedError(classifySend(error), bounded(detail));
}

/**
 * Read back from a failed invoice's (checkpointed) error message: was it possibly sent? A message without a
 * marker comes from before the delivery (rendering, storing the document): nothing was sent.
 */
export function deliveryOutcomeOf(message: string): Outcome {
  if (message.startsWith(IN_DOUBT)) return "in-doubt";
  return message.startsWith(ISSUED_BEFORE) ? "issued-before" : "not-done";
}

/**
 * The error of an invoice still in flight when an early completion stopped its pass (its item is STARTED in
 * the checkpointed result): its send may have reached the provider, even after the run returned. In doubt.
 */
export function inFlightWhenStopped(idempotencyKey: string): string {
  return (
    `${IN_DOUBT} still in flight when the pass stopped early: the provider may have emailed it, even after ` +
    `the run returned; send it again only with its key ${idempotencyKey}, or look it up by that key`
  );
}

/**
 * The error of invoices the provider answered with one and the same message id: at most one email stands
 * behind it, and which one is unknown. All of them are in doubt.
 */
export function sharedMessageId(messageId: string, invoiceIds: string[], batchId: string): string {
  return (
    `${IN_DOUBT} the provider answered ${invoiceIds.join(", ")} with the same message id ` +
    `${JSON.stringify(messageId)}: it may have emailed only one of them; look each up by its key ` +
    `(${batchId}:<invoiceId>) before sending anything again`
  );
}

/**
 * Whether the retry pass should send a failed invoice again: an outage may have cleared, and an in-doubt send
 * is settled by repeating its key. A refusal (400, 422, 401...) would only be refused again: it is reported.
 */
export function worthAnotherPass(message: string): boolean {
  return !message.startsWith(REFUSED) && !message.startsWith(ISSUED_BEFORE);
}

/**
 * The invoices not confirmed sent, from their failures in both passes (in pass order): in doubt if any of an
 * invoice's failures was in doubt (a later "not sent" says only that the later attempt sent nothing), issued
 * before if the provider said so, failed otherwise. Each keeps the message that decided it.
 */
export function unsentInvoices(failures: Array<{ invoiceId: string; error: string }>) {
  const rank: Record<Outcome, number> = { "not-done": 0, "issued-before": 1, "in-doubt": 2 };
  const verdicts = new Map<string, { invoiceId: string; error: string; outcome: Outcome }>();
  for (const { invoiceId, error } of failures) {
    const outcome = deliveryOutcomeOf(error);
    const earlier = verdicts.get(invoiceId);
    if (earlier && rank[earlier.outcome] > rank[outcome]) continue;
    verdicts.set(invoiceId, { invoiceId, error, outcome });
  }
  const listed = (outcome: Outcome) =>
    [...verdicts.values()]
      .filter((verdict) => verdict.outcome === outcome)
      .map(({ invoiceId, error }) => ({ invoiceId, error }));
  return { failed: listed("not-done"), inDoubt: listed("in-doubt"), issuedBefore: listed("issued-before") };
}

/** Retries of a delivery within its step: "not done" outages only (a 429, a 503, no connection). */
export function deliveryRetry(maxAttempts: number, initialDelay: Duration) {
  const backoff = createRetryStrategy({ maxAttempts, initialDelay, maxDelay: { minutes: 1 } });
  return (error: Error, attemptsMade: number): RetryDecision =>
    error instanceof DeliveryFailedError && error.verdict.retry
      ? backoff(error, attemptsMade)
      : { shouldRetry: false };
}

/** Retries for a read: outages only, three attempts, one second apart at first. */
export function readRetry(maxAttempts = 3, initialDelay: Duration = { seconds: 1 }) {
  const backoff = createRetryStrategy({ maxAttempts, initialDelay });
  return (error: Error, attemptsMade: number): RetryDecision =>
    classifyRead(error).retry ? backoff(error, attemptsMade) : { shouldRetry: false };
}

/** Error messages end up in checkpoints and in the result: a provider's 1 MB error page must not. */
export function bounded(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}
