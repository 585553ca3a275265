import type { DurableContext, RetryDecision } from "@aws/durable-execution-sdk-js";
import {
  afterFailure,
  afterSuccess,
  claimTrial,
  decide,
  needsReset,
  StaleBreakerRecordError,
  type BreakerDecision,
  type BreakerPolicy,
  type BreakerRecord,
} from "./breaker";
import { outcomeOfFailedStep, refusalFinalOnlyOnFirstAttempt } from "./call-outcome";
import { Compensations, type Compensation, type UndoResult } from "./compensations";
import type { TripDeps } from "./deps";
import { safeText, withSafeErrors } from "./error-text";
import { executionPart, idempotencyKey } from "./idempotency";
import { parseTripRequest, refusePastDeparture } from "./input";
import { paymentOutcome, type PaymentRequest } from "./payment";
import {
  alertRetry,
  breakerWriteRetry,
  cancelCarRetry,
  findBookingRetry,
  cancelFlightRetry,
  cancelHotelRetry,
  refundRetry,
  retryCarReservation,
  retryReservation,
  settingsCheckRetry,
} from "./retry-policies";

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

type SkippedCar = { status: "SKIPPED"; reason: string; notReleased?: string };
export type CarOutcome = { status: "RESERVED"; reservationId: string } | SkippedCar;

/** Side work that failed (a breaker read or write): recorded here and in a log line, never the booking's end. */
export interface SideWorkFailure {
  operation: string;
  reason: string;
}

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
  sideWorkFailures: SideWorkFailure[];
}

interface NotUndone {
  compensation: string;
  reason: string;
}

/**
 * Book a trip: flight, hotel, car (unless its circuit is open), payment, confirmation. If any of them fails,
 * undo what was done or may have been done, newest first, and fail the booking with an error that names the
 * failed step, what was undone and what could not be.
 *
 * The handler body re-runs from the top on every invocation (replay). Completed steps return their
 * checkpointed results instead of running again, so the list of compensations is rebuilt identically on
 * every replay: it is plain data derived from checkpointed results, not state that has to survive.
 */
