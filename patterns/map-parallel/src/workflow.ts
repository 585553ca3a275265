import {
  BatchItemStatus,
  CompletionOutcome,
  completeBatch,
  continueBatch,
  NestingType,
  type BatchResult,
  type CompletionConfig,
  type DurableContext,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { createHash } from "node:crypto";
import {
  crmRecord,
  deliveryReceipt,
  fxQuote,
  ledgerAccount,
  taxStatus,
  type CrmRecord,
  type FxQuoteRequest,
  type LedgerAccount,
  type TaxStatus,
} from "./answers";
import { bounded, deliveryFailure, deliveryRetry, readRetry, worthAnotherPass } from "./call-outcomes";
import { reportBatch, type BillingRunResult, type SentInvoice } from "./batch-report";
import {
  PROVIDER_CONCURRENCY_LIMIT,
  type BillingDeps,
  type DeliveryRequest,
  type DocumentStore,
  type InvoiceRecipient,
  type InvoiceRenderer,
} from "./deps";

type StoredDocument = Parameters<DocumentStore["put"]>[0];
import { agreeOnRate, REPORTING_CURRENCY, type FxDecision } from "./fx-rate";
import { parseInvoiceBatch, type Invoice, type InvoiceBatch } from "./input";

export interface WorkflowConfig {
  /** Invoices in flight at once: the invoicing provider's concurrency limit, never more. */
  maxConcurrency: number;
  /** When the first pass stops early (see README: what each policy does). Undefined: the SDK's fail-fast default. */
  completionPolicy?: CompletionConfig;
  /** NESTED: a CONTEXT operation per invoice (visible, more operations). FLAT: none (about half the operations). */
  nesting: NestingType;
  /** How long a downstream outage gets to clear before the failed invoices are sent again. */
  retryCooldown: Duration;
  /** Attempts of one delivery within a pass (retries seconds apart, for blips), and the first backoff. */
  deliveryAttempts: number;
  deliveryBackoff: Duration;
}

export const defaultConfig: WorkflowConfig = {
  maxConcurrency: PROVIDER_CONCURRENCY_LIMIT,
  // More than 10% of the batch failing means something systemic (the provider, a template): stop sending.
  completionPolicy: { toleratedFailurePercentage: 10 },
  nesting: NestingType.NESTED,
  retryCooldown: { minutes: 15 },
  deliveryAttempts: 3,
  deliveryBackoff: { seconds: 2 },
};

export interface CustomerProfile extends InvoiceRecipient {
  customerId: string;
  billingEmail: string;
  balanceCents: number;
  overdueInvoices: number;
}

export {
  isHalted,
  type BillingRunResult,
  type PassReport,
  type SentInvoice,
  type UnsentInvoice,
} from "./batch-report";
export { REPORTING_CURRENCY } from "./fx-rate";

/**
 * Month-end billing for one business customer: enrich the customer from three systems at once, send every
 * invoice (a few at a time, each one isolated from the others' failures), give the failed ones a second pass
 * after a cool-down, and report the total sent in the reporting currency, at the rate of the fastest two of
 * three exchange-rate providers.
 *
 * The handler body re-runs from the top on every invocation (replay). A finished map or parallel returns its
 * checkpointed BatchResult without re-entering any item, so each invoice is rendered and sent once.
 */
export async function runBillingBatch(
  event: unknown,
  context: DurableContext,
  given: BillingDeps,
  config: WorkflowConfig = defaultConfig,
): Promise<BillingRunResult> {
  // Whatever a dep throws, its step checkpoints a bounded error (past 32 KB the checkpoint itself would fail).
  const deps = withBoundedErrors(given);
  // Pure and deterministic: an empty, oversized or malformed batch fails here, with zero operations.
  const batch = parseInvoiceBatch(event);
  context.logger.info("Billing run", { batchId: batch.batchId, invoices: batch.invoices.length });

  const customer = await enrichCustomer(context, deps, batch);
  // Every setting the sends need, before the first render: a setting that cannot be used fails the run here,
  // naming it, with nothing rendered or sent, instead of failing every invoice (and halting the pass with its
  // neighbours in flight, in doubt, for a send that could never have left).
  await checkSettings(context, deps, batch.batchId);

  const run: BatchRun = { batch, customer, deps, config };
  const firstPass = await sendInvoices(context, "send-invoices", "invoice", batch.invoices, run);

  // Failed items are read from the checkpointed result, so this list is the same on every replay. Refusals
  // (a 422) would be refused again; outages and sends in doubt go into the retry pass (src/call-outcomes.ts).
  const toRetry = firstPass
    .failed()
    .filter((item) => worthAnotherPass(item.error.message))
    .map((item) => batch.invoices[item.index]!);
  let retryPass: BatchResult<SentInvoice> | undefined;
  // Only after a pass that ran to the end. A pass that stopped early (its policy halted it, or it had enough)
  // may have left items in flight, and those would keep this invocation from suspending at the wait below.
  if (firstPass.completionReason === "ALL_COMPLETED" && toRetry.length > 0) {
    // Step retries (seconds apart) ride out blips. An outage longer than that failed these invoices, and a send
    // in doubt waits for this pass to settle it with its key; give the provider time to recover, at no compute
    // cost: the function suspends here and resumes after the timer.
    await context.wait("cool-down-before-retry", config.retryCooldown);
    retryPass = await sendInvoices(context, "retry-failed-invoices", "retry-invoice", toRetry, run, {
      // Only the failed invoices, and all of them: one failing again must not stop the others.
      toleratedFailurePercentage: 100,
    });
  }

  // Last, after every wait: an early-completing parallel leaves its slowest branch running (see quoteFxRate).
  // The conversion is reporting, not billing: whatever the providers answer, it never fails the batch.
  const fx = batch.currency === REPORTING_CURRENCY ? undefined : await quoteFxRate(context, deps, batch);

  // Which invoices count as sent, and what may be done by hand about the others (src/batch-report.ts).
  return reportBatch(batch, customer.paymentTermsDays, firstPass, toRetry, retryPass, fx);
}

/**
 * Three systems answer three different questions: named branches of one parallel, each its own step, each
 * returning its own type. All three are required, so the default (fail-fast) policy fits, and throwIfError
 * stops the run before any invoice goes out if one source failed for good. Each answer is parsed inside its
 * step (src/answers.ts): a record for another customer, or one without a usable email, is a failed lookup,
 * never a billing address.
 */
export async function enrichCustomer(
  context: DurableContext,
  deps: BillingDeps,
  batch: InvoiceBatch,
): Promise<CustomerProfile> {
  const sources = await context.parallel("enrich-customer", [
    {
      name: "crm",
      func: (branch) =>
        branch.step(
          "load-crm-record",
          async () => crmRecord(await deps.crm.getCustomer(batch.customerId), batch.customerId),
          lookup,
        ),
    },
    {
      name: "ledger",
      func: (branch) =>
        branch.step(
          "load-ledger-account",
          async () => ledgerAccount(await deps.ledger.getAccount(batch.customerId), batch.customerId),
          lookup,
        ),
    },
    {
      name: "tax-registry",
      func: (branch) =>
        branch.step(
          "check-vat-number",
          async () => taxStatus(await deps.taxRegistry.checkVatNumber(batch.vatNumber), batch.vatNumber),
          lookup,
        ),
    },
  ]);
  sources.throwIfError();
  const { crm, ledger, tax } = bySource(sources.getResults());
  // A business invoice carries the customer's VAT number; one the registry does not know makes every invoice
  // of the batch non-compliant. Nothing is rendered or sent: the run fails, for finance to correct the number.
  if (!tax.valid) throw new VatNumberRejectedError(batch.vatNumber, batch.batchId);
  return {
    customerId: batch.customerId,
    legalName: crm.legalName,
    billingEmail: crm.billingEmail,
    country: crm.country,
    balanceCents: ledger.balanceCents,
    overdueInvoices: ledger.overdueInvoices,
    vatNumber: tax.vatNumber,
    paymentTermsDays: paymentTerms(ledger.overdueInvoices),
  };
}

/**
 * One step that checks what the sends will need (the deps say what: BillingDeps.checkSettings), so a bad
 * setting stops the batch before any invoice is rendered or sent. Secrets are read inside the step and never
 * returned: the checkpoint holds nothing. Secrets Manager throttling is retried (classifyRead); a setting that
 * cannot be used is not, and fails the run with BatchNotStartedError naming it. The step runs whether or not the
 * deps have anything to check, so the history is the same for every deps.
 */
export async function checkSettings(
  context: DurableContext,
  deps: BillingDeps,
  batchId: string,
): Promise<void> {
  try {
    await context.step(
      "check-settings",
      async () => {
        try {
          await deps.checkSettings?.();
        } catch (error) {
          // A custom dep's error can carry anything, and the step checkpoints it (past 32 KB the checkpoint
          // itself fails, unrecoverably): bounded here, its class kept for the retry strategy.
          throw boundedError(error);
        }
      },
      lookup,
    );
  } catch (error) {
    throw new BatchNotStartedError(error instanceof Error ? error.message : String(error), batchId);
  }
}

/**
 * The deps with every error they throw bounded: message and stack cut to 1,000 characters, class and fields kept
 * (the retry strategies and the outcome classes decide by class). A step checkpoints its error, and past 32 KB
 * that checkpoint fails unrecoverably: measured, a custom CRM dep throwing a 100 KB message killed the invocation
 * ("Error object size must be less than 32768 bytes"), and so would every retry of it. The real deps bound their
 * own messages; a custom dep may throw anything.
 */
export function withBoundedErrors(deps: BillingDeps): BillingDeps {
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        throw boundedError(error);
      }
    };
  return {
    crm: { getCustomer: guard((customerId: string) => deps.crm.getCustomer(customerId)) },
    ledger: { getAccount: guard((customerId: string) => deps.ledger.getAccount(customerId)) },
    taxRegistry: {
      checkVatNumber: guard((vatNumber: string) => deps.taxRegistry.checkVatNumber(vatNumber)),
    },
    fxProviders: deps.fxProviders.map((provider) => ({
      name: provider.name,
      getRate: guard((request: FxQuoteRequest) => provider.getRate(request)),
    })),
    renderer: {
      render: guard((...args: Parameters<InvoiceRenderer["render"]>) => deps.renderer.render(...args)),
    },
    documents: { put: guard((request: StoredDocument) => deps.documents.put(request)) },
    sender: { send: guard((request: DeliveryRequest) => deps.sender.send(request)) },
    ...(deps.checkSettings ? { checkSettings: guard(async () => deps.checkSettings?.()) } : {}),
  };
}

