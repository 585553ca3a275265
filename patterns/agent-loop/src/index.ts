import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createRealDeps, type SupportDeps } from "./deps";
import { defaultConfig, runSupportAgent, type AgentConfig } from "./workflow";

export type {
  Alerts,
  ApprovalRequest,
  Approvals,
  HttpDepsConfig,
  Order,
  Orders,
  Payments,
  PolicyDecision,
  PriorRefund,
  RefundInDoubtAlert,
  RefundPolicy,
  RefundReason,
  SupportDeps,
} from "./deps";
export {
  HttpSettingError,
  REFUND_REASONS,
  SecretSettingError,
  TransientServiceError,
  approvalRequestKey,
  configFromEnv,
  createRealDeps,
} from "./deps";
export { UnreadableAnswerError } from "./back-office-answers";
export {
  ApprovalAnswer,
  MAX_APPROVAL_ANSWER_CHARS,
  readApprovalAnswer,
  type ApprovalOutcome,
} from "./approval-answer";
export { MAX_ANSWER_CHARS, readModelReply, type ReplyReading } from "./model-reply";
export { MAX_AMOUNT_CENTS, MAX_REFUND_CENTS, formatCents, isCents } from "./money";
export {
  decidePayment,
  decideRefund,
  refundableNow,
  refundIdempotencyKey,
  refundTargetProblem,
  type PaymentDecision,
  type RefundDecision,
  type RefundProposal,
} from "./refund-decision";
export { checkGuards, type LoopLimits, type LoopStop } from "./loop-guards";
export { retryTransientModelErrors, retryTransientServiceErrors } from "./retry-policies";
export {
  classifyFailure,
  failureForModel,
  redact,
  refundInDoubtProblem,
  settingErrorName,
  settingFailure,
  type FailureKind,
} from "./tool-failure";
export * from "./model";
export {
  classifyBedrockError,
  createBedrockModel,
  fromConverseOutput,
  toConverseInput,
  DEFAULT_MODEL_ID,
  type BedrockModelOptions,
  type ConverseClient,
} from "./bedrock";
export { scriptedModel, type ScriptedModel, type ScriptedTurn, type ModelFault } from "./scripted-model";
export {
  InvalidSupportRequestError,
  MAX_QUESTION_CHARS,
  OrderId,
  parseSupportRequest,
  type SupportRequest,
} from "./input";
export { toolSpecs, toolInputs, type ToolCall, type ToolName } from "./tools";
export {
  defaultConfig,
  runSupportAgent,
  RefundInDoubtError,
  RefundNotSentError,
  SYSTEM_PROMPT,
  type AgentConfig,
  type AgentResult,
  type RefundInDoubt,
  type ToolCallSummary,
} from "./workflow";

/** The seam: tests, the demo and production differ only in the deps (and the timeouts) they pass here. */
export function createHandler(deps: SupportDeps, config: AgentConfig = defaultConfig): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => runSupportAgent(event, context, deps, config));
}

/**
 * The deployed handler: Bedrock (BEDROCK_MODEL_ID) and the back office (BACK_OFFICE_URL, its token from the
 * secret in BACK_OFFICE_TOKEN_SECRET_ARN), read when used.
 */
export const handler = createHandler(createRealDeps());