export async function bookTrip(
  event: unknown,
  context: DurableContext,
  providers: TripDeps,
  config: SagaConfig = defaultConfig,
): Promise<TripBooking> {
  // Pure and deterministic: bad input and missing configuration fail here, before anything is reserved.
  const trip = parseTripRequest(event);
  const paymentFunctionId = config.paymentFunctionId();
  // What a provider throws is checkpointed, alerted and logged: bounded, one line, no credentials (src/error-text.ts).
  const deps = withSafeErrors(providers);
  // Keys per execution (src/idempotency.ts): the same on every retry and replay of this execution, new for a
  // later attempt under the same booking id, different for every action.
  const execution = executionPart(context.executionContext.durableExecutionArn);
  const key = (operation: string) => idempotencyKey(trip.bookingId, execution, operation);
  const compensations = new Compensations();
  const sideWorkFailures: SideWorkFailure[] = [];
  const leftBehind: NotUndone[] = [];
  const run: SagaRun = {
    deps,
    bookingId: trip.bookingId,
    execution,
    key,
    compensations,
    sideWorkFailures,
    leftBehind,
  };

  // Every setting the booking needs (base URLs, the providers' token from its secret), checked before anything is
  // sent: a setting that cannot be used, or a Secrets Manager that stays unavailable, fails the booking here with
  // nothing to undo, instead of in the middle, where an outage past retries is in doubt and compensates. The step
  // returns nothing: no setting, and no secret, is checkpointed.
  try {
    await context.step(
      "check-settings",
      async () => {
        await deps.checkSettings?.();
      },
      { retryStrategy: settingsCheckRetry },
    );
  } catch (error) {
    const reason = safeText((error as Error).message);
    context.logger.error("A setting cannot be used; nothing was sent", { bookingId: trip.bookingId, reason });
    throw new BookingFailedError(trip.bookingId, "check-settings", reason, [], []);
  }

  // A booking id already confirmed is not booked again. A duplicate start (a client retrying its request, a
  // queue delivering twice) is a new execution with new keys, so without this it would reserve and charge a second
  // time. The look-up is side work: if the itinerary service cannot answer, the booking goes on, and a duplicate
  // is still refused at confirm-booking (one itinerary per booking id) and compensates.
  const confirmed = await bestEffort(
    context,
    sideWorkFailures,
    "find-confirmed-booking",
    () => deps.itineraries.find({ bookingId: trip.bookingId }),
    findBookingRetry,
  );
  if (confirmed) throw new AlreadyBookedError(trip.bookingId, confirmed.confirmationNumber);

  let stage = "reserve-flight";
  try {
    // Each compensation is registered before its call: if the flight is reserved and every reply is lost, the
    // cancellation still finds the reservation by its key (see src/compensations.ts).
    const cancelFlight = compensations.register({
      name: "cancel-flight",
      retryStrategy: cancelFlightRetry,
      find: () => heldUnder(deps.flights.find({ idempotencyKey: key("reserve-flight") })),
      undo: (reservationId) => deps.flights.cancel({ reservationId, idempotencyKey: key("cancel-flight") }),
    });
    const flight = await cancelFlight.guard(
      // A refusal is final only on a step's first attempt: on a retry, the attempt before may have acted under
      // the same key, so it is in doubt and the compensation stays (src/call-outcome.ts).
      context.step(
        "reserve-flight",
        (step) =>
          refusalFinalOnlyOnFirstAttempt(step, () => {
            refusePastDeparture(trip.flight, Date.now()); // the clock, read inside the step
            return deps.flights.reserve({
              bookingId: trip.bookingId,
              ...trip.flight,
              travellers: trip.traveller.party,
              idempotencyKey: key("reserve-flight"),
            });
          }),
        { retryStrategy: retryReservation },
      ),
      (reservation) => reservation.reservationId,
    );

    stage = "reserve-hotel";
    const cancelHotel = compensations.register({
      name: "cancel-hotel",
      retryStrategy: cancelHotelRetry,
      find: () => heldUnder(deps.hotels.find({ idempotencyKey: key("reserve-hotel") })),
      undo: (reservationId) => deps.hotels.cancel({ reservationId, idempotencyKey: key("cancel-hotel") }),
    });
    const hotel = await cancelHotel.guard(
      context.step(
        "reserve-hotel",
        (step) =>
          refusalFinalOnlyOnFirstAttempt(step, () =>
            deps.hotels.reserve({
              bookingId: trip.bookingId,
              hotelId: trip.hotel.hotelId,
              checkIn: trip.flight.departOn,
              checkOut: trip.flight.returnOn,
              guests: trip.traveller.party,
              idempotencyKey: key("reserve-hotel"),
            }),
          ),
        { retryStrategy: retryReservation },
      ),
      (reservation) => reservation.reservationId,
    );

    // The car is optional and sits behind a circuit breaker, whose reads and writes are side work: never the
    // reason a booking fails. A car that may be held behind lost replies is released at once, by its key.
    stage = "reserve-car";
    const car = await reserveCarUnlessCircuitOpen(context, run, config.carBreaker, () =>
      deps.cars.reserve({
        bookingId: trip.bookingId,
        pickUpAt: trip.flight.to,
        from: trip.flight.departOn,
        to: trip.flight.returnOn,
        category: trip.car.category,
        idempotencyKey: key("reserve-car"),
      }),
    );

    // Payment is another durable function. The orchestrator suspends while it runs and is re-invoked with its
    // result: charged, declined, or in doubt. The refund is registered before the invoke: a charge in doubt, or
    // a payment function that failed mid-way, is refunded by the charge's key (nothing found, nothing refunded).
    stage = "charge-payment";
    const refundPayment = compensations.register({
      name: "refund-payment",
      retryStrategy: refundRetry,
      find: async () => {
        const charge = await deps.refunds.findCharge({ idempotencyKey: key("charge-payment") });
        if (
          charge &&
          (charge.amountCents !== trip.price.amountCents || charge.currency !== trip.price.currency)
        ) {
          // An answer is input, not a yes: a charge under our key for another amount goes to people, not a refund.
          throw new Error(
            `charge ${charge.chargeId} under its key is for ${charge.amountCents} ${charge.currency}`,
          );
        }
        return charge && { id: charge.chargeId, alreadyUndone: charge.status === "refunded" };
      },
      undo: (chargeId) =>
        deps.refunds.refund({
          chargeId,
          amountCents: trip.price.amountCents,
          currency: trip.price.currency,
          idempotencyKey: key("refund-payment"),
        }),
    });
    const answer = await context.invoke<PaymentRequest, unknown>("charge-payment", paymentFunctionId, {
      bookingId: trip.bookingId,
      customerId: trip.traveller.customerId,
      amountCents: trip.price.amountCents,
      currency: trip.price.currency,
      idempotencyKey: key("charge-payment"),
    });
    // Parsed, and checked against what was asked: a malformed answer, or a charge of another amount, is in doubt.
    const payment = paymentOutcome(answer, trip.price);
    if (payment.status === "DECLINED") {
      refundPayment.withdraw();
      throw new Error(payment.reason);
    }
    if (payment.status === "IN_DOUBT") throw new Error(`payment in doubt: ${payment.reason}`);
    refundPayment.settle(payment.chargeId);

    stage = "confirm-booking";
    // The itinerary service holds one itinerary per booking id: a duplicate that got past find-confirmed-booking
    // (started at the same moment, or while the look-up was down) is refused here (409) and compensates.
    const { confirmationNumber } = await context.step(
      "confirm-booking",
      (step) =>
        refusalFinalOnlyOnFirstAttempt(step, () =>
          deps.itineraries.confirm({
            bookingId: trip.bookingId,
            email: trip.traveller.email,
            flightReservationId: flight.reservationId,
            hotelReservationId: hotel.reservationId,
            ...(car.status === "RESERVED" ? { carReservationId: car.reservationId } : {}),
            chargeId: payment.chargeId,
            idempotencyKey: key("confirm-booking"),
          }),
        ),
      { retryStrategy: retryReservation },
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
      sideWorkFailures,
    };
  } catch (error) {
    const reason = safeText((error as Error).message);
    context.logger.info("Booking failed, compensating", {
      bookingId: trip.bookingId,
      failedAt: stage,
      reason,
    });

    // Newest first: the refund before the cancellations, the car before the hotel before the flight. Each
    // compensation is its own named step with its own retry strategy. One that fails for good does not stop
    // the others: it is recorded, and the rest still run.
    const undone: string[] = [];
    const notUndone: NotUndone[] = [...leftBehind];
    if (stage === "confirm-booking" && outcomeOfFailedStep(error) === "in-doubt") {
      // The itinerary service has no cancellation: an itinerary in doubt may have been emailed. People are told.
      notUndone.push({ compensation: "confirm-booking", reason: `itinerary may have been sent: ${reason}` });
    }
    for (const compensation of compensations.owed()) {
      try {
        const result: UndoResult = await context.step(compensation.name, compensation.run, {
          retryStrategy: compensation.spec.retryStrategy,
        });
        if (result.undid !== null) undone.push(compensation.name);
      } catch (compensationError) {
        notUndone.push({
          compensation: compensation.name,
          reason: safeText((compensationError as Error).message),
        });
      }
    }

    // Never lost silently: what could not be undone goes to people who can finish it, and it is named in the
    // execution's error even when the alert fails too (see the README: retry longer, then fail loudly).
    let alertFailure: string | undefined;
    if (notUndone.length > 0) {
      alertFailure = await alertOperations(context, deps, "alert-operations", {
        bookingId: trip.bookingId,
        failedAt: stage,
        notUndone,
        idempotencyKey: key("alert-operations"),
      });
    }
    throw new BookingFailedError(trip.bookingId, stage, reason, undone, notUndone, alertFailure);
  }
}