/** The error with its message (and stack, which repeats it) cut to `max` characters; its class and fields kept. */
function boundedError(error: unknown, max = 1000): Error {
  const failure = error instanceof Error ? error : new Error(String(error));
  if (failure.message.length > max) {
    failure.message = bounded(failure.message, max);
    failure.stack = `${failure.name}: ${failure.message}`;
  }
  return failure;
}

/** A setting the sends need cannot be used: no invoice of the batch was rendered or sent. */
export class BatchNotStartedError extends Error {
  override readonly name = "BatchNotStartedError";
  constructor(reason = "", batchId = "") {
    super(
      `No invoice of batch ${batchId} was rendered or sent: ${reason}. Fix the setting and run the batch again ` +
        "(same batch id, same keys).",
    );
  }
}

/** The tax registry says the batch's VAT number is not valid: no invoice of the batch may go out. */
export class VatNumberRejectedError extends Error {
  override readonly name = "VatNumberRejectedError";
  constructor(vatNumber = "", batchId = "") {
    super(
      `The tax registry does not know VAT number ${vatNumber} as valid: no invoice of batch ${batchId} was ` +
        "rendered or sent. Correct the customer's VAT number and run the batch again.",
    );
  }
}

/**
 * The fastest two of three providers: the parallel completes as soon as two have answered with a valid quote,
 * and the rate is their mean. A quote that fails its checks (src/answers.ts) fails its branch, so it does not
 * count: the parallel waits for the third. The third is not cancelled (its call still happens and is paid
 * for); it is just not waited for. Which two answered first is checkpointed, so a replay uses the same two.
 * Whether they agree, and the rate, is decided by agreeOnRate (src/fx-rate.ts) from checkpointed data only.
 *
 * Until that third branch finishes, and in SDK 2.4.0 for the rest of the invocation, it counts as running,
 * so the function cannot suspend: a wait placed after this parallel would be waited out in-process. That is
 * why this runs last.
 */
