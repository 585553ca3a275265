import { BatchItemStatus, type BatchResult, type CompletionReason } from "@aws/durable-execution-sdk-js";
import { inFlightWhenStopped, sharedMessageId, unsentInvoices } from "./call-outcomes";
import { convert, REPORTING_CURRENCY, type FxDecision } from "./fx-rate";
import type { Invoice, InvoiceBatch } from "./input";

/**
 * What the run reports, decided from checkpointed results only (the passes' BatchResults, the FX decision), so
 * a replay reports the same. Every invoice of the batch is in exactly one list, and the list says what may be
 * done about it by hand:
 *
 * - sent: the provider's receipt repeats exactly what was sent, under a message id no other invoice got;
 * - failed: not sent, for certain (refused, never delivered): fix it and run the batch again;
 * - inDoubt: perhaps sent (a lost answer, still in flight when a pass stopped early, a message id shared with
 *   another invoice): send again only with the same key, or look it up by the key;
 * - issuedBefore: the key was used before for other content: the customer has the earlier invoice;
 * - unfinished: never started, nothing was asked of the provider: safe to send, with the same key.
 */

/** One invoice's result: small on purpose. The document itself stays in the store; only its key is here. */
export interface SentInvoice {
  invoiceId: string;
  documentKey: string;
  messageId: string;
}

export interface PassReport {
  status: BatchResult<SentInvoice>["status"];
  completionReason: CompletionReason;
  invoices: number;
  succeeded: number;
  failed: number;
  /** Started, and still running when an early completion stopped the pass: outcome not recorded. */
  inFlight: number;
  /** Never started: the pass stopped before it. */
  notStarted: number;
}

export type UnsentInvoice = { invoiceId: string; error: string };

export interface BillingRunResult {
  batchId: string;
  customerId: string;
  paymentTermsDays: number;
  /** HALTED: the first pass stopped on its failure policy, nothing was retried. */
  outcome: "ALL_SENT" | "PARTIALLY_SENT" | "HALTED";
  /** The invoices in `sent`, at their amounts (which their receipts repeat). */
  sentTotal: { currency: string; amountCents: number };
  /**
   * The sent total at the agreed rate, rounded half up to the cent. Absent when the quotes gave no rate (see
   * `fx`): the invoices went out, the report waits for a rate, and no wrong rate reaches the books.
   */
  reportingTotal?: { currency: string; amountCents: number; rate: number };
  /** Which quotes were used and which discarded, and why. Absent for a batch already in the reporting currency. */
  fx?: FxDecision;
  firstPass: PassReport;
  retryPass?: PassReport;
  sent: SentInvoice[];
  /** Not sent, for certain: refused, or never delivered. Safe to fix and send again. */
  failed: UnsentInvoice[];
  /**
   * Perhaps sent: the provider may have emailed it (a timeout, a 5xx, an unreadable yes, a send still in flight
   * when its pass stopped early, a message id it also gave another invoice) and no later send with the same key
   * confirmed it. Send again only with the same idempotency key, or look it up by that key.
   */
  inDoubt: UnsentInvoice[];
  /**
   * Sent before, under the same key, with other content (a rerun after the amount, legal name or address
   * changed): the customer has the earlier invoice and nothing was sent now. Never resend under a new key
   * (the customer would hold two different invoices with one number): correct it with a credit note.
   */
  issuedBefore: UnsentInvoice[];
  /**
   * Never started (the first pass stopped early): nothing was asked of the provider. Safe to send by running
   * the batch again unchanged, or with the key `<batchId>:<invoiceId>`; never under a new key.
   */
  unfinished: string[];
}

/** A pass that stopped on its failure policy: the remaining invoices were not attempted. */
export function isHalted(pass: BatchResult<unknown>): boolean {
  return (
    pass.completionReason === "FAILURE_TOLERANCE_EXCEEDED" ||
    pass.completionReason === "CUSTOM_COMPLETION_FAILED"
  );
}

