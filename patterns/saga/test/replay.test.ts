import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { bookTrip, createPaymentHandler, type TripBooking } from "../src";
import {
  PAYMENT_FUNCTION_ID,
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type ServiceCall,
  type WorldOptions,
} from "../src/demo";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only (itLocal): the tests wrap the handler to count its runs and count the side effects in the fakes.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/**
 * The invoke forces a suspension: the saga cannot go on until the payment function has finished, so the
 * invocation ends and a later one replays everything before it from checkpoints. The handler body runs once
 * per invocation; every side effect, forward or compensating, happens exactly once.
 */
async function runCounted(options: WorldOptions) {
  const world = simulatedWorld(options);
  let handlerBodyRuns = 0;
  const handler = withDurableExecution(async (event: unknown, context) => {
    handlerBodyRuns += 1;
    return bookTrip(event, context, world.deps, simulatedConfig());
  });
  const runner = new LocalDurableTestRunner<TripBooking>({ handlerFunction: handler });
  runner.registerDurableFunction(PAYMENT_FUNCTION_ID, createPaymentHandler(world.paymentDeps));
  const result = await runner.run({ payload: sampleTrip });
  return { world, result, handlerBodyRuns };
}

itLocal(
  "replays a confirmed booking: each side effect once, the handler body once per invocation",
  async () => {
    const { world, result, handlerBodyRuns } = await runCounted({});

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(handlerBodyRuns).toBe(invocations);
    const once: ServiceCall[] = [
      "itineraries.find",
      "flights.reserve",
      "hotels.reserve",
      "cars.reserve",
      "gateway.charge",
      "itineraries.confirm",
    ];
    for (const call of once) expect(world.callsTo(call)).toBe(1);
    expect(world.calls).toHaveLength(once.length);
  },
);

itLocal(
  "replays a failed booking: the forward steps before the invoke and every compensation run once",
  async () => {
    const { world, result, handlerBodyRuns } = await runCounted({
      faults: { "itineraries.confirm": ["rejected"] },
    });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(handlerBodyRuns).toBe(invocations);
    const once: ServiceCall[] = [
      "itineraries.find",
      "flights.reserve",
      "hotels.reserve",
      "cars.reserve",
      "gateway.charge",
      "itineraries.confirm",
      "refunds.refund",
      "cars.cancel",
      "hotels.cancel",
      "flights.cancel",
    ];
    for (const call of once) expect(world.callsTo(call)).toBe(1);
    expect(world.calls).toHaveLength(once.length);
  },
);
