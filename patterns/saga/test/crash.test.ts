import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, createPaymentHandler, type SagaConfig, type TripBooking } from "../src";
import {
  PAYMENT_FUNCTION_ID,
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type ServiceCall,
  type SimulatedWorld,
} from "../src/demo";
import { crashAfter } from "./crash";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The crash rows of the README's table: the sandbox dies after a call and before the checkpoint that records
// it (test/crash.ts), and a fresh sandbox runs the handler again from the checkpoint server's state. The
// providers keep what they did; the assertions read their records. Local only: the crash needs the local runner.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

async function crashTrip(
  world: SimulatedWorld,
  operation: string,
  options: { inPayment?: boolean; config?: SagaConfig } = {},
) {
  const saga = createHandler(world.deps, options.config ?? simulatedConfig());
  const payment = createPaymentHandler(world.paymentDeps);
  const crash = crashAfter(options.inPayment ? payment : saga, operation);
  const runner = new LocalDurableTestRunner<TripBooking>({
    handlerFunction: options.inPayment ? saga : crash.handler,
  });
  runner.registerDurableFunction(PAYMENT_FUNCTION_ID, options.inPayment ? crash.handler : payment);
  const result = await runner.run({ payload: sampleTrip });
  const names = result.getOperations().map((op) => op.getName());
  return { runner, result, crash, names };
}

describeLocal("a crash between a forward call and its checkpoint", () => {
  it.each<[string, ServiceCall, "flights" | "hotels" | "cars"]>([
    ["reserve-flight", "flights.reserve", "flights"],
    ["reserve-hotel", "hotels.reserve", "hotels"],
    ["reserve-car", "cars.reserve", "cars"],
  ])(
    "%s runs again with the same key; the provider holds one reservation",
    async (operation, call, service) => {
      const world = simulatedWorld();
      const { result, crash } = await crashTrip(world, operation);

      expect(crash.crashes()).toBe(1);
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
      expect(world.callsTo(call)).toBe(2);
      expect(world.reservations.filter((r) => r.service === service)).toHaveLength(1);
      expect(world.held().sort()).toEqual(["CR-trip-2041", "FL-trip-2041", "HT-trip-2041"]);
      expect(world.charged()).toEqual(["ch-trip-2041"]);
    },
  );

  it("charge-card (at most once): the fresh sandbox sees the charge interrupted, looks it up by key, and books", async () => {
    const world = simulatedWorld();
    const { runner, result, crash } = await crashTrip(world, "charge-card", { inPayment: true });

    expect(crash.crashes()).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(runner.getOperation("charge-payment").getChainedInvokeDetails()?.result).toMatchObject({
      status: "CHARGED",
      chargeId: "ch-trip-2041",
      settledBy: "look-up",
    });
    // Never charged a second time: one call, one charge, found by its key.
    expect(world.callsTo("gateway.charge")).toBe(1);
    expect(world.callsTo("gateway.findCharge")).toBe(1);
    expect(world.charges).toMatchObject([{ chargeId: "ch-trip-2041", status: "charged" }]);
  });

  it("confirm-booking runs again with the same key; one itinerary is recorded", async () => {
    const world = simulatedWorld();
    const { result, crash } = await crashTrip(world, "confirm-booking");

    expect(crash.crashes()).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.callsTo("itineraries.confirm")).toBe(2);
    expect(world.itineraries).toHaveLength(1);
  });
});

describeLocal("a crash between a compensating call and its checkpoint", () => {
  it.each<[string, ServiceCall]>([
    ["refund-payment", "refunds.refund"],
    ["cancel-car", "cars.cancel"],
    ["cancel-hotel", "hotels.cancel"],
    ["cancel-flight", "flights.cancel"],
  ])("%s runs again with the same key; everything is still undone once", async (operation, call) => {
    const world = simulatedWorld({ faults: { "itineraries.confirm": ["rejected"] } });
    const { result, crash } = await crashTrip(world, operation);

    expect(crash.crashes()).toBe(1);
    expect(result.getError().errorMessage).toContain(
      "Undone: refund-payment, cancel-car, cancel-hotel, cancel-flight.",
    );
    expect(world.callsTo(call)).toBe(2);
    expect(world.effectsOf(call)).toBe(1);
    expect(world.held()).toEqual([]);
    expect(world.charges).toMatchObject([{ status: "refunded" }]);
  });

  it("alert-operations runs again with the same key; operations get one alert", async () => {
    const world = simulatedWorld({
      faults: { "itineraries.confirm": ["rejected"], "hotels.cancel": ["rejected"] },
    });
    const { result, crash } = await crashTrip(world, "alert-operations");

    expect(crash.crashes()).toBe(1);
    expect(result.getError().errorMessage).toContain(
      'NOT undone: cancel-hotel ("hotel rate is non-refundable (409)"); operations alerted.',
    );
    expect(world.callsTo("operations.alert")).toBe(2);
    expect(world.alerts).toHaveLength(1);
  });

  it("alert-car-not-released runs again with the same key; operations get one alert about the car", async () => {
    const world = simulatedWorld({ unanswered: ["cars.reserve"], down: ["cars.cancel"] });
    const { result, crash } = await crashTrip(world, "alert-car-not-released");

    expect(crash.crashes()).toBe(1);
    expect(result.getResult()?.car).toMatchObject({
      status: "SKIPPED",
      notReleased: expect.any(String) as unknown,
    });
    expect(world.callsTo("operations.alert")).toBe(2);
    expect(world.alerts).toMatchObject([
      { failedAt: "reserve-car", notUndone: [{ compensation: "release-car" }] },
    ]);
  });

  it("release-car runs again; the car found by its key is already cancelled, and the trip goes on without it", async () => {
    const world = simulatedWorld({ unanswered: ["cars.reserve"] });
    const { runner, result, crash } = await crashTrip(world, "release-car");

    expect(crash.crashes()).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.car).toEqual({ status: "SKIPPED", reason: "car rental unavailable" });
    expect(runner.getOperation("release-car").getStepDetails()?.result).toEqual({
      undid: null,
      note: "CR-trip-2041 was already undone",
    });
    expect(world.callsTo("cars.cancel")).toBe(1);
    expect(world.reservations.filter((r) => r.service === "cars")).toMatchObject([{ status: "cancelled" }]);
  });
});

describeLocal("a crash in the breaker's side work", () => {
  const config = simulatedConfig({ carBreaker: { failureThreshold: 3, coolDownMs: 60_000 } });

  it("check-car-circuit after claiming the half-open trial: the re-run recognises its own claim and tries the car", async () => {
    const world = simulatedWorld({
      breaker: { state: "open", consecutiveFailures: 3, openedAt: Date.now() - 61_000, version: 3 },
    });
    const { result, crash } = await crashTrip(world, "check-car-circuit", { config });

    expect(crash.crashes()).toBe(1);
    expect(result.getResult()?.car).toEqual({ status: "RESERVED", reservationId: "CR-trip-2041" });
    expect(world.callsTo("cars.reserve")).toBe(1);
    expect(world.breaker()).toEqual({ state: "closed", consecutiveFailures: 0, version: 5 });
  });

  it("record-car-failure: the re-run counts the outage again (side work: an over-count, never a failed booking)", async () => {
    const world = simulatedWorld({ down: ["cars.reserve"] });
    const { result, crash } = await crashTrip(world, "record-car-failure", { config });

    expect(crash.crashes()).toBe(1);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.breaker()).toMatchObject({ state: "closed", consecutiveFailures: 2, version: 2 });
  });
});
