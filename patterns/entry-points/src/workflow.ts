import { CallbackTimeoutError, type DurableContext, type Duration } from "@aws/durable-execution-sdk-js";
import { paymentAccepted, paymentRecord, shipment, voidAnswer } from "./answers";
import type { CheckoutDeps } from "./deps";
import { HttpSettingError, safeExcerpt } from "./http-call";
import { parseCheckoutOrder, paymentEventSerdes, type CheckoutOrder } from "./input";
import {
  isSettingProblem,
  PaymentDeclinedError,
  retryPaymentRequest,
  retrySettlement,
  retryTransient,
  settlementOfRecord,
  verdictOfWebhook,
  type PaymentRequestOutcome,
  type Settlement,
  type WebhookVerdict,
} from "./payment-outcome";
import { SecretSettingError } from "./secret-setting";

export interface WorkflowConfig {
  /** How long to wait for the provider's webhook before asking the provider directly. */
  paymentTimeout: Duration;
}

/** While it waits for the webhook, the function is suspended: no invocation runs, nothing is billed. */
export const defaultConfig: WorkflowConfig = { paymentTimeout: { minutes: 30 } };

type PaidVia = Extract<Settlement, { kind: "paid" }>["via"];

/** The payment was taken but the goods could not be shipped: a person must ship or refund. */
export class PaidNotShippedError extends Error {
  override readonly name = "PaidNotShippedError";
}
/** The payment could be neither confirmed nor voided: it may still be captured. A person must settle it. */
export class PaymentUnsettledError extends Error {
  override readonly name = "PaymentUnsettledError";
}

/** Nothing was charged or shipped, but the order store refused the cancellation: a person must cancel it. */
export class OrderNotCancelledError extends Error {
  override readonly name = "OrderNotCancelledError";
}

export type CheckoutOutcome =
  | { orderId: string; status: "FULFILLED"; paymentId: string; shipmentId: string; confirmedBy: PaidVia }
  | { orderId: string; status: "CANCELLED"; reason: string };

/**
 * A checkout: ask the payment provider for a payment, wait for its signed webhook (the front door verifies it
 * and completes this callback), then ship or cancel. A webhook that never comes, or does not match, is settled
 * with the provider by the payment's idempotency key; it is never guessed.
 *
 * The handler re-runs from the top on every invocation (replay): completed operations return their
 * checkpointed results, so every side effect is inside a step and everything outside steps is deterministic.
 */