export function reportBatch(
  batch: InvoiceBatch,
  paymentTermsDays: number,
  firstPass: BatchResult<SentInvoice>,
  retried: Invoice[],
  retryPass: BatchResult<SentInvoice> | undefined,
  fx: FxDecision | undefined,
): BillingRunResult {
  const passes = [
    { pass: firstPass, invoices: batch.invoices },
    ...(retryPass ? [{ pass: retryPass, invoices: retried }] : []),
  ];
  const keyOf = (invoiceId: string) => `${batch.batchId}:${invoiceId}`;

  // Receipts sharing a message id: at most one email stands behind them, so none of them counts as sent.
  const receipts = passes.flatMap(({ pass }) => pass.getResults());
  const byMessage = new Map<string, SentInvoice[]>();
  for (const receipt of receipts) {
    byMessage.set(receipt.messageId, [...(byMessage.get(receipt.messageId) ?? []), receipt]);
  }
  const shared = [...byMessage].filter(([, group]) => group.length > 1);
  const sharing = new Map(
    shared.flatMap(([messageId, group]) => {
      const ids = group.map((receipt) => receipt.invoiceId);
      return ids.map((id) => [id, sharedMessageId(messageId, ids, batch.batchId)] as const);
    }),
  );
  const sentById = new Map(
    receipts.filter((receipt) => !sharing.has(receipt.invoiceId)).map((r) => [r.invoiceId, r]),
  );

  // Every failure of an invoice not sent, from both passes, in order, then what the checkpointed results say of
  // the invoices still in flight when a pass stopped early: src/call-outcomes.ts says what each means.
  const failures = [
    ...passes.flatMap(({ pass, invoices }) => [
      ...pass.failed().map((item) => ({
        invoiceId: invoices[item.index]!.invoiceId,
        error: item.error.message,
      })),
      // STARTED items are in the checkpointed result (unlike started(), read live): stable across replays.
      ...pass.all
        .filter((item) => item.status === BatchItemStatus.STARTED)
        .map((item) => invoices[item.index]!.invoiceId)
        .map((invoiceId) => ({ invoiceId, error: inFlightWhenStopped(keyOf(invoiceId)) })),
    ]),
    ...[...sharing].map(([invoiceId, error]) => ({ invoiceId, error })),
  ].filter(({ invoiceId }) => !sentById.has(invoiceId));
  const { failed, inDoubt, issuedBefore } = unsentInvoices(failures);

  const started = new Set(firstPass.all.map((item) => item.index));
  const unfinished = batch.invoices
    .filter((_, index) => !started.has(index))
    .map((invoice) => invoice.invoiceId);
  const sent = batch.invoices.flatMap((invoice) => sentById.get(invoice.invoiceId) ?? []);
  const sentTotal = {
    currency: batch.currency,
    amountCents: batch.invoices
      .filter((invoice) => sentById.has(invoice.invoiceId))
      .reduce((sum, invoice) => sum + invoice.amountCents, 0),
  };

  const outcome = isHalted(firstPass)
    ? "HALTED"
    : sent.length === batch.invoices.length
      ? "ALL_SENT"
      : "PARTIALLY_SENT";
  // A batch in the reporting currency needs no rate: its total is reported as it is.
  const rateMicros = fx === undefined ? 1_000_000 : fx.outcome === "AGREED" ? fx.rateMicros : undefined;
  return {
    batchId: batch.batchId,
    customerId: batch.customerId,
    paymentTermsDays,
    outcome,
    sentTotal,
    ...(rateMicros === undefined
      ? {}
      : {
          reportingTotal: {
            currency: REPORTING_CURRENCY,
            amountCents: convert(sentTotal.amountCents, rateMicros),
            rate: rateMicros / 1_000_000,
          },
        }),
    ...(fx ? { fx } : {}),
    firstPass: summarise(firstPass, batch.invoices.length),
    ...(retryPass ? { retryPass: summarise(retryPass, retried.length) } : {}),
    sent,
    failed,
    inDoubt,
    issuedBefore,
    unfinished,
  };
}

function summarise(pass: BatchResult<SentInvoice>, invoices: number): PassReport {
  return {
    status: pass.status,
    completionReason: pass.completionReason,
    invoices,
    succeeded: pass.successCount,
    failed: pass.failureCount,
    inFlight: pass.all.filter((item) => item.status === BatchItemStatus.STARTED).length,
    notStarted: invoices - pass.all.length,
  };
}
