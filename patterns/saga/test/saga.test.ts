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
    // First a look-up by booking id (is it confirmed already?); then every call carries a key made of the
    // booking id and the operation name.
    expect(callsOf(world).map((call) => `${call.call} ${call.idempotencyKey}`)).toEqual([
      "itineraries.find trip-2041",
      "flights.reserve trip-2041:reserve-flight",
      "hotels.reserve trip-2041:reserve-hotel",
      "cars.reserve trip-2041:reserve-car",
      "gateway.charge trip-2041:charge-payment",
      "itineraries.confirm trip-2041:confirm-booking",
    ]);
    expect(names).toEqual([
      "check-settings",
      "find-confirmed-booking",
      "reserve-flight",
      "reserve-hotel",
      "check-car-circuit",
      "reserve-car",
      "charge-payment",
      "confirm-booking",
    ]);
    for (const name of [
      "check-settings",
      "find-confirmed-booking",
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
      `Booking trip-2041 failed at ${failedAt}: "${reason}". ` +
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
      'Booking trip-2041 failed at confirm-booking: "itinerary service rejected the booking (422)". ' +
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
        'Booking trip-2041 failed at confirm-booking: "itinerary service rejected the booking (422)". ' +
          "Undone: refund-payment, cancel-car, cancel-flight. " +
          `NOT undone: cancel-hotel ("${reason}"); operations alerted.`,
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
      "trip-2042", // find-confirmed-booking asks by booking id
      "trip-2042:reserve-flight",
      "trip-2042:reserve-hotel",
      "trip-2042:reserve-car",
      "trip-2042:charge-payment",
      "trip-2042:confirm-booking",
    ]);
  });
});