export async function handleCheckout(
  event: unknown,
  context: DurableContext,
  dependencies: CheckoutDeps,
  config: WorkflowConfig = defaultConfig,
): Promise<CheckoutOutcome> {
  // Pure: bad input fails here, before any side effect, and is never retried.
  const order = parseCheckoutOrder(event);
  const deps = withBoundedErrors(dependencies);
  const key = (action: string) => `${order.orderId}:${action}`;

  // The callback comes first: its timeout clock starts now, and its id must be registered before the provider
  // can possibly send a webhook. createCallback (not waitForCallback) because the workflow needs the payment
  // request's checkpointed result (the payment id) to check the webhook against.
  const [webhook, callbackId] = await context.createCallback("payment-webhook", {
    timeout: config.paymentTimeout,
    serdes: paymentEventSerdes,
  });
  // The mapping order id -> callback id, written in a step: the provider only ever learns our order id.
  await context.step(
    "register-payment-callback",
    () => deps.callbacks.register({ orderId: order.orderId, callbackId }),
    { retryStrategy: retryTransient },
  );

  // A declined card is a value (not retried); throttling and in-doubt failures are retried with the same key,
  // which the provider honours, so a retry can only find the first payment, never make a second one.
  const request = await context
    .step<PaymentRequestOutcome>(
      "request-payment",
      async ({ attempt }) => {
        try {
          const answer = await deps.payments.requestPayment({
            orderId: order.orderId,
            amountCents: order.amountCents,
            currency: order.currency,
            idempotencyKey: key("payment"),
          });
          return { kind: "accepted", paymentId: paymentAccepted(answer).paymentId };
        } catch (error) {
          // The reason is the provider's text, and reaches the customer: bounded, one line (a custom dependency
          // may put anything there).
          if (error instanceof PaymentDeclinedError)
            return { kind: "declined", reason: safeExcerpt(error.reason, undefined, 200) };
          // A setting that cannot be used (a secret unreadable, a URL unset) stops the call before it is sent.
          // On the first attempt nothing was ever sent: the payment was not requested, not done. On a later one
          // an earlier attempt may have reached the provider: the step fails, and it is settled by key below.
          if (isSettingProblem(error) && attempt === 1) {
            return {
              kind: "not-requested",
              error: error.name,
              ...(error instanceof SecretSettingError ? { setting: error.setting } : {}),
              problem: error.message,
            };
          }
          throw error;
        }
      },
      { retryStrategy: retryPaymentRequest },
    )
    // The retries ran out with the outcome still unknown: in doubt, settled below, never taken as not done.
    // The error's text (hosts, addresses) goes to the log only: the reason may reach the customer.
    .catch((error: unknown) => {
      context.logger.warn("The payment request got no clear answer", {
        orderId: order.orderId,
        error: messageOf(error),
      });
      return { kind: "in-doubt" as const, why: "the payment request got no clear answer" };
    });
  // Nothing was sent, nothing was charged: the checkout fails with the setting to fix, and nothing to settle.
  if (request.kind === "not-requested") throw notRequested(order, request);

  let verdict: WebhookVerdict;
  if (request.kind === "declined")
    verdict = { kind: "not-paid", reason: `payment declined: ${request.reason}` };
  else if (request.kind === "in-doubt") verdict = request;
  else verdict = await webhookVerdict(webhook, request.paymentId, order);

  // The payment id the provider gave for this key, when it gave one: its record by key must be that payment.
  const requested = request.kind === "accepted" ? request.paymentId : undefined;
  const settlement =
    verdict.kind === "in-doubt"
      ? await settleWithProvider(context, deps, order, verdict.why, requested)
      : verdict;

  if (settlement.kind === "paid") {
    const { shipmentId } = await context
      .step(
        "fulfil-order",
        async () =>
          shipment(
            await deps.warehouse.ship({
              orderId: order.orderId,
              items: order.items,
              idempotencyKey: key("ship"),
            }),
          ),
        { retryStrategy: retryTransient },
      )
      // Paid and not shipped is money without goods: never a silent failure.
      .catch((error: unknown) =>
        escalate(
          context,
          deps,
          order,
          new PaidNotShippedError(
            `Order ${order.orderId} is paid (${settlement.paymentId}) but could not be shipped ` +
              `(${messageOf(error)}); ship it or refund it by hand`,
          ),
        ),
      );
    return {
      orderId: order.orderId,
      status: "FULFILLED",
      paymentId: settlement.paymentId,
      shipmentId,
      confirmedBy: settlement.via,
    };
  }
  await context
    .step(
      "cancel-order",
      () =>
        deps.orders.cancel({
          orderId: order.orderId,
          reason: settlement.reason,
          idempotencyKey: key("cancel"),
        }),
      { retryStrategy: retryTransient },
    )
    // Not paid, not shipped, and the order still open: the customer is not told. A person finishes it.
    .catch((error: unknown) =>
      escalate(
        context,
        deps,
        order,
        new OrderNotCancelledError(
          `Order ${order.orderId} is not paid (${settlement.reason}) but could not be cancelled ` +
            `(${messageOf(error)}); cancel it by hand`,
        ),
      ),
    );
  return { orderId: order.orderId, status: "CANCELLED", reason: settlement.reason };
}

/**
 * A failure's text as it may go into an execution's error, an alert or a log line: bounded and on one line. The
 * HTTP dependencies already bound everything they quote; a custom dependency can throw anything.
 */
