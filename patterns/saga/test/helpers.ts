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

/**
 * Keys carry the execution (`trip-2041:5f0c2a9be1d4:reserve-hotel`, see src/idempotency.ts); for reading a
 * run's calls, drop that part: `trip-2041:reserve-hotel`. Tests of the execution part itself use the raw keys.
 */
export const withoutExecution = (key: string) => key.replace(/:[0-9a-f]{12}:/, ":");

/** The world's calls, keys without the execution part. */
export const callsOf = (world: SimulatedWorld) =>
  world.calls.map((call) => ({ ...call, idempotencyKey: withoutExecution(call.idempotencyKey) }));
