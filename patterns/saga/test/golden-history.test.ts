import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, createPaymentHandler, type TripBooking } from "../src";
import {
  PAYMENT_FUNCTION_ID,
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type WorldOptions,
} from "../src/demo";
import { expectReplayCompatible } from "./golden-history";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (describeLocal): the histories are recorded against the simulated world and its injected faults.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** The saga with the payment function registered: the invoke suspends it until the payment has finished. */
async function book(options: WorldOptions) {
  const world = simulatedWorld(options);
  const runner = new LocalDurableTestRunner<TripBooking>({
    handlerFunction: createHandler(world.deps, simulatedConfig()),
  });
  runner.registerDurableFunction(PAYMENT_FUNCTION_ID, createPaymentHandler(world.paymentDeps));
  return runner.run({ payload: sampleTrip });
}

// Fails with an explanation when a change renames, reorders, removes or inserts an operation.
// After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
describeLocal("golden history: executions in flight still replay on this code", () => {
  it("a confirmed booking: test/__golden__/booking-confirmed.json", async () => {
    const result = await book({});

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "CONFIRMED", car: { status: "RESERVED" } });
    expectReplayCompatible("booking-confirmed", result);
  });

  it("a declined card, compensated newest first: test/__golden__/payment-failed-compensated.json", async () => {
    const result = await book({ faults: { "gateway.charge": ["rejected"] } });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()?.errorType).toBe("BookingFailedError");
    expect(result.getError()?.errorMessage).toContain("Undone: cancel-car, cancel-hotel, cancel-flight.");
    expectReplayCompatible("payment-failed-compensated", result);
  });
});