function messageOf(error: unknown): string {
  return safeExcerpt(error instanceof Error ? error.message : String(error));
}

/**
 * The dependencies, each error they throw made safe before a step checkpoints it: its message bounded and on one
 * line, its class kept (the retry strategies and the declined check read it). The HTTP dependencies' errors are
 * already so; a custom dependency's 1 MB stack dump or multi-line message is not, and a step's error is stored.
 */
function withBoundedErrors(deps: CheckoutDeps): CheckoutDeps {
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        throw bounded(error);
      }
    };
  return {
    payments: {
      requestPayment: guard((request) => deps.payments.requestPayment(request)),
      lookUpPayment: guard((request) => deps.payments.lookUpPayment(request)),
      voidPayment: guard((request) => deps.payments.voidPayment(request)),
    },
    callbacks: {
      register: guard((entry) => deps.callbacks.register(entry)),
      find: guard((orderId) => deps.callbacks.find(orderId)),
    },
    warehouse: { ship: guard((request) => deps.warehouse.ship(request)) },
    orders: { cancel: guard((request) => deps.orders.cancel(request)) },
    alerts: { raise: guard((alert) => deps.alerts.raise(alert)) },
  };
}

function bounded(error: unknown): Error {
  const safe = messageOf(error);
  if (!(error instanceof Error)) return new Error(safe);
  if (error.message === safe) return error;
  try {
    error.message = safe;
    return error;
  } catch {
    return Object.assign(new Error(safe), { name: error.name });
  }
}

/** The payment was never requested because a setting cannot be used: the error names it, and what to fix. */
function notRequested(
  order: CheckoutOrder,
  request: Extract<PaymentRequestOutcome, { kind: "not-requested" }>,
): Error {
  const message =
    `Order ${order.orderId}: the payment was not requested (nothing was sent to the provider, nothing ` +
    `charged or shipped): ${request.problem}`;
  return request.error === "SecretSettingError"
    ? new SecretSettingError(message, request.setting ?? "")
    : new HttpSettingError(message);
}

/**
 * Fails the execution with the problem, after telling operations. The alert is side work: best effort, its own
 * failure is logged and named in the execution's error, and never hides the problem itself.
 */
async function escalate(
  context: DurableContext,
  deps: CheckoutDeps,
  order: CheckoutOrder,
  problem: PaidNotShippedError | PaymentUnsettledError | OrderNotCancelledError,
): Promise<never> {
  const alerted = await context
    .step(
      "alert-operations",
      () =>
        deps.alerts.raise({
          orderId: order.orderId,
          kind: problem.name,
          problem: problem.message,
          idempotencyKey: `${order.orderId}:alert`,
        }),
      { retryStrategy: retryTransient },
    )
    .then(
      () => true,
      (error: unknown) => {
        context.logger.error("The alert to operations failed", {
          orderId: order.orderId,
          problem: problem.message,
          alertError: messageOf(error),
        });
        return false;
      },
    );
  if (alerted) throw problem;
  throw new (problem.constructor as typeof PaidNotShippedError)(
    `${problem.message} (the alert to operations failed too: look at this execution)`,
  );
}

/**
 * The callback resolves with the checked webhook event, or rejects with CallbackTimeoutError when no final
 * event arrived in time. Neither a timeout nor a mismatched event is a "no": both leave the payment in doubt.
 */
async function webhookVerdict(
  webhook: PromiseLike<Parameters<typeof verdictOfWebhook>[0]>,
  paymentId: string,
  order: CheckoutOrder,
): Promise<WebhookVerdict> {
  try {
    return verdictOfWebhook(await webhook, { paymentId, order });
  } catch (error) {
    if (error instanceof CallbackTimeoutError) return { kind: "in-doubt", why: "no webhook arrived in time" };
    throw error;
  }
}