/** What the helpers below share with the booking: its deps, keys, compensations and records. */
interface SagaRun {
  deps: TripDeps;
  bookingId: string;
  execution: string;
  key: (operation: string) => string;
  compensations: Compensations;
  sideWorkFailures: SideWorkFailure[];
  leftBehind: NotUndone[];
}

/**
 * The car, unless its circuit is open. The check's decision is a checkpointed step result, so a replay takes
 * the same branch even if the store changed in the meantime. Its cancellation is registered before the call.
 */
async function reserveCarUnlessCircuitOpen(
  context: DurableContext,
  run: SagaRun,
  policy: BreakerPolicy,
  reserve: () => Promise<{ reservationId: string }>,
): Promise<CarOutcome> {
  const { deps, key, compensations, sideWorkFailures } = run;
  const circuit = await context.step("check-car-circuit", () => checkCircuit(deps, policy, run.execution));
  if (circuit.storeError) {
    sideWorkFailures.push(noteSideWork(context, "check-car-circuit", circuit.storeError));
  }
  if (circuit.state === "open") return { status: "SKIPPED", reason: circuitOpenReason(circuit) };

  const cancelCar = compensations.register({
    name: "cancel-car",
    retryStrategy: cancelCarRetry,
    find: () => heldUnder(deps.cars.find({ idempotencyKey: key("reserve-car") })),
    undo: (reservationId) => deps.cars.cancel({ reservationId, idempotencyKey: key("cancel-car") }),
  });
  try {
    const { reservationId } = await cancelCar.guard(
      context.step("reserve-car", (step) => refusalFinalOnlyOnFirstAttempt(step, reserve), {
        retryStrategy: retryCarReservation,
      }),
      (reservation) => reservation.reservationId,
    );
    if (needsReset(circuit)) {
      await bestEffort(context, sideWorkFailures, "close-car-circuit", () =>
        writeBreaker(deps, (record) => afterSuccess(record)),
      );
    }
    return { status: "RESERVED", reservationId };
  } catch (error) {
    // A refusal (no cars at that airport) is an answer: the booking fails and compensates. Anything else
    // (an outage, or an outcome still in doubt after the retries) counts against the circuit, and the trip
    // goes on without a car; but the rental company may hold one, so it is released now, by key.
    if (outcomeOfFailedStep(error) === "not-done") throw error;
    const skipped = await releaseCar(context, run, cancelCar);
    const record = await bestEffort(context, sideWorkFailures, "record-car-failure", () =>
      writeBreaker(deps, (current) => afterFailure(current, Date.now(), policy)),
    );
    return record?.state === "open"
      ? {
          ...skipped,
          reason: `${skipped.reason}; circuit opened after ${record.consecutiveFailures} failures`,
        }
      : skipped;
  }
}

