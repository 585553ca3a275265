import { createHandler, createPaymentHandler, type SagaConfig, type TripBooking } from "../src";
import { PAYMENT_FUNCTION_ID, sampleTrip, simulatedConfig, type SimulatedWorld } from "../src/demo";
import { createRunner } from "./target";

/** Every compensation the saga knows, newest first: the order they run in. */
export const ALL_COMPENSATIONS = ["refund-payment", "cancel-car", "cancel-hotel", "cancel-flight"];

/**
 * One execution of the trip saga against a simulated world, with the payment function registered. In the cloud
 * (see target.ts) the deployed saga runs with its default config and invokes the deployed payment function: the
 * world and the config given here only apply locally.
 */
export async function runTrip(
  world: SimulatedWorld,
  options: { payload?: unknown; config?: SagaConfig } = {},
) {
  const runner = createRunner<TripBooking>({
    handler: createHandler(world.deps, options.config ?? simulatedConfig()),
    cloudOutput: "SagaHandlerAliasArn",
    durableFunctions: { [PAYMENT_FUNCTION_ID]: createPaymentHandler(world.paymentDeps) },
  });
  const result = await runner.run({ payload: options.payload ?? sampleTrip });
  return { runner, result, names: result.getOperations().map((operation) => operation.getName() ?? "") };
}
