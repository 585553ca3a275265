import {
  createRetryStrategy,
  JitterStrategy,
  type DurableContext,
  type Duration,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import {
  afterFailure,
  afterSuccess,
  decide,
  needsReset,
  type BreakerPolicy,
  type BreakerRecord,
} from "./breaker";
import { ProviderUnavailableError, StaleBreakerRecordError, type TripDeps } from "./deps";
import { parseTripRequest } from "./input";
import type { PaymentReceipt, PaymentRequest } from "./payment";

export interface SagaConfig {
  /**
   * The payment function to invoke: deployed, a qualified ARN such as `<payment-function-arn>:live`. Called once
   * per invocation, before anything is reserved, so a missing setting fails the booking before it starts.
   */
  paymentFunctionId: () => string;
  /** The car-rental circuit breaker. Tests shorten the cool-down. */
  carBreaker: BreakerPolicy;
}

export const defaultConfig: SagaConfig = {
  paymentFunctionId: paymentFunctionFromEnv,
  carBreaker: { failureThreshold: 3, coolDownMs: 5 * 60 * 1000 },
};

/** The circuit's key in the breaker store. */
export const CAR_CIRCUIT = "car-rental";

export type CarOutcome =
  { status: "RESERVED"; reservationId: string } | { status: "SKIPPED"; reason: string };

export interface TripBooking {
  bookingId: string;
  status: "CONFIRMED";
  confirmationNumber: string;
  flightReservationId: string;
  hotelReservationId: string;
  car: CarOutcome;
  chargeId: string;
  amountCents: number;
  currency: string;
}

/** An undo action, registered only once the action it undoes has succeeded. */
interface Compensation {
  name: string;
  undo: () => Promise<void>;
  retryStrategy: (error: Error, attemptsMade: number) => RetryDecision;
}

/**
 * Book a trip: flight, hotel, car (unless its circuit is open), payment, confirmation. If any of them fails,
 * undo what was done, newest first, and fail the booking with an error that names the failed step, what was
 * undone and what could not be.
 *
 * The handler body re-runs from the top on every invocation (replay). Completed steps return their
 * checkpointed results instead of running again, so the list of compensations is rebuilt identically on
 * every replay: it is plain data derived from checkpointed results, not state that has to survive.
 */
export async function bookTrip(
  event: unknown,
  context: DurableContext,
  deps: TripDeps,
  config: SagaConfig = defaultConfig,
): Promise<TripBooking> {
  // Pure and deterministic: bad input and missing configuration fail here, before anything is reserved.
  const trip = parseTripRequest(event);
  const paymentFunctionId = config.paymentFunctionId();
  // Every forward and compensating call gets an idempotency key from the booking id and the operation name:
  // the same on every retry and every replay, different for every action.
  const key = (operation: string) => idempotencyKey(trip.bookingId, operation);
  const compensations: Compensation[] = [];
  let stage = "reserve-flight";

  try {
    const flight = await context.step(
      "reserve-flight",
      () =>
        deps.flights.reserve({
          bookingId: trip.bookingId,
          ...trip.flight,
          travellers: trip.traveller.party,
          idempotencyKey: key("reserve-flight"),
        }),
      { retryStrategy: retryUnavailable },
    );
    compensations.push({
      name: "cancel-flight",
      undo: () =>
        deps.flights.cancel({ reservationId: flight.reservationId, idempotencyKey: key("cancel-flight") }),
      retryStrategy: cancelFlightRetry,
    });

    stage = "reserve-hotel";
    const hotel = await context.step(
      "reserve-hotel",
      () =>
        deps.hotels.reserve({
          bookingId: trip.bookingId,
          hotelId: trip.hotel.hotelId,
          checkIn: trip.flight.departOn,
          checkOut: trip.flight.returnOn,
          guests: trip.traveller.party,
          idempotencyKey: key("reserve-hotel"),
        }),
      { retryStrategy: retryUnavailable },
    );
    compensations.push({
      name: "cancel-hotel",
      undo: () =>
        deps.hotels.cancel({ reservationId: hotel.reservationId, idempotencyKey: key("cancel-hotel") }),
      retryStrategy: cancelHotelRetry,
    });

    stage = "reserve-car";
    const car = await reserveCarUnlessCircuitOpen(context, deps, config.carBreaker, () =>
      deps.cars.reserve({
        bookingId: trip.bookingId,
        pickUpAt: trip.flight.to,
        from: trip.flight.departOn,
        to: trip.flight.returnOn,
        category: trip.car.category,
        idempotencyKey: key("reserve-car"),
      }),
    );
    if (car.status === "RESERVED") {
      compensations.push({
        name: "cancel-car",
        undo: () => deps.cars.cancel({ reservationId: car.reservationId, idempotencyKey: key("cancel-car") }),
        retryStrategy: cancelCarRetry,
      });
    }

    // Payment is another durable function. The orchestrator suspends while it runs and is re-invoked with
    // its result; a failure there (a declined card) arrives here as an InvokeError with the payment's message.
    stage = "charge-payment";
    const payment = await context.invoke<PaymentRequest, PaymentReceipt>(
      "charge-payment",
      paymentFunctionId,
      {
        bookingId: trip.bookingId,
        customerId: trip.traveller.customerId,
        amountCents: trip.price.amountCents,
        currency: trip.price.currency,
        idempotencyKey: key("charge-payment"),
      },
    );
    compensations.push({
      name: "refund-payment",
      undo: () =>
        deps.refunds.refund({
          chargeId: payment.chargeId,
          amountCents: payment.amountCents,
          currency: payment.currency,
          idempotencyKey: key("refund-payment"),
        }),
      retryStrategy: refundRetry,
    });

    stage = "confirm-booking";
    const { confirmationNumber } = await context.step(
      "confirm-booking",
      () =>
        deps.itineraries.confirm({
          bookingId: trip.bookingId,
          email: trip.traveller.email,
          flightReservationId: flight.reservationId,
          hotelReservationId: hotel.reservationId,
          ...(car.status === "RESERVED" ? { carReservationId: car.reservationId } : {}),
          chargeId: payment.chargeId,
          idempotencyKey: key("confirm-booking"),
        }),
      { retryStrategy: retryUnavailable },
    );

    return {
      bookingId: trip.bookingId,
      status: "CONFIRMED",
      confirmationNumber,
      flightReservationId: flight.reservationId,
      hotelReservationId: hotel.reservationId,
      car,
      chargeId: payment.chargeId,
      amountCents: payment.amountCents,
      currency: payment.currency,
    };
  } catch (error) {
    const reason = (error as Error).message;
    context.logger.info("Booking failed, compensating", {
      bookingId: trip.bookingId,
      failedAt: stage,
      reason,
    });

    // Newest first: the refund before the cancellations, the car before the hotel before the flight. Each
    // compensation is its own named step with its own retry strategy. One that fails for good does not stop
    // the others: it is recorded, and the rest still run.
    const undone: string[] = [];
    const notUndone: { compensation: string; reason: string }[] = [];
    for (const compensation of [...compensations].reverse()) {
      try {
        await context.step(compensation.name, compensation.undo, {
          retryStrategy: compensation.retryStrategy,
        });
        undone.push(compensation.name);
      } catch (compensationError) {
        notUndone.push({ compensation: compensation.name, reason: (compensationError as Error).message });
      }
    }

    // Never lost silently: what could not be undone goes to people who can finish it, as a step of its own
    // (checkpointed, retried, idempotent), and it is named in the execution's error.
    if (notUndone.length > 0) {
      context.logger.error("Compensations failed; alerting operations", {
        bookingId: trip.bookingId,
        notUndone,
      });
      await context.step(
        "alert-operations",
        () =>
          deps.operations.alert({
            bookingId: trip.bookingId,
            failedAt: stage,
            notUndone,
            idempotencyKey: key("alert-operations"),
          }),
        { retryStrategy: retryUnavailablePatiently },
      );
    }
    throw new BookingFailedError(trip.bookingId, stage, reason, undone, notUndone);
  }
}

/**
 * The car is worth having but not worth failing the trip for when the rental provider is down. Its circuit
 * breaker state lives in the breaker store, read and written only inside steps: the check's decision is a
 * checkpointed step result, so a replay takes the same branch even if the store changed in the meantime.
 */
async function reserveCarUnlessCircuitOpen(
  context: DurableContext,
  deps: TripDeps,
  policy: BreakerPolicy,
  reserve: () => Promise<{ reservationId: string }>,
): Promise<CarOutcome> {
  const circuit = await context.step(
    "check-car-circuit",
    // Reading the store and the clock is fine here: this runs once, and its outcome is checkpointed.
    async ({ logger }) => {
      const record = await deps.breakerStore.get(CAR_CIRCUIT).catch((error: Error) => {
        // The breaker protects the booking; it must not become its single point of failure.
        logger.warn("Breaker store unreadable, treating the circuit as closed", { error: error.message });
        return undefined;
      });
      return decide(record, Date.now(), policy);
    },
  );
  if (circuit.state === "open") {
    return {
      status: "SKIPPED",
      reason: `car rental circuit is open after ${circuit.consecutiveFailures} failures`,
    };
  }

  try {
    const { reservationId } = await context.step("reserve-car", reserve, {
      retryStrategy: retryCarUnavailable,
    });
    if (needsReset(circuit)) {
      await context.step("close-car-circuit", () => writeBreaker(deps, (record) => afterSuccess(record)), {
        retryStrategy: retryStaleRecord,
      });
    }
    return { status: "RESERVED", reservationId };
  } catch (error) {
    // A rejection (no cars at that airport) is an answer, not an outage: the booking fails and compensates.
    // An outage after retries counts against the circuit, and this trip goes on without a car.
    if (!isUnavailable(error)) throw error;
    const record = await context.step(
      "record-car-failure",
      () => writeBreaker(deps, (current) => afterFailure(current, Date.now(), policy)),
      { retryStrategy: retryStaleRecord },
    );
    return {
      status: "SKIPPED",
      reason:
        record.state === "open"
          ? `car rental unavailable; circuit opened after ${record.consecutiveFailures} failures`
          : "car rental unavailable",
    };
  }
}

/** Read, change and conditionally write the breaker record. A concurrent writer makes the step retry. */
async function writeBreaker(
  deps: TripDeps,
  change: (record: BreakerRecord | undefined) => BreakerRecord,
): Promise<BreakerRecord> {
  const current = await deps.breakerStore.get(CAR_CIRCUIT);
  const next = change(current);
  await deps.breakerStore.put(CAR_CIRCUIT, next, current?.version ?? 0);
  return next;
}

/** A failed step's own error class does not survive the checkpoint; its name does, on the cause. */
function isUnavailable(error: unknown): boolean {
  const cause = (error as Error).cause;
  return cause instanceof Error && cause.name === "ProviderUnavailableError";
}

/** The failed booking, after compensation. Its name becomes the execution's errorType. */
export class BookingFailedError extends Error {
  override readonly name = "BookingFailedError";
  constructor(
    readonly bookingId: string,
    readonly failedAt: string,
    readonly reason: string,
    readonly undone: string[],
    readonly notUndone: { compensation: string; reason: string }[],
  ) {
    const parts = [`Booking ${bookingId} failed at ${failedAt}: ${reason}.`];
    parts.push(
      undone.length > 0 ? `Undone: ${undone.join(", ")}.` : notUndone.length > 0 ? "" : "Nothing to undo.",
    );
    if (notUndone.length > 0) {
      const list = notUndone.map((item) => `${item.compensation} (${item.reason})`).join(", ");
      parts.push(`NOT undone: ${list}; operations alerted.`);
    }
    super(parts.filter(Boolean).join(" "));
  }
}

export function idempotencyKey(bookingId: string, operation: string): string {
  return `${bookingId}:${operation}`;
}

export function paymentFunctionFromEnv(): string {
  const id = process.env.PAYMENT_FUNCTION_ARN ?? "";
  if (id === "") throw new ConfigurationError("PAYMENT_FUNCTION_ARN is not set");
  return id;
}

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

/**
 * Each call gets its own retry strategy, all of one kind: an outage (ProviderUnavailableError) is retried with
 * exponential backoff from 1 s and full jitter, up to a cap; a rejection is final.
 */
export function retryOutages(maxAttempts: number, maxDelay: Duration = { minutes: 5 }) {
  return createRetryStrategy({
    maxAttempts,
    initialDelay: { seconds: 1 },
    maxDelay,
    backoffRate: 2,
    jitter: JitterStrategy.FULL,
    retryableErrorTypes: [ProviderUnavailableError],
  });
}

// Forward steps: a few quick retries of an outage.
export const retryUnavailable = retryOutages(3, { seconds: 10 });
// The car gives up sooner: it is optional, and the breaker remembers the outage for the next bookings.
export const retryCarUnavailable = retryOutages(2);
// Compensations are more patient than forward steps: giving up leaves a real reservation or a real charge
// behind. Each is matched to its provider. A rejection (past the cancellation deadline) is final.
export const cancelFlightRetry = retryOutages(8, { minutes: 2 });
export const cancelHotelRetry = retryOutages(6, { minutes: 1 });
export const cancelCarRetry = retryOutages(4, { seconds: 30 });
/** Money: the most patient, and a refund with its idempotency key is safe to repeat (at least once). */
export const refundRetry = retryOutages(10);
// Telling operations what could not be undone must not be lost either.
const retryUnavailablePatiently = retryOutages(10);
const retryStaleRecord = createRetryStrategy({
  maxAttempts: 5,
  initialDelay: { seconds: 1 },
  retryableErrorTypes: [StaleBreakerRecordError, ProviderUnavailableError],
});
