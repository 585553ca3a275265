import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createHttpDeps, type CheckoutDeps } from "./deps";
import { defaultConfig, handleCheckout, type WorkflowConfig } from "./workflow";

export type {
  CallbackRegistry,
  CheckoutDeps,
  HttpDepsConfig,
  OrderStore,
  PaymentProvider,
  Warehouse,
} from "./deps";
export { API_TOKEN_SETTING, ClientError, createHttpDeps, dynamoCallbackRegistry } from "./deps";
export {
  CheckoutOrder,
  InvalidCheckoutOrderError,
  PaymentEvent,
  checkPaymentEvent,
  executionNameOf,
  parseCheckoutOrder,
  paymentEventSerdes,
} from "./input";
export {
  PaymentDeclinedError,
  PaymentInDoubtError,
  ProviderUnavailableError,
  TransientServiceError,
  isDefiniteRefusal,
  isSettingProblem,
  settlementOfRecord,
  verdictOfWebhook,
  type Settlement,
} from "./payment-outcome";
// A setting that cannot be used, found before anything is sent: never retried (see isSettingProblem).
export { HttpSettingError } from "./http-call";
export { SecretSettingError, secretSetting } from "./secret-setting";
export {
  OrderNotCancelledError,
  PaidNotShippedError,
  PaymentUnsettledError,
  defaultConfig,
  handleCheckout,
  type CheckoutOutcome,
  type WorkflowConfig,
} from "./workflow";
export { createApiHandler, publicView, type ApiDeps } from "./front-door/api";
export { createWebhookHandler, type WebhookDeps } from "./front-door/webhook";
export { createStarterHandler, type StarterDeps } from "./front-door/starter";
export {
  AwsExecutions,
  canonicalJson,
  parseQualifiedArn,
  type CompleteResult,
  type ExecutionView,
  type Executions,
  type StartResult,
} from "./front-door/executions";
export { signPayload, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./front-door/signature";

/** The seam: tests, the demo and production differ only in the deps (and durations) they pass here. */
export function createHandler(
  deps: CheckoutDeps,
  config: WorkflowConfig = defaultConfig,
): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => handleCheckout(event, context, deps, config));
}

/** The deployed durable function: the provider, warehouse and order store over HTTP (see README). */
export const handler = createHandler(createHttpDeps());
