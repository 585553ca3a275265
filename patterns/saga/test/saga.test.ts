import { ExecutionStatus, OperationStatus, OperationType } from "@aws/durable-execution-sdk-js-testing";
import { paymentFunctionFromEnv } from "../src";
import {
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type ServiceCall,
  type WorldOptions,
} from "../src/demo";
import { ALL_COMPENSATIONS, callsOf, runTrip } from "./helpers";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// With DURABLE_TEST_TARGET=cloud the bad-input tests run against the deployed saga (see target.ts). The others
// read the simulated world (calls counted by the providers, faults injected into them) and run only locally.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** The calls that undo something, in the order the providers received them. */
const undoCalls = (world: ReturnType<typeof simulatedWorld>) =>
  callsOf(world)
    .filter((call) => call.call.endsWith(".cancel") || call.call === "refunds.refund")
    .map((call) => `${call.call} ${call.idempotencyKey}`);

describeLocal("a trip that books", () => {
  it("reserves flight, hotel and car, charges through the payment function, confirms, and undoes nothing", async () => {
    const world = simulatedWorld();
    const { runner, result, names } = await runTrip(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toEqual({
      bookingId: "trip-2041",
      status: "CONFIRMED",
      confirmationNumber: "TRIP-trip-2041",
      flightReservationId: "FL-trip-2041",
      hotelReservationId: "HT-trip-2041",
      car: { status: "RESERVED", reservationId: "CR-trip-2041" },
      chargeId: "ch-trip-2041",
      amountCents: 248_000,
      currency: "GBP",
      sideWorkFailures: [],
    });
    // Every call carries a key made of the booking id and the operation name.
    expect(callsOf(world).map((call) => `${call.call} ${call.idempotencyKey}`)).toEqual([
      "flights.reserve trip-2041:reserve-flight",
      "hotels.reserve trip-2041:reserve-hotel",
      "cars.reserve trip-2041:reserve-car",
      "gateway.charge trip-2041:charge-payment",
      "itineraries.confirm trip-2041:confirm-booking",
    ]);
    expect(names).toEqual([
      "reserve-flight",
      "reserve-hotel",
      "check-car-circuit",
      "reserve-car",
      "charge-payment",
      "confirm-booking",
    ]);
    for (const name of [
      "reserve-flight",
      "reserve-hotel",
      "check-car-circuit",
      "reserve-car",
      "confirm-booking",
    ]) {
      expect(runner.getOperation(name).getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(runner.getOperation(name).getStepDetails()?.attempt).toBe(1);
    }
    expect(runner.getOperation("charge-payment").getType()).toBe(OperationType.CHAINED_INVOKE);
    expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toEqual({
      status: "CHARGED",
      settledBy: "charge",
      chargeId: "ch-trip-2041",
      amountCents: 248_000,
      currency: "GBP",
    });
    // A clean closed circuit is read, never rewritten.
    expect(runner.getOperation("check-car-circuit").getStepDetails()?.result).toEqual({
      state: "closed",
      consecutiveFailures: 0,
      version: 0,
    });
    expect(world.breakerWrites).toEqual([]);
  });
});

describeLocal("a failure at each forward step undoes exactly what succeeded, newest first", () => {
  it.each<[string, ServiceCall, string, string[]]>([
    ["reserve-flight", "flights.reserve", "no seats left on that flight (409)", []],
    ["reserve-hotel", "hotels.reserve", "hotel is fully booked (409)", ["cancel-flight"]],
    [
      "reserve-car",
      "cars.reserve",
      "no cars of that category at the airport (409)",
      ["cancel-hotel", "cancel-flight"],
    ],
    [
      "charge-payment",
      "gateway.charge",
      "card declined (402)",
      ["cancel-car", "cancel-hotel", "cancel-flight"],
    ],
    [
      "confirm-booking",
      "itineraries.confirm",
      "itinerary service rejected the booking (422)",
      ["refund-payment", "cancel-car", "cancel-hotel", "cancel-flight"],
    ],
  ])("%s fails: compensations %j", async (failedAt, call, reason, expected) => {
    const world = simulatedWorld({ faults: { [call]: ["rejected"] } });
    const { runner, result, names } = await runTrip(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("BookingFailedError");
    expect(result.getError().errorMessage).toBe(
      `Booking trip-2041 failed at ${failedAt}: ${reason}. ` +
        (expected.length > 0 ? `Undone: ${expected.join(", ")}.` : "Nothing to undo."),
    );
    // A rejection is final: the failing call was made once, not retried.
    expect(world.callsTo(call)).toBe(1);

    // Exactly these compensations ran, in this order, and no others.
    expect(names.filter((name) => ALL_COMPENSATIONS.includes(name))).toEqual(expected);
    for (const name of expected) {
      expect(runner.getOperation(name).getType()).toBe(OperationType.STEP);
      expect(runner.getOperation(name).getStatus()).toBe(OperationStatus.SUCCEEDED);
    }
    const started = expected.map((name) => runner.getOperation(name).getStartTimestamp()?.getTime() ?? 0);
    expect([...started].sort((a, b) => a - b)).toEqual(started);
    // The providers saw the same thing: one undo per compensation, in that order, each with its own key.
    const service: Record<string, string> = {
      "refund-payment": "refunds.refund",
      "cancel-car": "cars.cancel",
      "cancel-hotel": "hotels.cancel",
      "cancel-flight": "flights.cancel",
    };
    expect(undoCalls(world)).toEqual(expected.map((name) => `${service[name]} trip-2041:${name}`));
    expect(names).not.toContain("alert-operations");
    expect(world.callsTo("operations.alert")).toBe(0);
    // Nothing runs after the failure but the compensations.
    const forward = ["reserve-flight", "reserve-hotel", "reserve-car", "charge-payment", "confirm-booking"];
    expect(names.filter((name) => forward.includes(name)).at(-1)).toBe(failedAt);
  });
});

describeLocal("compensations that fail", () => {
  it("retries a compensation that fails transiently, with the same key, then carries on", async () => {
    const world = simulatedWorld({
      faults: { "itineraries.confirm": ["rejected"], "hotels.cancel": ["unavailable", "unavailable"] },
    });
    const { runner, result, names } = await runTrip(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toBe(
      "Booking trip-2041 failed at confirm-booking: itinerary service rejected the booking (422). " +
        "Undone: refund-payment, cancel-car, cancel-hotel, cancel-flight.",
    );
    expect(runner.getOperation("cancel-hotel").getStatus()).toBe(OperationStatus.SUCCEEDED);
    expect(runner.getOperation("cancel-hotel").getStepDetails()?.attempt).toBe(3);
    expect(callsOf(world).filter((call) => call.call === "hotels.cancel")).toEqual([
      { call: "hotels.cancel", idempotencyKey: "trip-2041:cancel-hotel", outcome: "unavailable" },
      { call: "hotels.cancel", idempotencyKey: "trip-2041:cancel-hotel", outcome: "unavailable" },
      { call: "hotels.cancel", idempotencyKey: "trip-2041:cancel-hotel", outcome: "ok" },
    ]);
    expect(world.effectsOf("flights.cancel")).toBe(1);
    expect(names).not.toContain("alert-operations");
  });

  it.each<[string, WorldOptions, number, string]>([
    [
      "is refused (non-refundable)",
      { faults: { "hotels.cancel": ["rejected"] } },
      1,
      "hotel rate is non-refundable (409)",
    ],
    ["stays unavailable past its retries", { down: ["hotels.cancel"] }, 6, "hotels.cancel unavailable (503)"],
  ])(
    "a compensation that %s is named in the outcome and alerted, and the older ones still run",
    async (_label, options, attempts, reason) => {
      const world = simulatedWorld({
        ...options,
        faults: { ...options.faults, "itineraries.confirm": ["rejected"] },
      });
      const { runner, result, names } = await runTrip(world);

      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("BookingFailedError");
      expect(result.getError().errorMessage).toBe(
        "Booking trip-2041 failed at confirm-booking: itinerary service rejected the booking (422). " +
          "Undone: refund-payment, cancel-car, cancel-flight. " +
          `NOT undone: cancel-hotel (${reason}); operations alerted.`,
      );
      expect(runner.getOperation("cancel-hotel").getStatus()).toBe(OperationStatus.FAILED);
      expect(runner.getOperation("cancel-hotel").getStepDetails()?.attempt).toBe(attempts);
      expect(world.callsTo("hotels.cancel")).toBe(attempts);
      // The flight is older than the hotel: its cancellation still ran after the hotel's gave up.
      expect(names.filter((name) => ALL_COMPENSATIONS.includes(name))).toEqual(ALL_COMPENSATIONS);
      expect(runner.getOperation("cancel-flight").getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(names.at(-1)).toBe("alert-operations");
      expect(runner.getOperation("alert-operations").getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(callsOf(world).filter((call) => call.call === "operations.alert")).toEqual([
        { call: "operations.alert", idempotencyKey: "trip-2041:alert-operations", outcome: "ok" },
      ]);
    },
  );
});

describeLocal("idempotency", () => {
  it("retries a forward step whose reply was lost (at least once) with the same key, and books once", async () => {
    // The local runner cannot kill a sandbox mid-step; a lost reply leaves the same state a crash after the
    // call would: the provider has acted, the step has no result, and it runs again.
    const world = simulatedWorld({ faults: { "hotels.reserve": ["lost-reply"] } });
    const { runner, result } = await runTrip(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.hotelReservationId).toBe("HT-trip-2041");
    expect(runner.getOperation("reserve-hotel").getStepDetails()?.attempt).toBe(2);
    expect(callsOf(world).filter((call) => call.call === "hotels.reserve")).toEqual([
      { call: "hotels.reserve", idempotencyKey: "trip-2041:reserve-hotel", outcome: "lost-reply" },
      { call: "hotels.reserve", idempotencyKey: "trip-2041:reserve-hotel", outcome: "ok" },
    ]);
    expect(world.effectsOf("hotels.reserve")).toBe(1);
  });

  it("derives different keys for different bookings", async () => {
    const world = simulatedWorld();
    await runTrip(world, { payload: { ...sampleTrip, bookingId: "trip-2042" } });
    expect(callsOf(world).map((call) => call.idempotencyKey)).toEqual([
      "trip-2042:reserve-flight",
      "trip-2042:reserve-hotel",
      "trip-2042:reserve-car",
      "trip-2042:charge-payment",
      "trip-2042:confirm-booking",
    ]);
  });
});

describe("bad input fails before anything is reserved", () => {
  it.each([
    [
      "an empty event",
      {},
      "bookingId is required; traveller is required; flight is required; hotel is required; car is required; price is required",
    ],
    ["not an object", "trip-2041", "event"],
    [
      "a bad airport",
      { ...sampleTrip, flight: { ...sampleTrip.flight, to: "New York" } },
      "flight.to must be a three-letter IATA airport code",
    ],
    [
      "a return before departure",
      { ...sampleTrip, flight: { ...sampleTrip.flight, returnOn: "2027-05-01" } },
      "flight.returnOn must be after flight.departOn",
    ],
    [
      "a bad date",
      { ...sampleTrip, flight: { ...sampleTrip.flight, departOn: "3 May" } },
      "flight.departOn must be a date (YYYY-MM-DD)",
    ],
    [
      "a party of zero",
      { ...sampleTrip, traveller: { ...sampleTrip.traveller, party: 0 } },
      "traveller.party must be at least 1",
    ],
    [
      "an unknown car category",
      { ...sampleTrip, car: { category: "limo" } },
      "car.category must be one of compact, midsize, suv",
    ],
    [
      "a fractional price",
      { ...sampleTrip, price: { amountCents: 10.5, currency: "GBP" } },
      "price.amountCents must be a whole number of cents",
    ],
  ])("rejects %s", async (_label, payload, problem) => {
    const world = simulatedWorld();
    const { result } = await runTrip(world, { payload });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidTripRequestError");
    expect(result.getError().errorMessage).toContain(problem);
    // Locally the fakes saw no call; in the cloud (real services) the empty operation list is the proof.
    expect(world.calls).toEqual([]);
    expect(result.getOperations()).toEqual([]);
  });

  it("lists every problem at once", async () => {
    const { result } = await runTrip(simulatedWorld(), {
      payload: { ...sampleTrip, traveller: { customerId: "", email: "grace", party: 2 } },
    });
    expect(result.getError().errorMessage).toBe(
      "Invalid trip request: traveller.customerId is required; traveller.email must be an email address",
    );
  });

  // Local only: it unsets an environment variable of this process and swaps the config.
  itLocal("fails on a missing PAYMENT_FUNCTION_ARN before anything is reserved", async () => {
    const saved = process.env.PAYMENT_FUNCTION_ARN;
    delete process.env.PAYMENT_FUNCTION_ARN;
    try {
      const world = simulatedWorld();
      const { result } = await runTrip(world, {
        config: simulatedConfig({ paymentFunctionId: paymentFunctionFromEnv }),
      });
      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError()).toMatchObject({
        errorType: "ConfigurationError",
        errorMessage: "PAYMENT_FUNCTION_ARN is not set",
      });
      expect(world.calls).toEqual([]);
      expect(result.getOperations()).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.PAYMENT_FUNCTION_ARN = saved;
    }
  });
});
