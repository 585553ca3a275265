import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createHttpDeps, type OrderDeps } from "./deps";
import { fulfilOrder, type WorkflowConfig } from "./workflow";

export type { OrderDeps, Inventory, Payments, Shipping, Notifier, HttpDepsConfig } from "./deps";
export {
  ClientError,
  NotSentError,
  OutcomeInDoubtError,
  PROVIDER_CONTRACTS,
  Reservation,
  SettingError,
  SettingUnavailableError,
  TransientServiceError,
  configFromEnv,
  createHttpDeps,
} from "./deps";
export type { CallOutcome, Classification, ProviderContract } from "./call-outcome";
export {
  classifyHttpResult,
  classifyNetworkError,
  classifyStatus,
  failedBeforeSending,
  isSettingFailure,
  notDoneForGood,
  outcomeOf,
  outcomeOfFailedStep,
} from "./call-outcome";
export { HttpSettingError } from "./http-call";
export { SecretSettingError } from "./secret-setting";
export { OrderFailedError, OrderInDoubtError } from "./order-failures";
export { attemptError } from "./provider-call";
export type { SideWorkRecord } from "./side-work";
export { InvalidOrderError, parseOrder, type Order } from "./input";
export { fulfilOrder, defaultConfig, type FulfilmentResult, type WorkflowConfig } from "./workflow";

/** The seam: tests, the demo and production differ only in the deps they pass here. */
export function createHandler(deps: OrderDeps, config: Partial<WorkflowConfig> = {}): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => fulfilOrder(event, context, deps, config));
}

/** The deployed handler: real HTTP services, configured by environment variables (see README). */
export const handler = createHandler(createHttpDeps());
