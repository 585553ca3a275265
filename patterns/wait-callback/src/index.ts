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
  MalformedResponseError,
  TransientServiceError,
  createHttpDeps,
  decisionLinks,
  joinUrl,
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
export { classifyError, classifyStatus, type CallOutcome, type Classification } from "./call-outcome";
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

/** The deployed handler: a chat webhook and two HTTP APIs, configured by environment variables (see README). */
export const handler = createHandler(createHttpDeps());
