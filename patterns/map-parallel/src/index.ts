import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createRealDeps, type BillingDeps } from "./deps";
import { defaultConfig, runBillingBatch, type WorkflowConfig } from "./workflow";

export type {
  BillingDeps,
  Crm,
  CrmRecord,
  DeliveryRequest,
  DocumentStore,
  FxProvider,
  FxQuote,
  FxQuoteRequest,
  InvoiceRecipient,
  InvoiceRenderer,
  InvoiceSender,
  Ledger,
  LedgerAccount,
  RealDepsConfig,
  S3Sender,
  ServiceName,
  TaxRegistry,
  TaxStatus,
} from "./deps";
export {
  AnswerRejectedError,
  crmRecord,
  deliveryReceipt,
  fxQuote,
  IssuedWithOtherContentError,
  ledgerAccount,
  MAX_ANSWER_BYTES,
  MAX_FX_RATE,
  taxStatus,
} from "./answers";
export {
  classifyRead,
  classifySend,
  ConfigurationError,
  DeliveryFailedError,
  deliveryFailure,
  deliveryOutcomeOf,
  ProviderHttpError,
  ProviderUnreachableError,
  SEND_STATUS_RULES,
  worthAnotherPass,
  type Outcome,
  type Verdict,
} from "./call-outcomes";
export {
  agreeOnRate,
  convert,
  MAX_DEVIATION_PER_MILLE,
  QUOTES_NEEDED,
  type Discarded,
  type FxDecision,
} from "./fx-rate";
export {
  PROVIDER_CONCURRENCY_LIMIT,
  checkSendSettings,
  configFromEnv,
  createRealDeps,
  dueDate,
  FX_PROVIDERS,
  redact,
  renderInvoiceHtml,
  serviceUrl,
  settingsOf,
} from "./deps";
export {
  InvalidBatchError,
  MAX_INVOICE_AMOUNT_CENTS,
  MAX_INVOICES_PER_BATCH,
  parseInvoiceBatch,
  type Invoice,
  type InvoiceBatch,
} from "./input";
export {
  BatchNotStartedError,
  checkSettings,
  defaultConfig,
  documentKey,
  enrichCustomer,
  haltIfCanariesFail,
  isHalted,
  paymentTerms,
  quoteFxRate,
  REPORTING_CURRENCY,
  runBillingBatch,
  sendInvoices,
  sendingCap,
  type BatchRun,
  type BillingRunResult,
  type CustomerProfile,
  type PassReport,
  type SentInvoice,
  type UnsentInvoice,
  type WorkflowConfig,
  VatNumberRejectedError,
  withBoundedErrors,
} from "./workflow";

/**
 * The seam: tests, the demo and production differ only in the deps they pass here. `config` is merged over
 * the defaults, so a benchmark can pass just `{ nesting: NestingType.FLAT }`.
 */
export function createHandler(deps: BillingDeps, config: Partial<WorkflowConfig> = {}): DurableLambdaHandler {
  const settings = { ...defaultConfig, ...config };
  return withDurableExecution((event: unknown, context) => runBillingBatch(event, context, deps, settings));
}

/** The deployed handler: S3 for documents, HTTP services configured by environment variables (see README). */
export const handler = createHandler(createRealDeps());