describeLocal(
  "each forward call in doubt: the compensation registered before it finds the action by key",
  () => {
    it.each<[string, ServiceCall, "flights" | "hotels", string[]]>([
      ["reserve-flight", "flights.reserve", "flights", ["cancel-flight"]],
      ["reserve-hotel", "hotels.reserve", "hotels", ["cancel-hotel", "cancel-flight"]],
    ])(
      "%s acts and every reply is lost: it is cancelled by its key, nothing is left held",
      async (failedAt, call, service, undone) => {
        const world = simulatedWorld({ unanswered: [call] });
        const { runner, result } = await runTrip(world);

        expect(result.getError().errorMessage).toBe(
          `Booking trip-2041 failed at ${failedAt}: "${call}: timed out after sending the request". ` +
            `Undone: ${undone.join(", ")}.`,
        );
        // Retried with the same key (3 attempts), acted once, then found and cancelled by that key.
        expect(world.callsTo(call)).toBe(3);
        expect(world.reservations.filter((r) => r.service === service)).toMatchObject([
          { status: "cancelled" },
        ]);
        expect(runner.getOperation(undone[0]!).getStepDetails()?.result).toMatchObject({
          note: expect.stringMatching(/by its key and undid it$/) as unknown,
        });
        expect(world.held()).toEqual([]);
        expect(world.charges).toEqual([]);
      },
    );

    it("a forward call whose outage lasts past its retries: the look-up by key finds nothing, nothing is undone", async () => {
      const world = simulatedWorld({ down: ["hotels.reserve"] });
      const { runner, result } = await runTrip(world);

      expect(result.getError().errorMessage).toBe(
        'Booking trip-2041 failed at reserve-hotel: "hotels.reserve unavailable (503)". Undone: cancel-flight.',
      );
      expect(runner.getOperation("cancel-hotel").getStepDetails()?.result).toEqual({
        undid: null,
        note: "nothing was done under its key",
      });
      expect(world.held()).toEqual([]);
    });

    it("a 500 that did nothing is in doubt, retried with the same key, and books once", async () => {
      const world = simulatedWorld({ faults: { "flights.reserve": ["server-error"] } });
      const { result } = await runTrip(world);

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(world.callsTo("flights.reserve")).toBe(2);
      expect(world.reservations.filter((r) => r.service === "flights")).toHaveLength(1);
    });

    it("the car held behind lost replies is released by key at once; the trip is confirmed without it", async () => {
      const world = simulatedWorld({ unanswered: ["cars.reserve"] });
      const { result, names } = await runTrip(world);

      expect(result.getResult()).toMatchObject({
        status: "CONFIRMED",
        car: { status: "SKIPPED", reason: "car rental unavailable" },
      });
      expect(names).toContain("release-car");
      expect(world.reservations.filter((r) => r.service === "cars")).toMatchObject([{ status: "cancelled" }]);
      expect(world.itineraries).toMatchObject([{ flightReservationId: "FL-trip-2041" }]);
      expect(world.itineraries[0]).not.toHaveProperty("carReservationId");
      expect(world.held().sort()).toEqual(["FL-trip-2041", "HT-trip-2041"]);
    });

    it("a car that cannot be released is reported at once, and the result says so", async () => {
      const world = simulatedWorld({ unanswered: ["cars.reserve"], down: ["cars.cancel"] });
      const { result } = await runTrip(world);

      expect(result.getResult()?.car).toEqual({
        status: "SKIPPED",
        reason: "car rental unavailable",
        notReleased: '"cars.cancel unavailable (503)"; operations alerted',
      });
      expect(world.alerts).toMatchObject([
        { failedAt: "reserve-car", notUndone: [{ compensation: "release-car" }] },
      ]);
      expect(world.held()).toContain("CR-trip-2041");
    });

    it("…and if that booking then fails, its error still names the car", async () => {
      const world = simulatedWorld({
        unanswered: ["cars.reserve"],
        down: ["cars.cancel"],
        faults: { "gateway.charge": ["rejected"] },
      });
      const { result } = await runTrip(world);

      expect(result.getError().errorMessage).toBe(
        'Booking trip-2041 failed at charge-payment: "card declined (402)". Undone: cancel-hotel, cancel-flight. ' +
          'NOT undone: release-car ("cars.cancel unavailable (503)"); operations alerted.',
      );
      expect(world.alerts.map((alert) => alert.failedAt)).toEqual(["reserve-car", "charge-payment"]);
    });

    it("confirm-booking in doubt: everything is undone, and the itinerary that may have been sent is reported", async () => {
      const world = simulatedWorld({ unanswered: ["itineraries.confirm"] });
      const { result } = await runTrip(world);

      expect(result.getError().errorMessage).toBe(
        'Booking trip-2041 failed at confirm-booking: "itineraries.confirm: timed out after sending the request". ' +
          "Undone: refund-payment, cancel-car, cancel-hotel, cancel-flight. NOT undone: confirm-booking " +
          '("itinerary may have been sent: itineraries.confirm: timed out after sending the request"); operations alerted.',
      );
      expect(world.held()).toEqual([]);
      expect(world.charges).toMatchObject([{ status: "refunded" }]);
      expect(world.alerts).toMatchObject([{ notUndone: [{ compensation: "confirm-booking" }] }]);
    });

    it("a compensation whose reply is lost is retried with its own key, and undoes once", async () => {
      const world = simulatedWorld({
        faults: { "itineraries.confirm": ["rejected"], "hotels.cancel": ["lost-reply", "lost-reply"] },
      });
      const { result } = await runTrip(world);

      expect(result.getError().errorMessage).toContain(
        "Undone: refund-payment, cancel-car, cancel-hotel, cancel-flight.",
      );
      expect(world.callsTo("hotels.cancel")).toBe(3);
      expect(world.effectsOf("hotels.cancel")).toBe(1);
      expect(world.held()).toEqual([]);
    });
  },
);