/** A reservation look-up, as a compensation reads it. */
async function heldUnder(found: Promise<{ reservationId: string; status: string } | undefined>) {
  const reservation = await found;
  return reservation && { id: reservation.reservationId, alreadyUndone: reservation.status === "cancelled" };
}

/**
 * The car's reservation failed with an outcome in doubt (or an outage after an attempt in doubt): the trip
 * goes on without it, so whatever the rental company may hold under the key is cancelled now. If that fails
 * for good, the car is goods left behind: operations are alerted and the result says so.
 */
async function releaseCar(
  context: DurableContext,
  run: SagaRun,
  cancelCar: Compensation,
): Promise<SkippedCar> {
  const { deps, bookingId, key, leftBehind } = run;
  cancelCar.withdraw(); // settled here, one way or the other: the saga's compensations will not run it again
  const reason = "car rental unavailable";
  try {
    await context.step("release-car", cancelCar.run, { retryStrategy: cancelCar.spec.retryStrategy });
    return { status: "SKIPPED", reason };
  } catch (error) {
    const notReleased = { compensation: "release-car", reason: safeText((error as Error).message) };
    leftBehind.push(notReleased);
    const alertFailure = await alertOperations(context, deps, "alert-car-not-released", {
      bookingId,
      failedAt: "reserve-car",
      notUndone: [notReleased],
      idempotencyKey: key("alert-car-not-released"),
    });
    const told =
      alertFailure === undefined ? "operations alerted" : `operations NOT alerted: ${quoted(alertFailure)}`;
    return { status: "SKIPPED", reason, notReleased: `${quoted(notReleased.reason)}; ${told}` };
  }
}

/**
 * Tell people what is left to undo. Its own step, patiently retried; if it still fails, the failure is
 * logged and returned so the execution's error says so. It never replaces the booking's own outcome.
 */
async function alertOperations(
  context: DurableContext,
  deps: TripDeps,
  name: string,
  alert: Parameters<TripDeps["operations"]["alert"]>[0],
): Promise<string | undefined> {
  const { bookingId, notUndone } = alert;
  context.logger.error("Left to undo; alerting operations", { bookingId, notUndone });
  try {
    await context.step(name, () => deps.operations.alert(alert), { retryStrategy: alertRetry });
    return undefined;
  } catch (error) {
    const reason = safeText((error as Error).message);
    context.logger.error("Alert failed; the execution's error is the record of what is left", {
      bookingId,
      notUndone,
      reason,
    });
    return reason;
  }
}

/**
 * Side work: a step whose failure is recorded in the result and a log line, and never fails the booking.
 * The breaker is there to protect bookings; it must not become a reason one fails.
 */
async function bestEffort<T>(
  context: DurableContext,
  failures: SideWorkFailure[],
  name: string,
  work: () => Promise<T>,
  retryStrategy: (error: Error, attemptsMade: number) => RetryDecision = breakerWriteRetry,
): Promise<T | undefined> {
  try {
    return await context.step(name, work, { retryStrategy });
  } catch (error) {
    failures.push(noteSideWork(context, name, (error as Error).message));
    return undefined;
  }
}

