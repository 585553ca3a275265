import { createRetryStrategy } from "@aws/durable-execution-sdk-js";
import { HttpSettingError } from "./http-call";
import type { Checked, CheckoutOrder, PaymentEvent } from "./input";
import { SecretSettingError } from "./secret-setting";

/**
 * What a call to the payment provider can tell us, classified once, here, with the reasons.
 *
 * done       the provider accepted the payment request (a payment id, status pending) or reports it paid.
 * not done   a definite refusal (the card was declined: 402), or an answer proving nothing happened
 *            (429 throttled, 503 unavailable with no action taken).
 * in doubt   a timeout, a reset connection, any other 5xx: the provider may have created the payment.
 *
 * In doubt is never treated as not done. The provider honours idempotency keys, so retrying the request with
 * the same key settles it (a second request returns the first payment); when the retries run out, the
 * workflow looks the payment up by its key and voids it if it is still open.
 */

/** The provider refused the payment for good (card declined, 402): retrying the same request cannot help. */
export class PaymentDeclinedError extends Error {
  override readonly name = "PaymentDeclinedError";
  constructor(readonly reason = "declined") {
    super(`Payment declined: ${reason}`);
  }
}

/** The provider said nothing was done (429, 503): the same request, with the same key, may work later. */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
  constructor(
    message = "The payment provider is unavailable",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** We do not know whether the provider acted (timeout, reset, a 5xx that does not say nothing happened). */
export class PaymentInDoubtError extends Error {
  override readonly name = "PaymentInDoubtError";
  constructor(
    message = "The payment request's outcome is unknown",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Other services (the warehouse, the order store, the callback registry) briefly down: retried. */
export class TransientServiceError extends Error {
  override readonly name = "TransientServiceError";
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A service said no for good (4xx): our request is wrong, retrying it cannot help. */
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
 * What a failed call means, for every dependency, whoever wrote it: only a definite refusal (ClientError, a
 * 4xx) is final. Anything else, the classes above and any plain error a client throws (ETIMEDOUT, ECONNRESET,
 * "socket hang up", an AbortError), leaves the call in doubt: the service may have acted before the reply was
 * lost. In doubt is retried with the same idempotency key, which every service here honours, so a retry can
 * only find the first payment, shipment or cancellation, never make a second one.
 */
export const isDefiniteRefusal = (error: unknown): boolean => error instanceof ClientError;

/**
 * A setting that cannot be used: a base URL unset, not a URL or with credentials in it (HttpSettingError), a
 * secret setting missing, unreadable, still the placeholder or put in the plain environment (SecretSettingError).
 * Found before anything is sent, and the same on every attempt until a person fixes it: not retried. Secrets
 * Manager only throttled or briefly failing (`retryable`) is retried like any call that sent nothing.
 */
export const isSettingProblem = (error: unknown): error is HttpSettingError | SecretSettingError =>
  error instanceof HttpSettingError || (error instanceof SecretSettingError && !error.retryable);

function retryUnlessRefused(config: Parameters<typeof createRetryStrategy>[0]) {
  // No error filter given: the backoff retries whatever it is asked about; the refusal and setting checks come
  // first.
  const backoff = createRetryStrategy(config);
  return (error: Error, attemptsMade: number) =>
    isDefiniteRefusal(error) || isSettingProblem(error)
      ? { shouldRetry: false }
      : backoff(error, attemptsMade);
}

/** A declined card is returned as a value by the step, so it never reaches a retry. */
export const retryPaymentRequest = retryUnlessRefused({
  maxAttempts: 5,
  initialDelay: { seconds: 2 },
  maxDelay: { minutes: 1 },
});

/** Look-ups and voids are reads or idempotent by key: retried longer, a payment in doubt is worth waiting for. */
export const retrySettlement = retryUnlessRefused({
  maxAttempts: 6,
  initialDelay: { seconds: 5 },
  maxDelay: { minutes: 5 },
});

/** The registry, the warehouse, the order store and the alerts: each call carries its idempotency key. */
export const retryTransient = retryUnlessRefused({
  maxAttempts: 5,
  initialDelay: { seconds: 2 },
  maxDelay: { minutes: 1 },
});

/**
 * The checkpointed result of the request-payment step. "not-requested": a setting could not be used on the first
 * attempt, so no request ever left (not done); `problem` names the setting, never its value.
 */
export type PaymentRequestOutcome =
  | { kind: "accepted"; paymentId: string }
  | { kind: "declined"; reason: string }
  | {
      kind: "not-requested";
      error: "HttpSettingError" | "SecretSettingError";
      setting?: string;
      problem: string;
    };

/** How the payment ended, as the workflow acts on it. */
export type Settlement =
  | { kind: "paid"; paymentId: string; via: "webhook" | "look-up" | "void-too-late" }
  | { kind: "not-paid"; reason: string };

/** What the webhook told us, or that it leaves the payment in doubt. */
export type WebhookVerdict = Settlement | { kind: "in-doubt"; why: string };

/**
 * Answers are input: the event is checked against what the workflow knows (the payment it asked for, the
 * amount and currency of this order) before it can move money or goods. Anything that does not match is not a
 * yes: the workflow asks the provider directly instead.
 */
export function verdictOfWebhook(
  event: Checked<PaymentEvent>,
  expected: { paymentId: string; order: CheckoutOrder },
): WebhookVerdict {
  if (!event.valid)
    return { kind: "in-doubt", why: `the webhook event was malformed: ${event.problems.join("; ")}` };
  const { data, type } = event.value;
  const mismatches = [
    data.paymentId !== expected.paymentId && `payment ${data.paymentId} is not ${expected.paymentId}`,
    data.merchantReference !== expected.order.orderId &&
      `reference ${data.merchantReference} is not this order`,
    data.amountCents !== expected.order.amountCents &&
      `amount ${data.amountCents} is not ${expected.order.amountCents}`,
    data.currency !== expected.order.currency &&
      `currency ${data.currency} is not ${expected.order.currency}`,
  ].filter((problem): problem is string => typeof problem === "string");
  if (mismatches.length > 0)
    return { kind: "in-doubt", why: `the webhook event does not match: ${mismatches.join("; ")}` };
  if (type === "payment.succeeded") return { kind: "paid", paymentId: data.paymentId, via: "webhook" };
  if (type === "payment.failed")
    return { kind: "not-paid", reason: `payment failed: ${data.failureReason ?? "no reason given"}` };
  // The front door never forwards a non-final event; if one arrives anyway, it settles nothing.
  return { kind: "in-doubt", why: `the webhook event ${type} is not final` };
}

/** The provider's own record of the payment, looked up by our idempotency key. */
export type ProviderRecord = { status: "pending" | "succeeded" | "failed"; paymentId: string } | undefined;

/** After a look-up: paid, not paid, or still open (then the workflow voids it). */
export function settlementOfRecord(record: ProviderRecord): Settlement | { kind: "open"; paymentId: string } {
  if (record === undefined) return { kind: "not-paid", reason: "the provider has no payment for this order" };
  if (record.status === "succeeded") return { kind: "paid", paymentId: record.paymentId, via: "look-up" };
  if (record.status === "failed")
    return { kind: "not-paid", reason: "the provider reports the payment failed" };
  return { kind: "open", paymentId: record.paymentId };
}
