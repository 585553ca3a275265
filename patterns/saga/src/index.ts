import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createRealDeps, type TripDeps } from "./deps";
import { bookTrip, defaultConfig, type SagaConfig } from "./workflow";

export type {
  BreakerStore,
  CarRental,
  Flights,
  Hotels,
  Itineraries,
  Operations,
  RealDepsConfig,
  Refunds,
  Reservation,
  TripDeps,
} from "./deps";
export type { HeldReservation } from "./deps";
export {
  BREAKER_TABLE_TIMEOUTS,
  BreakerTableError,
  CorruptBreakerRecordError,
  OutcomeInDoubtError,
  ProviderRejectedError,
  ProviderUnavailableError,
  StaleBreakerRecordError,
  configFromEnv,
  createDynamoDbBreakerStore,
  createRealDeps,
} from "./deps";
export { HttpSettingError } from "./http-call";
export { SecretSettingError } from "./secret-setting";
export { InvalidTripRequestError, parseTripRequest, type TripRequest } from "./input";
export {
  AlreadyBookedError,
  BookingFailedError,
  CAR_CIRCUIT,
  ConfigurationError,
  bookTrip,
  defaultConfig,
  paymentFunctionFromEnv,
  type CarOutcome,
  type SideWorkFailure,
  type SagaConfig,
  type TripBooking,
} from "./workflow";
export { idempotencyKey, executionPart } from "./idempotency";
export {
  classifyNetworkError,
  classifyStatus,
  outcomeOfFailedCharge,
  outcomeOfFailedStep,
  type CallOutcome,
  type Classification,
} from "./call-outcome";
export {
  afterFailure,
  afterSuccess,
  claimTrial,
  decide,
  type BreakerDecision,
  type BreakerPolicy,
  type BreakerRecord,
} from "./breaker";
export {
  InvalidPaymentRequestError,
  chargeForBooking,
  chargeRetryStrategy,
  createHttpPaymentGateway,
  createPaymentHandler,
  paymentHandler,
  type PaymentDeps,
  type PaymentGateway,
  type PaymentResult,
  type PaymentRequest,
} from "./payment";

/** The seam: tests, the demo and production differ only in the deps (and config) they pass here. */
export function createHandler(deps: TripDeps, config: SagaConfig = defaultConfig): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => bookTrip(event, context, deps, config));
}

/**
 * The deployed trip saga: real providers over HTTP, the breaker in DynamoDB, the payment function's ARN from
 * PAYMENT_FUNCTION_ARN, the providers' token from the secret in TRIP_API_TOKEN_SECRET_ARN (see README). Nothing is
 * read from the environment, or from Secrets Manager, at import time.
 */
export const handler = createHandler(createRealDeps());
