import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import {
  afterFailure,
  createHandler,
  createPaymentHandler,
  decide,
  type BreakerRecord,
  type TripBooking,
} from "../src";
import { PAYMENT_FUNCTION_ID, sampleTrip, simulatedConfig, simulatedWorld } from "../src/demo";
import { bookTrip } from "../src/workflow";
import { callsOf, runTrip } from "./helpers";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the breaker's state lives in the simulated world, where the tests set and read it.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const policy = { failureThreshold: 2, coolDownMs: 60_000 };
const config = simulatedConfig({ carBreaker: policy });
const trip = (bookingId: string) => ({ ...sampleTrip, bookingId });

describeLocal("the car-rental circuit breaker", () => {
  it("counts outages across executions, opens at the threshold, then skips the car without calling it", async () => {
    const world = simulatedWorld({ down: ["cars.reserve"] });

    // First outage: the car is retried, given up, counted; the trip is booked without it.
    const first = await runTrip(world, { payload: trip("trip-a"), config });
    expect(first.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(first.result.getResult()?.car).toEqual({ status: "SKIPPED", reason: "car rental unavailable" });
    expect(first.runner.getOperation("reserve-car").getStatus()).toBe(OperationStatus.FAILED);
    expect(first.runner.getOperation("reserve-car").getStepDetails()?.attempt).toBe(2);
    expect(first.runner.getOperation("record-car-failure").getStepDetails()?.result).toEqual({
      state: "closed",
      consecutiveFailures: 1,
      version: 1,
    });
    // Degrading is not failing: nothing is compensated.
    expect(first.names).not.toContain("cancel-hotel");

    // Second outage reaches the threshold: the circuit opens.
    const second = await runTrip(world, { payload: trip("trip-b"), config });
    expect(second.result.getResult()?.car).toEqual({
      status: "SKIPPED",
      reason: "car rental unavailable; circuit opened after 2 failures",
    });
    expect(world.breaker()).toMatchObject({ state: "open", consecutiveFailures: 2, version: 2 });
    expect(world.callsTo("cars.reserve")).toBe(4);

    // Open: the third booking reads the circuit, skips the car at once and never calls the provider.
    const third = await runTrip(world, { payload: trip("trip-c"), config });
    expect(third.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(third.result.getResult()).toMatchObject({
      status: "CONFIRMED",
      car: { status: "SKIPPED", reason: "car rental circuit is open after 2 failures" },
    });
    expect(third.runner.getOperation("check-car-circuit").getStepDetails()?.result).toMatchObject({
      state: "open",
    });
    expect(third.names).toEqual([
      "check-settings",
      "find-confirmed-booking",
      "reserve-flight",
      "reserve-hotel",
      "check-car-circuit",
      "charge-payment",
      "confirm-booking",
    ]);
    expect(world.callsTo("cars.reserve")).toBe(4);
    // The itinerary was confirmed without a car.
    expect(
      callsOf(world)
        .filter((call) => call.call === "itineraries.confirm")
        .map((call) => call.idempotencyKey),
    ).toEqual(["trip-a:confirm-booking", "trip-b:confirm-booking", "trip-c:confirm-booking"]);
  });

  it("lets one booking try after the cool-down (half-open), and closes the circuit when it works", async () => {
    const world = simulatedWorld({
      breaker: { state: "open", consecutiveFailures: 2, openedAt: Date.now() - 61_000, version: 2 },
    });
    const { runner, result } = await runTrip(world, { config });

    expect(result.getResult()?.car).toEqual({ status: "RESERVED", reservationId: "CR-trip-2041" });
    expect(runner.getOperation("check-car-circuit").getStepDetails()?.result).toMatchObject({
      state: "half-open",
    });
    expect(runner.getOperation("close-car-circuit").getStatus()).toBe(OperationStatus.SUCCEEDED);
    // Two writes: the claim of the trial (conditional on version 2), then the reset.
    expect(world.breakerWrites).toMatchObject([
      { state: "open", version: 3, trialStartedAt: expect.any(Number) as unknown },
      {},
    ]);
    expect(world.breaker()).toEqual({ state: "closed", consecutiveFailures: 0, version: 4 });
  });

  it("re-opens at once when the half-open trial fails", async () => {
    const world = simulatedWorld({
      down: ["cars.reserve"],
      breaker: { state: "open", consecutiveFailures: 2, openedAt: Date.now() - 61_000, version: 2 },
    });
    const { result } = await runTrip(world, { config });

    expect(result.getResult()?.car).toMatchObject({ status: "SKIPPED" });
    expect(world.breaker()).toMatchObject({ state: "open", consecutiveFailures: 3, version: 4 });
    expect(world.breaker()).not.toHaveProperty("trialStartedAt");
    expect(world.breaker()!.openedAt).toBeGreaterThan(Date.now() - 10_000);
  });

  it("admits exactly one half-open trial when bookings check the circuit at the same time", async () => {
    const world = simulatedWorld({
      breaker: { state: "open", consecutiveFailures: 2, openedAt: Date.now() - 61_000, version: 2 },
    });
    // Three bookings whose checks read the record before any of them writes: the worst interleaving.
    let reads = 0;
    let release: () => void = () => undefined;
    const allRead = new Promise<void>((resolve) => (release = resolve));
    const deps = {
      ...world.deps,
      breakerStore: {
        ...world.deps.breakerStore,
        get: async (circuit: string) => {
          const record = await world.deps.breakerStore.get(circuit);
          if (++reads === 3) release();
          await allRead;
          return record;
        },
      },
    };
    const book = (bookingId: string) => {
      const runner = new LocalDurableTestRunner<TripBooking>({
        handlerFunction: createHandler(deps, config),
      });
      runner.registerDurableFunction(PAYMENT_FUNCTION_ID, createPaymentHandler(world.paymentDeps));
      return runner.run({ payload: trip(bookingId) }).then((result) => ({ runner, result }));
    };

    const runs = await Promise.all([book("trip-x"), book("trip-y"), book("trip-z")]);

    // The rental company's record: one reservation attempt in all, by the booking that won the claim.
    expect(world.callsTo("cars.reserve")).toBe(1);
    expect(world.reservations.filter((r) => r.service === "cars")).toHaveLength(1);
    const cars = runs.map(({ result }) => result.getResult()?.car);
    expect(cars.filter((car) => car?.status === "RESERVED")).toHaveLength(1);
    expect(cars.filter((car) => car?.status === "SKIPPED")).toEqual([
      { status: "SKIPPED", reason: "car rental circuit is half-open and another booking has the trial" },
      { status: "SKIPPED", reason: "car rental circuit is half-open and another booking has the trial" },
    ]);
    for (const { result } of runs) expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.breaker()).toEqual({ state: "closed", consecutiveFailures: 0, version: 4 });
  });

  it("a trial claimed and never finished (its booking died) is taken as abandoned after a cool-down", () => {
    const now = Date.now();
    const claimed = { state: "open" as const, consecutiveFailures: 2, openedAt: now - 200_000, version: 3 };
    expect(decide({ ...claimed, trialStartedAt: now - 30_000 }, now, policy).state).toBe("open");
    expect(decide({ ...claimed, trialStartedAt: now - 60_000 }, now, policy).state).toBe("half-open");
  });

  it.each<[string, ("get" | "put")[], string]>([
    ["unreadable", ["get"], "check-car-circuit"],
    ["unwritable", ["put"], "record-car-failure"],
  ])(
    "a breaker store that is %s never fails the booking: recorded in the result, and the car still released",
    async (_label, breakerFailing, operation) => {
      const world = simulatedWorld({ breakerFailing, unanswered: ["cars.reserve"] });
      const { result, names } = await runTrip(world, { config });

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const booking = result.getResult()!;
      expect(booking.car).toEqual({ status: "SKIPPED", reason: "car rental unavailable" });
      expect(booking.sideWorkFailures).toEqual(
        expect.arrayContaining([
          {
            operation,
            reason: expect.stringContaining("AccessDeniedException (simulated)") as unknown,
          },
        ]),
      );
      // The car was held behind lost replies; the saga found it by its key and cancelled it before going on.
      expect(names).toContain("release-car");
      expect(world.reservations.filter((r) => r.service === "cars")).toMatchObject([{ status: "cancelled" }]);
      expect(world.held().sort()).toEqual(["FL-trip-2041", "HT-trip-2041"]);
      expect(world.charged()).toEqual(["ch-trip-2041"]);
    },
  );

  it("a half-open claim that cannot be written (not a conflict) is taken as open: never a second trial", async () => {
    const world = simulatedWorld({
      breakerFailing: ["put"],
      breaker: { state: "open", consecutiveFailures: 3, openedAt: Date.now() - 61_000, version: 3 },
    });
    const { result } = await runTrip(world, { config });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.car).toEqual({
      status: "SKIPPED",
      reason: "car rental circuit is open after 3 failures",
    });
    expect(result.getResult()?.sideWorkFailures).toEqual([
      {
        operation: "check-car-circuit",
        reason: "trial not claimed, taken as open: breaker store put: AccessDeniedException (simulated)",
      },
    ]);
    expect(world.callsTo("cars.reserve")).toBe(0);
  });

  it("a store that fails after a successful car keeps the car and the booking", async () => {
    const world = simulatedWorld({
      breakerFailing: ["put"],
      breaker: { state: "closed", consecutiveFailures: 1, version: 1 },
    });
    const { result, runner } = await runTrip(world, { config });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.car).toEqual({ status: "RESERVED", reservationId: "CR-trip-2041" });
    expect(runner.getOperation("close-car-circuit").getStatus()).toBe(OperationStatus.FAILED);
    expect(result.getResult()?.sideWorkFailures).toEqual([
      { operation: "close-car-circuit", reason: "breaker store put: AccessDeniedException (simulated)" },
    ]);
    expect(world.held().sort()).toEqual(["CR-trip-2041", "FL-trip-2041", "HT-trip-2041"]);
    expect(world.callsTo("cars.cancel")).toBe(0);
  });

  it("holds its decision across replay, even when the store changes between invocations", async () => {
    // Open when the booking checks it; closed by an operator while the payment function runs. The saga is
    // suspended during the invoke and replays afterwards: the check is a checkpointed step, so the replay
    // takes the same branch and the car stays skipped.
    const world = simulatedWorld({
      breaker: { state: "open", consecutiveFailures: 3, openedAt: Date.now(), version: 3 },
    });
    let storeReads = 0;
    const deps = {
      ...world.deps,
      breakerStore: {
        ...world.deps.breakerStore,
        get: (circuit: string) => (storeReads++, world.deps.breakerStore.get(circuit)),
      },
    };
    let handlerBodyRuns = 0;
    const handler = withDurableExecution(async (event: unknown, context) => {
      handlerBodyRuns += 1;
      return bookTrip(event, context, deps, config);
    });
    const payment = createPaymentHandler(world.paymentDeps);
    const runner = new LocalDurableTestRunner<TripBooking>({ handlerFunction: handler });
    runner.registerDurableFunction(PAYMENT_FUNCTION_ID, (input, lambdaContext) => {
      world.setBreaker({ state: "closed", consecutiveFailures: 0, version: 4 });
      return payment(input, lambdaContext);
    });

    const result = await runner.run({ payload: sampleTrip });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(handlerBodyRuns).toBe(result.getInvocations().length);
    expect(storeReads).toBe(1); // the check ran once; the replay read its checkpoint
    expect(world.breaker()).toMatchObject({ state: "closed" }); // the store did change
    expect(result.getResult()?.car).toEqual({
      status: "SKIPPED",
      reason: "car rental circuit is open after 3 failures",
    });
    expect(world.callsTo("cars.reserve")).toBe(0);
    expect(result.getOperations().map((operation) => operation.getName())).not.toContain("reserve-car");
  });

  it("the field guide's closure breaker changes its mind on replay and breaks the execution", async () => {
    // The guide keeps failures and openedAt in an object in memory and asks it outside any step. A new
    // sandbox (or a cool-down that elapses between invocations) gives a different answer on replay, the
    // replay takes the other branch, and the SDK stops the execution as non-deterministic.
    const world = simulatedWorld();
    const closureBreaker = { failures: 5, openedAt: Date.now(), isOpen: () => closureBreaker.failures >= 5 };
    const handler = withDurableExecution(async (_event: unknown, context) => {
      if (!closureBreaker.isOpen()) {
        await context.step("reserve-car", () =>
          world.deps.cars.reserve({
            bookingId: "b",
            pickUpAt: "JFK",
            from: "",
            to: "",
            category: "suv",
            idempotencyKey: "b:car",
          }),
        );
      }
      return context.invoke("charge-payment", PAYMENT_FUNCTION_ID, {
        bookingId: "b",
        customerId: "c",
        amountCents: 1,
        currency: "GBP",
        idempotencyKey: "b:charge",
      });
    });
    const payment = createPaymentHandler(world.paymentDeps);
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    runner.registerDurableFunction(PAYMENT_FUNCTION_ID, (input, lambdaContext) => {
      closureBreaker.failures = 0; // the next invocation lands in a fresh sandbox: the counter is gone
      return payment(input, lambdaContext);
    });

    const result = await runner.run({ payload: {} });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("NonDeterministicExecutionError");
  });
});

describe("the breaker's rules", () => {
  const now = 1_000_000;
  it.each<[string, BreakerRecord | undefined, number, string]>([
    ["no record", undefined, now, "closed"],
    ["closed with failures", { state: "closed", consecutiveFailures: 1, version: 1 }, now, "closed"],
    [
      "open, cooling down",
      { state: "open", consecutiveFailures: 2, openedAt: now - 59_999, version: 2 },
      now,
      "open",
    ],
    [
      "open, cooled down",
      { state: "open", consecutiveFailures: 2, openedAt: now - 60_000, version: 2 },
      now,
      "half-open",
    ],
  ])("%s reads as %s", (_label, record, at, state) => {
    expect(decide(record, at, policy).state).toBe(state);
  });

  it("opens at the threshold", () => {
    const once = afterFailure(undefined, now, policy);
    expect(once).toEqual({ state: "closed", consecutiveFailures: 1, version: 1 });
    expect(afterFailure(once, now, policy)).toEqual({
      state: "open",
      consecutiveFailures: 2,
      openedAt: now,
      version: 2,
    });
  });
});
