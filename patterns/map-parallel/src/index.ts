import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { createRealDeps, type BillingDeps } from "./deps";
import { defaultConfig, runBillingBatch, type WorkflowConfig } from "./workflow";

export type {
  BillingDeps,
  Crm,
  CrmRecord,
  DocumentStore,
  FxProvider,
  InvoiceRecipient,
  InvoiceRenderer,
  InvoiceSender,
  Ledger,
  LedgerAccount,
  RealDepsConfig,
  S3Sender,
  TaxRegistry,
  TaxStatus,
} from "./deps";
export {
  ClientError,
  PROVIDER_CONCURRENCY_LIMIT,
  TransientServiceError,
  configFromEnv,
  createRealDeps,
  dueDate,
  FX_PROVIDERS,
  renderInvoiceHtml,
} from "./deps";
export {
  InvalidBatchError,
  MAX_INVOICES_PER_BATCH,
  parseInvoiceBatch,
  type Invoice,
  type InvoiceBatch,
} from "./input";
export {
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
  type WorkflowConfig,
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
