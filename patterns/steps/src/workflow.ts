import {
  createClassSerdesWithDates,
  createRetryStrategy,
  JitterStrategy,
  StepInterruptedError,
  StepSemantics,
  type DurableContext,
  type Duration,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import { ClientError, Reservation, TransientServiceError, type OrderDeps } from "./deps";
import { orderTotalCents, parseOrder } from "./input";

export interface WorkflowConfig {
  /** How long after shipping to ask for a review. Tests shorten it to run on real timers. */
  reviewRequestDelay: Duration;
}

export const defaultConfig: WorkflowConfig = { reviewRequestDelay: { days: 3 } };

export interface FulfilmentResult {
  orderId: string;
  status: "FULFILLED";
  amountCents: number;
  currency: string;
  reservationId: string;
  reservedUntil: string;
  chargeId: string;
  carrier: string;
  trackingNumber: string;
}

/**
 * Order fulfilment: reserve stock, charge, ship, and ask for a review three days later.
 *
 * The handler body re-runs from the top on every invocation (replay). Completed steps return their
 * checkpointed result instead of running again, so everything that talks to the outside world or reads
 * a clock is inside a step, and everything outside steps is deterministic.
 */
export async function fulfilOrder(
  event: unknown,
  context: DurableContext,
  deps: OrderDeps,
  config: WorkflowConfig = defaultConfig,
): Promise<FulfilmentResult> {
  // Pure and deterministic: bad input fails here, before any side effect, and is never retried.
  const order = parseOrder(event);
  const amountCents = orderTotalCents(order);
  // Idempotency keys come from the business key, never from a random UUID made outside a step:
  // a replay or a retry must send the same key so the service can recognise the repeat.
  const key = (action: string) => idempotencyKey(order.orderId, action);
  // context.logger knows about replay: this line is logged once, not once per invocation.
  context.logger.info("Fulfilling order", { orderId: order.orderId, amountCents });

  // At-least-once (the default): if this attempt fails transiently it runs again with the same key.
  // The class serdes brings the Reservation back as a class with a real Date on every replay.
  const reservation = await context.step(
    "reserve-stock",
    () =>
      deps.inventory.reserve({ orderId: order.orderId, items: order.items, idempotencyKey: key("reserve") }),
    { retryStrategy: retryTransientFaults, serdes: reservationSerdes },
  );

  // At-most-once per retry: the SDK checkpoints the start of each attempt before running it. If the
  // function dies mid-charge, the replay finds the attempt started but unfinished and asks the retry
  // strategy what to do with a StepInterruptedError, instead of silently charging again.
  const { chargeId } = await context.step(
    "charge-payment",
    async () => {
      // Reading the clock is fine here: this runs once per attempt and its outcome is checkpointed.
      if (reservation.isExpiredAt(new Date())) {
        throw new ClientError(`Reservation ${reservation.reservationId} expired before payment`, 410);
      }
      return deps.payments.charge({
        orderId: order.orderId,
        customerId: order.customer.id,
        amountCents,
        currency: order.currency,
        idempotencyKey: key("charge"),
      });
    },
    { semantics: StepSemantics.AtMostOncePerRetry, retryStrategy: chargeRetryStrategy },
  );

  // A step cannot contain durable operations, so two steps that belong together go in a child context.
  // It is checkpointed as one unit: on replay its result comes back without re-entering the function.
  const shipment = await context.runInChildContext("ship-order", async (shipping) => {
    const label = await shipping.step(
      "create-shipment",
      () =>
        deps.shipping.createShipment({
          orderId: order.orderId,
          reservationId: reservation.reservationId,
          shipTo: order.shipTo,
          idempotencyKey: key("ship"),
        }),
      { retryStrategy: retryUnlessClientError },
    );
    await shipping.step(
      "email-tracking-number",
      () =>
        deps.notifier.send({
          to: order.customer.email,
          template: "order-shipped",
          data: { orderId: order.orderId, carrier: label.carrier, trackingNumber: label.trackingNumber },
          idempotencyKey: key("email-tracking"),
        }),
      { retryStrategy: retryTransientFaults },
    );
    return label;
  });

  // Three days pass at no compute cost: the function returns, and Lambda re-invokes it when the timer
  // fires. Everything above is replayed from checkpoints in that later invocation.
  await context.wait("wait-before-review-request", config.reviewRequestDelay);

  await context.step(
    "request-review",
    () =>
      deps.notifier.send({
        to: order.customer.email,
        template: "review-request",
        data: { orderId: order.orderId },
        idempotencyKey: key("review-request"),
      }),
    { retryStrategy: retryTransientFaults },
  );

  return {
    orderId: order.orderId,
    status: "FULFILLED",
    amountCents,
    currency: order.currency,
    reservationId: reservation.reservationId,
    // Runs after the replay, on the reservation rebuilt by its serdes: a Date again, not a string.
    reservedUntil: reservation.expiresAt.toISOString(),
    chargeId,
    carrier: shipment.carrier,
    trackingNumber: shipment.trackingNumber,
  };
}

export function idempotencyKey(orderId: string, action: string): string {
  return `${orderId}:${action}`;
}

export const reservationSerdes = createClassSerdesWithDates(Reservation, ["expiresAt"]);

/** Exponential backoff (2 s, 4 s, 8 s, capped at 1 min) with full jitter, for transient faults only. */
export const retryTransientFaults = createRetryStrategy({
  maxAttempts: 4,
  initialDelay: { seconds: 2 },
  maxDelay: { minutes: 1 },
  backoffRate: 2,
  jitter: JitterStrategy.FULL,
  retryableErrorTypes: [TransientServiceError],
});

/**
 * The charge retries a transient fault (the provider answered that it did nothing), but never an
 * interrupted attempt: its outcome is unknown, and a gap that a person reconciles with the idempotency
 * key is better than charging a customer twice.
 */
export function chargeRetryStrategy(error: Error, attemptsMade: number): RetryDecision {
  if (error instanceof StepInterruptedError) return { shouldRetry: false };
  return retryTransientFaults(error, attemptsMade);
}

/** A hand-written decision: a 4xx never improves with time; anything else gets 5 attempts, 2^n seconds apart. */
export function retryUnlessClientError(error: Error, attemptsMade: number): RetryDecision {
  if (error instanceof ClientError || attemptsMade >= 5) return { shouldRetry: false };
  return { shouldRetry: true, delay: { seconds: Math.min(60, 2 ** attemptsMade) } };
}