export async function quoteFxRate(
  context: DurableContext,
  deps: BillingDeps,
  batch: Pick<InvoiceBatch, "batchId" | "currency">,
): Promise<FxDecision> {
  const request = {
    requestId: `${batch.batchId}:${batch.currency}-${REPORTING_CURRENCY}`,
    from: batch.currency,
    to: REPORTING_CURRENCY,
  };
  const quotes = await context.parallel(
    "quote-fx-rate",
    deps.fxProviders.map((provider) => ({
      name: `fx-${provider.name}`,
      func: (branch: DurableContext) =>
        branch.step(
          `rate-from-${provider.name}`,
          async () => fxQuote(provider.name, await provider.getRate(request), request),
          lookup,
        ),
    })),
    { completionConfig: { minSuccessful: 2 } },
  );
  const discarded = quotes.failed().map((item) => ({
    provider: deps.fxProviders[item.index]!.name,
    reason: item.error.message,
  }));
  const decision = agreeOnRate(quotes.getResults(), discarded);
  if (decision.outcome === "NO_RATE") {
    // Reporting only: the invoices are out. Say why there is no rate, where the report's reader will see it.
    context.logger.warn("No FX rate", { request, reason: decision.reason, discarded: decision.discarded });
  }
  return decision;
}

/**
 * One map over the invoices. Each invoice runs in its own child context (a virtual one under FLAT), so one
 * invoice failing does not fail its neighbours; the completion policy decides when the whole pass stops.
 */
