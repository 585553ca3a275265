import {
  createClassSerdesWithDates,
  StepSemantics,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { ChargeAnswer, FoundChargeReply, ReservationReply, ShipmentAnswer } from "./answers";
import { isSettingFailure, outcomeOfFailedStep } from "./call-outcome";
import { ClientError, OutcomeInDoubtError, Reservation, TransientServiceError, type OrderDeps } from "./deps";
import { executionKey, idempotencyKey } from "./idempotency-keys";
import { orderTotalCents, parseOrder } from "./input";
import {
  chargedEarlier,
  chargeInDoubt,
  chargeNotDone,
  reservationFailed,
  settingsFailed,
  shipmentFailed,
} from "./order-failures";
import { attemptError, boundedError, checkedCall } from "./provider-call";
import {
  chargeRetryStrategy,
  retryTransientFaults,
  retryUnlessClientError,
  retryWithSameKey,
} from "./retry-policies";
import { bestEffort, type SideWorkRecord } from "./side-work";

export interface WorkflowConfig {
  /** How long after shipping to ask for a review. Tests shorten it to run on real timers. */
  reviewRequestDelay: Duration;
  /**
   * How long to wait before looking up a charge in doubt: longer than the gateway takes to finish a request it
   * received, so that a charge still in flight has landed (or died) before the look-up says whether it exists.
   */
  lookUpDelay: Duration;
}

export const defaultConfig: WorkflowConfig = { reviewRequestDelay: { days: 3 }, lookUpDelay: { minutes: 1 } };

export interface FulfilmentResult {
  orderId: string;
  status: "FULFILLED";
  amountCents: number;
  currency: string;
  reservationId: string;
  reservedUntil: string;
  chargeId: string;
  /** How the charge is known to be done: its own answer, or the look-up by its key after an outcome in doubt. */
  chargeSettledBy: "charge" | "look-up";
  carrier: string;
  trackingNumber: string;
  /** The tracking email and the review request: best effort, so one that was not sent is recorded here. */
  sideWork: SideWorkRecord[];
}

/**
 * Order fulfilment: reserve stock, charge, ship, and ask for a review three days later.
 *
 * The handler body re-runs from the top on every invocation (replay). Completed steps return their
 * checkpointed result instead of running again, so everything that talks to the outside world or reads
 * a clock is inside a step, and everything outside steps is deterministic.
 *
 * Every call is done, not done, or in doubt (src/call-outcome.ts). Not done is safe to report; in doubt is
 * settled by the call's idempotency key, never guessed; whatever cannot be settled fails the order with an
 * error that names the key and what is held (src/order-failures.ts). Every answer is checked and every error
 * bounded before the workflow uses it (src/provider-call.ts), whoever wrote the deps.
 */
export async function fulfilOrder(
  event: unknown,
  context: DurableContext,
  deps: OrderDeps,
  overrides: Partial<WorkflowConfig> = {},
): Promise<FulfilmentResult> {
  const config = { ...defaultConfig, ...overrides };
  // Pure and deterministic: bad input fails here, before any side effect, and is never retried.
  const order = parseOrder(event);
  const amountCents = orderTotalCents(order);
  // Idempotency keys come from the business key, never from a random UUID made outside a step: a replay or a
  // retry must send the same key so the service can recognise the repeat. Money, goods and messages are the
  // order's; the hold on stock is this execution's (src/idempotency-keys.ts says why).
  const key = (action: string) => idempotencyKey(order.orderId, action);
  const holdKey = (action: "reserve" | "release") =>
    executionKey(order.orderId, action, context.executionContext.durableExecutionArn);
  // context.logger knows about replay: this line is logged once, not once per invocation.
  context.logger.info("Fulfilling order", { orderId: order.orderId, amountCents });
  // The reservation's compensation, by its key: harmless when nothing is held, so it may run in doubt.
  const releaseStock = () =>
    bestEffort(
      context,
      "release-stock",
      () =>
        deps.inventory.release({
          orderId: order.orderId,
          reservationKey: holdKey("reserve"),
          idempotencyKey: holdKey("release"),
        }),
      retryWithSameKey,
    );

  // Every setting the calls need (the four base URLs, the token read from its secret), checked before anything is
  // sent: a setting that cannot be used, or a Secrets Manager that keeps throttling, fails the order here with
  // nothing to undo, instead of inside reserve-stock, where an attempt past its retries is in doubt. The step returns
  // nothing, so no setting and no secret is checkpointed; it runs for every deps, so the history is always the same.
  await context
    .step(
      "check-settings",
      async () => {
        try {
          await deps.checkSettings?.();
        } catch (error) {
          // A custom dep's error can carry anything, and the step checkpoints it: bounded, its class kept.
          throw boundedError(error);
        }
      },
      { retryStrategy: retryTransientFaults },
    )
    .catch((error: unknown) => {
      throw settingsFailed(order.orderId, (error as Error).message);
    });

  // At-least-once (the default): an attempt that fails is run again with the same key, even in doubt,
  // because the inventory honours keys: a repeat gets the first reservation and never holds stock twice.
  // The class serdes brings the Reservation back as a class with a real Date on every replay.
  const reservation = await context
    .step(
      "reserve-stock",
      async ({ attempt }) => {
        // An attempt that failed on a setting sent nothing; the call is not done only if no attempt was sent.
        const held = await checkedCall("inventory", ReservationReply, () =>
          deps.inventory.reserve({
            orderId: order.orderId,
            items: order.items,
            idempotencyKey: holdKey("reserve"),
          }),
        ).catch((error: unknown) => {
          throw attemptError(error, attempt);
        });
        return Reservation.of(held.reservationId, held.expiresAt);
      },
      { retryStrategy: retryWithSameKey, serdes: reservationSerdes },
    )
    .catch(async (error: unknown) => {
      const why = (error as Error).message;
      // Refused: nothing is held. Otherwise an attempt may have reserved before its reply was lost.
      if (outcomeOfFailedStep(error, { stopsInDoubt: false }) === "not-done") {
        throw reservationFailed(order.orderId, why, holdKey("reserve"));
      }
      throw reservationFailed(order.orderId, why, holdKey("reserve"), await releaseStock());
    });

  // At-most-once per retry: the SDK checkpoints the start of each attempt before running it. The gateway
  // does not honour keys, so only an attempt that was not done (429) is sent again. An attempt in doubt
  // (a timeout, a 5xx, a crash mid-charge seen on replay as StepInterruptedError) is settled by its key.
  const asked = { amountCents, currency: order.currency };
  const charge = await context
    .step(
      "charge-payment",
      async () => {
        // Reading the clock is fine here: this runs once per attempt and its outcome is checkpointed.
        if (reservation.isExpiredAt(new Date())) {
          throw new ClientError(`Reservation ${reservation.reservationId} expired before payment`, 410);
        }
        // The gateway does not honour keys, so the step asks first: a charge under the order's key was made by
        // an earlier execution of this order (the event delivered twice), and is never made again. A look-up
        // that cannot answer sent no charge: not done, and retried like a 429.
        const earlier = await checkedCall("payments (look-up before charging)", FoundChargeReply, () =>
          deps.payments.findCharge({ idempotencyKey: key("charge") }),
        ).catch((lookUpError: unknown) => {
          // A setting a person must fix (the token's secret missing or unreadable): nothing can be sent, so the
          // charge is not done and is not retried.
          if (isSettingFailure(lookUpError)) throw lookUpError;
          const why = `looking the charge up before charging failed: ${(lookUpError as Error).message}`;
          throw new TransientServiceError(`${why}; no charge was sent`);
        });
        if (earlier) return { settledBy: "earlier-execution" as const, earlier };
        const charged = await checkedCall("payments", ChargeAnswer, () =>
          deps.payments.charge({
            orderId: order.orderId,
            customerId: order.customer.id,
            ...asked,
            idempotencyKey: key("charge"),
          }),
        );
        // The answer is input: a charge for another amount is not the one asked for. Settled by the look-up.
        if (charged.amountCents !== asked.amountCents || charged.currency !== asked.currency) {
          const said = `${charged.chargeId} for ${charged.amountCents} ${charged.currency}`;
          throw new OutcomeInDoubtError(`payments answered ${said}, not the amount asked`);
        }
        return { chargeId: charged.chargeId, settledBy: "charge" as const };
      },
      { semantics: StepSemantics.AtMostOncePerRetry, retryStrategy: chargeRetryStrategy },
    )
    .catch(async (error: unknown) => {
      const why = (error as Error).message;
      if (outcomeOfFailedStep(error, { stopsInDoubt: true }) === "not-done") {
        throw chargeNotDone(order.orderId, why, reservation, holdKey("reserve"), await releaseStock());
      }
      // In doubt. Let a request still in flight land or die, then ask the gateway what it holds under the key.
      await context.wait("wait-before-find-charge", config.lookUpDelay);
      const found = await context
        .step(
          "find-charge",
          () =>
            checkedCall("payments (look-up)", FoundChargeReply, () =>
              deps.payments.findCharge({ idempotencyKey: key("charge") }),
            ),
          { retryStrategy: retryWithSameKey },
        )
        .catch((lookUpError: unknown) => {
          const cause = `${why}; looking it up by its key failed: ${(lookUpError as Error).message}`;
          throw chargeInDoubt(order.orderId, key("charge"), asked, cause, reservation);
        });
      if (found === null) {
        const absent = `${why}; the gateway holds no charge under key ${key("charge")}`;
        throw chargeNotDone(order.orderId, absent, reservation, holdKey("reserve"), await releaseStock());
      }
      // The answer is input: a charge under our key for another amount is not ours to accept.
      if (found.amountCents !== asked.amountCents || found.currency !== asked.currency) {
        const cause = `the gateway holds ${found.chargeId} under this key for ${found.amountCents} ${found.currency}`;
        throw chargeInDoubt(order.orderId, key("charge"), asked, cause, reservation);
      }
      return { chargeId: found.chargeId, settledBy: "look-up" as const };
    });
  if (charge.settledBy === "earlier-execution") {
    const release = await releaseStock();
    throw chargedEarlier(
      order.orderId,
      key("charge"),
      charge.earlier,
      reservation,
      holdKey("reserve"),
      release,
    );
  }

  // A step cannot contain durable operations, so two steps that belong together go in a child context.
  // It is checkpointed as one unit: on replay its result comes back without re-entering the function.
  const shipment = await context.runInChildContext("ship-order", async (shipping) => {
    // The carrier honours keys, so a shipment in doubt is sent again with the same key (retryUnlessClientError).
    const label = await shipping
      .step(
        "create-shipment",
        async ({ attempt }) => {
          // The stock is held only until the reservation expires (a look-up wait may have used that time).
          // On the first attempt nothing was sent yet: a definite no. A later attempt repeats one that may
          // have shipped: in doubt, for a person to look up by the key.
          if (reservation.isExpiredAt(new Date())) {
            const why = `Reservation ${reservation.reservationId} expired at ${reservation.expiresAt.toISOString()}`;
            if (attempt === 1) throw new ClientError(`${why}, before shipping`, 410);
            throw new OutcomeInDoubtError(`${why}, while an earlier attempt to ship was in doubt`);
          }
          return checkedCall("shipping", ShipmentAnswer, () =>
            deps.shipping.createShipment({
              orderId: order.orderId,
              reservationId: reservation.reservationId,
              shipTo: order.shipTo,
              idempotencyKey: key("ship"),
            }),
          ).catch((error: unknown) => {
            throw attemptError(error, attempt);
          });
        },
        { retryStrategy: retryUnlessClientError },
      )
      // Classified here, where the step's error still names the provider's error: the child context's own
      // error would keep only the message. The failure is returned, and thrown once outside.
      .catch((error: unknown) => ({
        notShipped: outcomeOfFailedStep(error, { stopsInDoubt: false }),
        error: (error as Error).message,
      }));
    if ("notShipped" in label) return label;
    // Best effort: the goods are on their way whether or not the customer hears about it now.
    const trackingEmail = await bestEffort(
      shipping,
      "email-tracking-number",
      () =>
        deps.notifier.send({
          to: order.customer.email,
          template: "order-shipped",
          data: { orderId: order.orderId, carrier: label.carrier, trackingNumber: label.trackingNumber },
          idempotencyKey: key("email-tracking"),
        }),
      retryWithSameKey,
    );
    return { ...label, trackingEmail };
  });
  if ("notShipped" in shipment) {
    const charged = { chargeId: charge.chargeId, ...asked };
    throw shipmentFailed(
      order.orderId,
      shipment.notShipped,
      shipment.error,
      key("ship"),
      charged,
      reservation,
    );
  }

  // Three days pass at no compute cost: the function returns, and Lambda re-invokes it when the timer
  // fires. Everything above is replayed from checkpoints in that later invocation.
  await context.wait("wait-before-review-request", config.reviewRequestDelay);

  // Best effort: the order was charged and shipped; a review request that cannot be sent is recorded, not fatal.
  const reviewRequest = await bestEffort(
    context,
    "request-review",
    () =>
      deps.notifier.send({
        to: order.customer.email,
        template: "review-request",
        data: { orderId: order.orderId },
        idempotencyKey: key("review-request"),
      }),
    retryWithSameKey,
  );

  return {
    orderId: order.orderId,
    status: "FULFILLED",
    amountCents,
    currency: order.currency,
    reservationId: reservation.reservationId,
    // Runs after the replay, on the reservation rebuilt by its serdes: a Date again, not a string.
    reservedUntil: reservation.expiresAt.toISOString(),
    chargeId: charge.chargeId,
    chargeSettledBy: charge.settledBy,
    carrier: shipment.carrier,
    trackingNumber: shipment.trackingNumber,
    sideWork: [shipment.trackingEmail, reviewRequest],
  };
}

export const reservationSerdes = createClassSerdesWithDates(Reservation, ["expiresAt"]);