describeLocal("the alert that reports what was not undone can fail too", () => {
  it("retried patiently, then given up: the error still names what was not undone, and that nobody was told", async () => {
    const world = simulatedWorld({
      faults: { "itineraries.confirm": ["rejected"], "hotels.cancel": ["rejected"] },
      down: ["operations.alert"],
    });
    const { runner, result } = await runTrip(world);

    expect(result.getError().errorType).toBe("BookingFailedError");
    expect(result.getError().errorMessage).toBe(
      'Booking trip-2041 failed at confirm-booking: "itinerary service rejected the booking (422)". ' +
        'Undone: refund-payment, cancel-car, cancel-flight. NOT undone: cancel-hotel ("hotel rate is non-refundable ' +
        '(409)"); operations NOT alerted ("operations.alert unavailable (503)").',
    );
    expect(runner.getOperation("alert-operations").getStepDetails()?.attempt).toBe(12);
    expect(world.alerts).toEqual([]);
    expect(world.held()).toEqual(["HT-trip-2041"]);
  });
});

describeLocal("a booking id reused after a failed attempt", () => {
  it("gets new keys: the second attempt makes new reservations and never confirms the cancelled ones", async () => {
    const world = simulatedWorld({ faults: { "itineraries.confirm": ["rejected"] } });
    const first = await runTrip(world);
    expect(first.result.getError().errorType).toBe("BookingFailedError");
    expect(world.held()).toEqual([]);

    const second = await runTrip(world);

    expect(second.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const booking = second.result.getResult()!;
    expect(booking).toMatchObject({
      flightReservationId: "FL-trip-2041-2",
      hotelReservationId: "HT-trip-2041-2",
      car: { status: "RESERVED", reservationId: "CR-trip-2041-2" },
      chargeId: "ch-trip-2041-2",
    });
    // The providers' records: what the confirmed itinerary names is held and charged; the first attempt's
    // reservations stay cancelled and its charge refunded.
    const confirmed = world.itineraries.at(-1)!;
    const statusOf = (id: string | undefined) =>
      world.reservations.find((r) => r.reservationId === id)?.status;
    expect(
      [confirmed.flightReservationId, confirmed.hotelReservationId, confirmed.carReservationId].map(statusOf),
    ).toEqual(["held", "held", "held"]);
    expect(["FL-trip-2041", "HT-trip-2041", "CR-trip-2041"].map(statusOf)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
    expect(world.charged()).toEqual(["ch-trip-2041-2"]);
    // Same booking id, same operation, different execution: different keys.
    const keysOf = (call: ServiceCall) =>
      world.calls.filter((c) => c.call === call).map((c) => c.idempotencyKey);
    const [firstKey, secondKey] = keysOf("flights.reserve");
    expect(firstKey).toMatch(/^trip-2041:[0-9a-f]{12}:reserve-flight$/);
    expect(secondKey).toMatch(/^trip-2041:[0-9a-f]{12}:reserve-flight$/);
    expect(secondKey).not.toBe(firstKey);
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
    [
      "a booking id of only spaces",
      { ...sampleTrip, bookingId: "     " },
      "bookingId must be 3-64 letters, digits or dashes",
    ],
    [
      "a customer id of only spaces",
      { ...sampleTrip, traveller: { ...sampleTrip.traveller, customerId: "   " } },
      "traveller.customerId is required",
    ],
    [
      "a hotel id of 100 KB",
      { ...sampleTrip, hotel: { hotelId: "h".repeat(100_000) } },
      "hotel.hotelId must be at most 256 characters",
    ],
    [
      "an email of 100 KB",
      { ...sampleTrip, traveller: { ...sampleTrip.traveller, email: `${"g".repeat(100_000)}@example.com` } },
      "traveller.email must be at most 254 characters",
    ],
    [
      "a total past the maximum of 100,000.00 (1e15 cents, and past Number.MAX_SAFE_INTEGER)",
      { ...sampleTrip, price: { amountCents: 1e15, currency: "GBP" } },
      "price.amountCents must be at most 10000000 cents",
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
