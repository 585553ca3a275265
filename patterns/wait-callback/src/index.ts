import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createHttpDeps, type PurchaseDeps } from "./deps";
import { defaultConfig, handlePurchaseRequest, type WorkflowConfig } from "./workflow";

export type {
  ApprovalChannel,
  Decision,
  DecisionRequest,
  HttpDepsConfig,
  JobState,
  JobStatus,
  Purchasing,
  PurchaseDeps,
  Supplier,
} from "./deps";
export {
  ClientError,
  HttpSettingError,
  MalformedResponseError,
  NotSentError,
  SecretSettingError,
  TransientServiceError,
  configFromEnv,
  createHttpDeps,
  decisionLinks,
  decisionMessage,
  redactCallbackId,
} from "./deps";
export {
  ApprovalAnswer,
  MAX_ANSWER_CHARS,
  approvalAnswerSerdes,
  checkApprovalAnswer,
  type CheckedAnswer,
} from "./answers";
export {
  classifyError,
  classifyStatus,
  notSentForGood,
  refusedForGood,
  type CallOutcome,
  type Classification,
} from "./call-outcome";
export { chatText, formatAmount, plainLine } from "./chat-text";
export { checkedDeps, MAX_ERROR_CHARS } from "./checked-deps";
export { executionKey, linkKey, requestKey } from "./idempotency";
export {
  InvalidPurchaseRequestError,
  MAX_AMOUNT_MINOR_UNITS,
  parsePurchaseRequest,
  type PurchaseRequest,
} from "./input";
export { retryTransient } from "./retries";
export { verdictOf, type RefusedAnswer, type Verdict } from "./verdicts";
export {
  ApprovalRequestUndeliverableError,
  FulfilmentFailedError,
  FulfilmentNotFinishedError,
  defaultConfig,
  handlePurchaseRequest,
  OrderInDoubtError,
  OrderNotSentError,
  OrderRefusedError,
  type FailedReminder,
  type PurchaseOutcome,
  type WorkflowConfig,
} from "./workflow";

/** The seam: tests, the demo and production differ only in the deps (and durations) they pass here. */
export function createHandler(
  deps: PurchaseDeps,
  config: WorkflowConfig = defaultConfig,
): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) =>
    handlePurchaseRequest(event, context, deps, config),
  );
}

/**
 * The deployed handler: a chat webhook and two HTTP APIs, configured by environment variables, its secrets read
 * from Secrets Manager inside the steps that use them (see README).
 */
export const handler = createHandler(createHttpDeps());