/**
 * Settles a payment in doubt with the provider's own record, found by our idempotency key: paid or failed is
 * final; still open (or a request that may or may not have reached the provider) is voided by the same key,
 * which is harmless when no payment exists. A void that comes too late (already captured) means paid. A void
 * without a clear answer (none after its retries, a body that is no void outcome, "nothing to void" for a payment
 * the look-up just found) voids nothing we know of: the record by key, read again, settles it.
 *
 * The record is the truth about this key, but it must be about the payment the provider gave us for the key: a
 * record with another payment id is a conflict between two of the provider's answers, not a yes or a no. Nothing
 * ships or is cancelled; a person is told both ids and the key. A payment neither confirmed nor voided is told
 * the same way (PaymentUnsettledError, after the alert).
 */
async function settleWithProvider(
  context: DurableContext,
  deps: CheckoutDeps,
  order: CheckoutOrder,
  why: string,
  requested: string | undefined,
): Promise<Settlement> {
  context.logger.warn("Payment in doubt; asking the provider", { orderId: order.orderId, why });
  const idempotencyKey = `${order.orderId}:payment`;
  const unsettled = (problem: string) =>
    escalate(
      context,
      deps,
      order,
      new PaymentUnsettledError(
        `Order ${order.orderId}: the payment could be neither confirmed nor voided (${problem}); ` +
          `settle it with the provider by key ${idempotencyKey}, then ship or cancel by hand`,
      ),
    );
  const conflict = (ids: { first: string; firstFrom: string; record: string }) =>
    escalate(
      context,
      deps,
      order,
      new PaymentUnsettledError(
        `Order ${order.orderId}: the provider gave two payment ids for key ${idempotencyKey}: ${ids.first} ` +
          `(${ids.firstFrom}) and ${ids.record} (its record by key); nothing was shipped or cancelled: find out ` +
          `with the provider which one is this order's, then ship or cancel by hand, and void or refund the other`,
      ),
    );
  const lookUp = (name: "look-up-payment" | "look-up-after-void") =>
    context.step(name, async () => paymentRecord(await deps.payments.lookUpPayment({ idempotencyKey })), {
      retryStrategy: retrySettlement,
    });

  const record = await lookUp("look-up-payment").catch((error: unknown) => unsettled(messageOf(error)));
  if (record && requested !== undefined && record.paymentId !== requested)
    return conflict({
      first: requested,
      firstFrom: "when the payment was requested",
      record: record.paymentId,
    });
  const settled = settlementOfRecord(record);
  if (settled.kind !== "open") return settled;

  const voided = await context
    .step("void-payment", async () => voidAnswer(await deps.payments.voidPayment({ idempotencyKey })), {
      retryStrategy: retrySettlement,
    })
    .catch((error: unknown) => ({ status: "no clear answer" as const, error: messageOf(error) }));
  if (voided.status === "voided")
    return { kind: "not-paid", reason: `payment not confirmed (${why}); voided at the provider` };
  if (voided.status === "succeeded")
    return { kind: "paid", paymentId: settled.paymentId, via: "void-too-late" };

  // Not voided as far as we know: the record by key says what the payment is now.
  const voidProblem =
    "error" in voided
      ? `the void got no clear answer: ${voided.error}`
      : "the void found no payment for the key the look-up had just found open";
  const after = await lookUp("look-up-after-void").catch((error: unknown) =>
    unsettled(`${voidProblem}; the look-up after it: ${messageOf(error)}`),
  );
  if (after && after.paymentId !== settled.paymentId)
    return conflict({
      first: settled.paymentId,
      firstFrom: "its record by key before the void",
      record: after.paymentId,
    });
  const final = settlementOfRecord(after);
  if (final.kind === "open") return unsettled(`${voidProblem}; the provider still reports the payment open`);
  if (final.kind === "paid") return final;
  return {
    kind: "not-paid",
    reason: `payment not confirmed (${why}); the provider reports it ${after ? "failed" : "never made"} after a void`,
  };
}