export function sendInvoices(
  context: DurableContext,
  name: string,
  itemPrefix: string,
  invoices: Invoice[],
  run: BatchRun,
  completionConfig: CompletionConfig | undefined = run.config.completionPolicy,
) {
  return context.map(name, invoices, (item, invoice) => sendInvoice(item, invoice, run), {
    // The provider accepts a limited number of concurrent requests: more would only earn 429s.
    maxConcurrency: run.config.maxConcurrency,
    // A business key, not the index: the history reads "invoice-INV-1042 failed", and names stay stable.
    itemNamer: (invoice) => `${itemPrefix}-${invoice.invoiceId}`,
    completionConfig,
    nesting: run.config.nesting,
  });
}

/** What every invoice of a batch needs: the batch, the enriched customer, the services and the settings. */
export interface BatchRun {
  batch: Pick<InvoiceBatch, "batchId" | "currency">;
  customer: CustomerProfile;
  deps: BillingDeps;
  config: WorkflowConfig;
}

async function sendInvoice(context: DurableContext, invoice: Invoice, run: BatchRun): Promise<SentInvoice> {
  const { batch, customer, deps, config } = run;
  // The rendered document is hundreds of kilobytes; a checkpoint holds at most 256 KB. Store it in the same
  // step that renders it and checkpoint only its key: replays and the map's result carry a few bytes. The key
  // names the content, so a document the customer may already have is never overwritten by another one.
  const document = await context.step(
    `render-${invoice.invoiceId}`,
    async () => {
      const { body, contentType } = await deps.renderer.render(invoice, batch.currency, customer);
      const key = documentKey(batch.batchId, invoice.invoiceId, body);
      await deps.documents.put({ key, body, contentType });
      return { documentKey: key, bytes: body.byteLength };
    },
    lookup,
  );
  const request = {
    invoiceId: invoice.invoiceId,
    to: customer.billingEmail,
    documentKey: document.documentKey,
    amountCents: invoice.amountCents,
    currency: batch.currency,
    // Same key on a step retry, on the retry pass, and on a rerun of the whole batch: sent once. A rerun with
    // other content (amount, name, address) gets the first receipt back, which the check below refuses.
    idempotencyKey: `${batch.batchId}:${invoice.invoiceId}`,
  };
  // A send has three outcomes (src/call-outcomes.ts). The step retries only "not done" (429, 503, no
  // connection); "in doubt" (a timeout, a 500, an unreadable yes) ends the step with the verdict in its error
  // message, and the retry pass settles it by sending again with the same key.
  const { messageId } = await context.step(
    `deliver-${invoice.invoiceId}`,
    async () => {
      try {
        return deliveryReceipt(await deps.sender.send(request), request);
      } catch (error) {
        throw deliveryFailure(error);
      }
    },
    { retryStrategy: deliveryRetry(config.deliveryAttempts, config.deliveryBackoff) },
  );
  return { invoiceId: invoice.invoiceId, documentKey: document.documentKey, messageId };
}