function noteSideWork(context: DurableContext, operation: string, reason: string): SideWorkFailure {
  context.logger.warn("Side work failed; the booking goes on", { operation, reason });
  return { operation, reason };
}

/**
 * The check-car-circuit step's body: read the record, decide, and when the circuit is half-open, claim the one
 * trial with a conditional write. Of concurrent bookings only one write succeeds; the others see the circuit
 * open. A store that cannot be read counts as closed (the breaker must not fail bookings); a claim that cannot
 * be written counts as open (never more than one trial). Its result is checkpointed: a replay takes the same branch.
 */
async function checkCircuit(
  deps: TripDeps,
  policy: BreakerPolicy,
  claimant: string,
): Promise<BreakerDecision & { storeError?: string }> {
  // Reading the store and the clock is fine here: this runs inside the step, once, and its outcome is checkpointed.
  const now = Date.now();
  let record: BreakerRecord | undefined;
  try {
    record = await deps.breakerStore.get(CAR_CIRCUIT);
  } catch (error) {
    return {
      ...decide(undefined, now, policy),
      storeError: `unreadable, taken as closed: ${(error as Error).message}`,
    };
  }
  const decision = decide(record, now, policy, claimant);
  if (decision.state !== "half-open" || !record) return decision;
  if (record.trialClaimedBy === claimant) return decision; // ours already: claimed before a crash
  try {
    const claimed = claimTrial(record, now, claimant);
    await deps.breakerStore.put(CAR_CIRCUIT, claimed, record.version);
    return { ...decision, version: claimed.version };
  } catch (error) {
    if (error instanceof StaleBreakerRecordError) return { ...decision, state: "open", trialTaken: true };
    return {
      ...decision,
      state: "open",
      storeError: `trial not claimed, taken as open: ${(error as Error).message}`,
    };
  }
}

function circuitOpenReason(circuit: BreakerDecision & { trialTaken?: boolean }): string {
  return circuit.trialTaken
    ? "car rental circuit is half-open and another booking has the trial"
    : `car rental circuit is open after ${circuit.consecutiveFailures} failures`;
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

/**
 * A booking id that already has a confirmed itinerary: refused before anything is reserved or charged. Start a
 * new booking under a new booking id; a retry of the same request needs nothing, the trip is booked.
 */
export class AlreadyBookedError extends Error {
  override readonly name = "AlreadyBookedError";
  constructor(
    readonly bookingId: string,
    readonly confirmationNumber: string,
  ) {
    super(
      `Booking ${bookingId} is already confirmed (${quoted(safeText(confirmationNumber, 64))}): nothing was reserved or charged`,
    );
  }
}

/** The failed booking, after compensation. Its name becomes the execution's errorType. */
export class BookingFailedError extends Error {
  override readonly name = "BookingFailedError";
  constructor(
    readonly bookingId: string,
    readonly failedAt: string,
    readonly reason: string,
    readonly undone: string[],
    readonly notUndone: NotUndone[],
    readonly alertFailure?: string,
  ) {
    // Every reason is quoted (JSON): it holds what a provider said, and a provider's text ("Undone: cancel-hotel;
    // operations alerted") must never read as the verdict, which is only ever outside quotes.
    const parts = [`Booking ${bookingId} failed at ${failedAt}: ${quoted(reason)}.`];
    parts.push(
      undone.length > 0 ? `Undone: ${undone.join(", ")}.` : notUndone.length > 0 ? "" : "Nothing to undo.",
    );
    if (notUndone.length > 0) {
      const list = notUndone.map((item) => `${item.compensation} (${quoted(item.reason)})`).join(", ");
      parts.push(
        alertFailure === undefined
          ? `NOT undone: ${list}; operations alerted.`
          : `NOT undone: ${list}; operations NOT alerted (${quoted(alertFailure)}).`,
      );
    }
    super(parts.filter(Boolean).join(" "));
  }
}

/** Text from outside (a provider's words, an error's message), quoted so it cannot be read as ours. */
function quoted(text: string): string {
  return JSON.stringify(text);
}

export function paymentFunctionFromEnv(): string {
  const id = process.env.PAYMENT_FUNCTION_ARN ?? "";
  if (id === "") throw new ConfigurationError("PAYMENT_FUNCTION_ARN is not set");
  return id;
}

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}
