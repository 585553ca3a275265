import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, createPaymentHandler, type SagaConfig, type TripBooking } from "../src";
import { PAYMENT_FUNCTION_ID, sampleTrip, simulatedConfig, type SimulatedWorld } from "../src/demo";

/** Every compensation the saga knows, newest first: the order they run in. */
export const ALL_COMPENSATIONS = ["refund-payment", "cancel-car", "cancel-hotel", "cancel-flight"];

/** One execution of the trip saga against a simulated world, with the payment function registered. */
export async function runTrip(
  world: SimulatedWorld,
  options: { payload?: unknown; config?: SagaConfig } = {},
) {
  const runner = new LocalDurableTestRunner<TripBooking>({
    handlerFunction: createHandler(world.deps, options.config ?? simulatedConfig()),
  });
  runner.registerDurableFunction(PAYMENT_FUNCTION_ID, createPaymentHandler(world.paymentDeps));
  const result = await runner.run({ payload: options.payload ?? sampleTrip });
  return { runner, result, names: result.getOperations().map((operation) => operation.getName() ?? "") };
}