/**
 * A custom policy: the first `count` invoices are canaries. If all of them fail, the template or the
 * provider is broken: stop the pass as FAILED instead of failing 1,000 invoices one by one. It sees only
 * the CompletionStatus (counts, and each item's index, name and status), which keeps it deterministic.
 */
export function haltIfCanariesFail(count = 3): CompletionConfig {
  return {
    shouldComplete: (status) => {
      const canaries = status.items.slice(0, count);
      const allFailed =
        canaries.length > 0 && canaries.every((item) => item.status === BatchItemStatus.FAILED);
      return allFailed ? completeBatch(CompletionOutcome.FAILED) : continueBatch();
    },
  };
}

/** A custom policy with a successful outcome: a daily sending cap. The rest go out in the next run. */
export function sendingCap(maxInvoices: number): CompletionConfig {
  return {
    shouldComplete: (status) => (status.successCount >= maxInvoices ? completeBatch() : continueBatch()),
  };
}

/**
 * Where a document is stored: under its batch and invoice, named by a digest of its bytes. The same document
 * (a retry pass, a replay, an unchanged rerun) gets the same key; a changed one gets another, and the
 * delivery's receipt, which repeats the key first sent, tells the two apart.
 */
export function documentKey(batchId: string, invoiceId: string, body: Uint8Array): string {
  const digest = createHash("sha256").update(body).digest("hex").slice(0, 16);
  return `invoices/${batchId}/${invoiceId}/${digest}`;
}

/** Payment terms from the ledger: pure, so it can run outside a step. */
export function paymentTerms(overdueInvoices: number): number {
  if (overdueInvoices === 0) return 30;
  return overdueInvoices <= 2 ? 14 : 7;
}

/** Reads and quick lookups: outages retried, three attempts, one second apart at first (src/call-outcomes.ts). */
const lookup = { retryStrategy: readRetry() };

type Source = CrmRecord | LedgerAccount | TaxStatus;
function bySource(results: Source[]) {
  const find = <K extends Source["source"]>(source: K) => {
    const found = results.find(
      (result): result is Extract<Source, { source: K }> => result.source === source,
    );
    if (!found) throw new Error(`Customer enrichment returned no ${source} record`);
    return found;
  };
  return { crm: find("crm"), ledger: find("ledger"), tax: find("tax-registry") };
}
