import {
  BatchItemStatus,
  createRetryStrategy,
  NestingType,
  withDurableExecution,
  type BatchResult,
  type DurableContext,
  type DurableLambdaHandler,
  type Duration,
} from "@aws/durable-execution-sdk-js";
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { deliveryReceipt } from "./answers";
import {
  bounded,
  deliveryFailure,
  deliveryOutcomeOf,
  unsentInvoices,
  worthAnotherPass,
  type Outcome,
} from "./call-outcomes";
import { createRealDeps, PROVIDER_CONCURRENCY_LIMIT, type BillingDeps, type DeliveryRequest } from "./deps";
import { convert, REPORTING_CURRENCY, type FxDecision } from "./fx-rate";
import { defaultMessages, InvalidBatchError, InvoiceBatchInput, type Invoice } from "./input";
import {
  checkSettings,
  documentKey,
  enrichCustomer,
  quoteFxRate,
  withBoundedErrors,
  type CustomerProfile,
} from "./workflow";

/**
 * The per-item map at scale: batches of 10,000 invoices and more, sent in chunks. Each map item is a chunk of
 * invoices, and its one step renders, stores and sends every invoice of the chunk, each with its own
 * idempotency key (`<batchId>:<invoiceId>`, the per-item map's). The step never fails for an invoice: it
 * returns each invoice's outcome as data (sent, not sent, in doubt, issued before), classified by the same
 * rules as the per-item map (src/call-outcomes.ts). So the retry pass, after the cool-down, sends only the
 * invoices that were not sent, re-chunked, and never a sent one; an in-doubt send is settled there with its key.
 *
 * The checkpoint of a chunk holds a summary: counts, the sent amount, and the ids (with a short verdict) of the
 * invoices not sent. The full per-invoice record (message ids, document keys, whole error messages) is stored
 * in the document store by the same step and referenced by its key. See docs/scale.md for when to chunk, the
 * operations and bytes it saves, and the limits that bound a chunk.
 */

/**
 * The limits a chunk must fit (SDK 2.4.0; see docs/scale.md for the sources):
 * - one operation's checkpointed payload: 256 KB (`CHECKPOINT_SIZE_LIMIT_BYTES`, the SDK's dist-cjs/index.js;
 *   the service's "maximum checkpoint payload");
 * - a map's (or child context's) own result past 256 KB is checkpointed as a summary and rebuilt on replay by
 *   re-running its children from their checkpoints (`ReplayChildren`);
 * - one CheckpointDurableExecution call: 750 KB and 250 updates (the SDK batches updates under both);
 * - an execution's history: 25,000 operations (the service's limit as AWS's Rust SDK lists it).
 */
export const CHECKPOINT_LIMIT_BYTES = 256 * 1024;
export const HISTORY_LIMIT_OPERATIONS = 25_000;

/**
 * The most a chunk step's checkpointed summary may take: half the 256 KB limit, for margin. A summary is a
 * few fixed fields plus one entry per invoice not sent, at most MAX_UNSENT_ENTRY_BYTES each (its error cut to
 * printable ASCII, ERROR_EXCERPT characters), so a chunk of MAX_CHUNK_SIZE invoices that all failed stays under
 * it. A test holds the summary to this bound.
 */
export const MAX_CHUNK_SUMMARY_BYTES = CHECKPOINT_LIMIT_BYTES / 2;
const ERROR_EXCERPT = 160;
/** `{"invoiceId":"INV-123456789012","outcome":"issued-before","again":false,"error":"..."}`, escapes included. */
export const MAX_UNSENT_ENTRY_BYTES = 90 + 2 * ERROR_EXCERPT;
/** 128 KB / 410 bytes = 319 invoices, rounded down to 250. */
export const MAX_CHUNK_SIZE = 250;
/**
 * The default: 100 invoices a chunk. Its summary is at most 41 KB (16% of a checkpoint) if every invoice
 * failed, about 200 bytes if all were sent; the map's own result for 10,000 invoices (100 chunks) is about
 * 20 KB when all went well. A chunk's step sends its invoices one after another, so at 200 ms a send a chunk
 * takes about 20 s: far inside a Lambda invocation, and a crash repeats at most 100 sends (same keys).
 */
export const DEFAULT_CHUNK_SIZE = 100;
/**
 * At most 50,000 invoices: 500 chunks of 100, about 1,000 operations per pass (the history holds 25,000).
 * The event is the tighter bound in production: see docs/scale.md ("the event").
 */
export const MAX_INVOICES_PER_CHUNKED_BATCH = 50_000;

export interface ChunkedConfig {
  /** Invoices per chunk: 1 to MAX_CHUNK_SIZE. */
  chunkSize: number;
  /** Chunks in flight at once. Each sends one invoice at a time, so this is the provider's concurrency limit. */
  maxConcurrency: number;
  /** NESTED: a CONTEXT operation per chunk. FLAT: none. */
  nesting: NestingType;
  /** How long an outage gets to clear before the invoices not sent are sent again. */
  retryCooldown: Duration;
  /** Attempts of one invoice's send inside its chunk's step, for "not done" failures worth repeating (a 503). */
  deliveryAttempts: number;
  /** Real time between those attempts, inside the step (a blip, not an outage: keep it short). */
  attemptBackoffMs: number;
}

export const defaultChunkedConfig: ChunkedConfig = {
  chunkSize: DEFAULT_CHUNK_SIZE,
  maxConcurrency: PROVIDER_CONCURRENCY_LIMIT,
  nesting: NestingType.NESTED,
  retryCooldown: { minutes: 15 },
  deliveryAttempts: 3,
  attemptBackoffMs: 500,
};

/** A setting that can never work: thrown when the handler is made, before any execution or call. */
export class InvalidChunkedConfigError extends Error {
  override readonly name = "InvalidChunkedConfigError";
}

/** Checks every setting and names the one that is wrong. */
export function checkChunkedConfig(config: ChunkedConfig): ChunkedConfig {
  const whole = (name: keyof ChunkedConfig, min: number, max: number) => {
    const value = config[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidChunkedConfigError(
        `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
      );
    }
  };
  whole("chunkSize", 1, MAX_CHUNK_SIZE);
  whole("maxConcurrency", 1, PROVIDER_CONCURRENCY_LIMIT);
  whole("deliveryAttempts", 1, 10);
  whole("attemptBackoffMs", 0, 10_000);
  if (config.nesting !== NestingType.NESTED && config.nesting !== NestingType.FLAT) {
    throw new InvalidChunkedConfigError(
      `nesting must be NESTED or FLAT, not ${JSON.stringify(config.nesting)}`,
    );
  }
  return config;
}

/** The per-item batch's schema with a larger cap: every other rule (fields, amounts, unique ids) is the same. */
const ChunkedBatchInput = z.strictObject({
  ...InvoiceBatchInput.shape,
  invoices: z.array(InvoiceBatchInput.shape.invoices.def.element).check(
    z.minLength(1, "must contain at least one invoice"),
    z.maxLength(
      MAX_INVOICES_PER_CHUNKED_BATCH,
      `must contain at most ${MAX_INVOICES_PER_CHUNKED_BATCH} invoices (split larger batches)`,
    ),
    z.superRefine((invoices, ctx) => {
      const seen = new Set<string>();
      invoices.forEach((invoice, index) => {
        const id = (invoice as { invoiceId?: unknown } | undefined)?.invoiceId;
        if (typeof id !== "string" || !/^INV-[0-9]{1,12}$/.test(id)) return;
        if (seen.has(id))
          ctx.addIssue({ code: "custom", path: [index, "invoiceId"], message: `${id} appears twice` });
        seen.add(id);
      });
    }),
  ),
});
export type ChunkedBatch = z.infer<typeof ChunkedBatchInput>;

/** Pure and deterministic, outside any step: a bad batch fails with zero operations and zero calls. */
export function parseChunkedBatch(event: unknown): ChunkedBatch {
  const parsed = ChunkedBatchInput.safeParse(event, { error: defaultMessages });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `${path.replace(/^\./, "") || "event"} ${issue.message}`;
  });
  const shown = problems.slice(0, 20);
  if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more`);
  throw new InvalidBatchError(shown);
}

/** One invoice's outcome inside a chunk, in full: stored in the document store, never checkpointed. */
export type InvoiceRecord =
  | { invoiceId: string; sent: true; amountCents: number; documentKey: string; messageId: string }
  | { invoiceId: string; sent: false; outcome: Outcome; again: boolean; error: string };

/** An invoice not sent, as the chunk's checkpoint holds it: the id, the verdict, the start of the error. */
export interface UnsentEntry {
  invoiceId: string;
  outcome: Outcome;
  /** Worth another pass (an outage, a send in doubt), or not (a refusal, issued before). */
  again: boolean;
  /** Starts with the verdict marker ("[in doubt] ..."): what deliveryOutcomeOf reads back. */
  error: string;
}

/** What a chunk's step checkpoints: small whatever the chunk size (see MAX_CHUNK_SUMMARY_BYTES). */
export interface ChunkSummary {
  invoices: number;
  sent: number;
  sentCents: number;
  unsent: UnsentEntry[];
  /** The chunk's full record (every invoice's message id or whole error), in the document store. */
  recordKey: string;
}

/** The summary of a chunk's records: what its step returns. Exported for the size test. */
export function summariseChunk(records: InvoiceRecord[], recordKey: string): ChunkSummary {
  const unsent: UnsentEntry[] = [];
  let sent = 0;
  let sentCents = 0;
  for (const record of records) {
    if (record.sent) {
      sent += 1;
      sentCents += record.amountCents;
    } else {
      unsent.push({
        invoiceId: record.invoiceId,
        outcome: record.outcome,
        again: record.again,
        error: excerpt(record.error),
      });
    }
  }
  return { invoices: records.length, sent, sentCents, unsent, recordKey };
}

/** Printable ASCII only, ERROR_EXCERPT characters: a provider's words cannot grow a checkpoint. */
function excerpt(message: string): string {
  const plain = message.replace(/[^\x20-\x7e]/g, "?");
  return plain.length <= ERROR_EXCERPT ? plain : `${plain.slice(0, ERROR_EXCERPT - 3)}...`;
}

export interface ChunkedPassReport {
  chunks: number;
  invoices: number;
  sent: number;
  unsent: number;
  /** Chunks whose step failed as a unit (its record could not be stored): their invoices are in doubt. */
  failedChunks: number;
}

export interface ChunkedRunResult {
  batchId: string;
  customerId: string;
  invoices: number;
  chunkSize: number;
  outcome: "ALL_SENT" | "PARTIALLY_SENT";
  /** How many invoices the provider confirmed, over both passes, and their total. */
  sent: number;
  sentTotal: { currency: string; amountCents: number };
  reportingTotal?: { currency: string; amountCents: number; rate: number };
  fx?: FxDecision;
  firstPass: ChunkedPassReport;
  retryPass?: ChunkedPassReport;
  /** Not sent, for certain (refused, never delivered). */
  failed: Array<{ invoiceId: string; error: string }>;
  /** Perhaps sent: send again only with the same key, or look it up by the key. */
  inDoubt: Array<{ invoiceId: string; error: string }>;
  /** The key was used before for other content: the customer has the earlier invoice. */
  issuedBefore: Array<{ invoiceId: string; error: string }>;
  /** Where each chunk's full record is: every sent invoice's message id and document key. */
  records: string[];
}

/**
 * The chunked billing run: enrich the customer (the per-item run's parallel), send the invoices a chunk at a
 * time, give the ones not sent a second pass after a cool-down, quote the FX rate last (after the only wait),
 * and report counts and the invoices not sent.
 */
export async function runChunkedBatch(
  event: unknown,
  context: DurableContext,
  given: BillingDeps,
  config: ChunkedConfig = defaultChunkedConfig,
): Promise<ChunkedRunResult> {
  // As in the per-item run: whatever a dep throws is bounded before a step checkpoints it (the enrichment's and
  // the FX quote's steps; a chunk's step keeps only an excerpt of each invoice's error anyway).
  const deps = withBoundedErrors(given);
  const batch = parseChunkedBatch(event);
  context.logger.info("Chunked billing run", { batchId: batch.batchId, invoices: batch.invoices.length });
  const customer = await enrichCustomer(context, deps, batch);
  // The per-item run's step: a setting the sends need that cannot be used (the bucket, the invoicing URL, its
  // token) fails the run with BatchNotStartedError naming it, before any of the 10,000 documents is rendered.
  await checkSettings(context, deps, batch.batchId);
  const run: ChunkRun = { batch, customer, deps, config };

  const firstPass = await sendChunks(context, "send-chunks", "chunk", batch.invoices, run);
  const first = readPass(firstPass.result, firstPass.chunks);

  // From checkpointed summaries only, so the same list on every replay. Refusals and "issued before" are
  // not sent again; outages, sends in doubt and the invoices of a chunk that failed as a unit are.
  const toRetry = new Set(first.unsent.filter((entry) => entry.again).map((entry) => entry.invoiceId));
  let retry: PassOutcome | undefined;
  if (toRetry.size > 0) {
    await context.wait("cool-down-before-retry", config.retryCooldown);
    const invoices = batch.invoices.filter((invoice) => toRetry.has(invoice.invoiceId));
    const retryPass = await sendChunks(context, "retry-unsent-invoices", "retry-chunk", invoices, run);
    retry = readPass(retryPass.result, retryPass.chunks);
  }

  const fx = batch.currency === REPORTING_CURRENCY ? undefined : await quoteFxRate(context, deps, batch);
  return report(batch, config, first, retry, fx);
}

interface ChunkRun {
  batch: ChunkedBatch;
  customer: CustomerProfile;
  deps: BillingDeps;
  config: ChunkedConfig;
}

/** Consecutive slices of `size`: deterministic, so every replay makes the same chunks. */
export function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

async function sendChunks(
  context: DurableContext,
  name: string,
  itemPrefix: string,
  invoices: Invoice[],
  run: ChunkRun,
) {
  const chunks = chunksOf(invoices, run.config.chunkSize);
  const result = await context.map(
    name,
    chunks,
    (item, chunk, index) => sendChunk(item, `${itemPrefix}-${index + 1}`, chunk, run),
    {
      maxConcurrency: run.config.maxConcurrency,
      itemNamer: (_chunk, index) => `${itemPrefix}-${index + 1}`,
      // An invoice's failure is data in its chunk's summary, not a failed item; a chunk fails only when its
      // record could not be stored. No chunk stops the others, and none is left running (see the README's
      // straggler pitfall), so the wait before the retry pass can suspend.
      completionConfig: { toleratedFailurePercentage: 100 },
      nesting: run.config.nesting,
    },
  );
  return { result, chunks };
}

/** A chunk's step fails as a unit only on the record's store: retried (resending is safe under the keys). */
const chunkRetry = createRetryStrategy({ maxAttempts: 3, initialDelay: { seconds: 2 } });

function sendChunk(context: DurableContext, chunkName: string, chunk: Invoice[], run: ChunkRun) {
  const { batch, deps } = run;
  return context.step(
    `send-${chunkName}`,
    async () => {
      // One invoice at a time: the map's maxConcurrency is then the number of sends in flight.
      const records: InvoiceRecord[] = [];
      for (const invoice of chunk) records.push(await sendOne(invoice, run));
      const body = new TextEncoder().encode(JSON.stringify(records));
      const digest = createHash("sha256").update(body).digest("hex").slice(0, 16);
      // Named by its content, so a re-run of this step after a crash that got other answers stores a second
      // record instead of replacing the first (the store is create-only).
      const recordKey = `chunk-records/${batch.batchId}/${chunkName}/${digest}.json`;
      await deps.documents.put({ key: recordKey, body, contentType: "application/json" });
      return summariseChunk(records, recordKey);
    },
    { retryStrategy: chunkRetry },
  );
}

/**
 * Render, store and send one invoice; never throws. The outcome is classified as the per-item map's deliver
 * step classifies it (deliveryFailure, src/call-outcomes.ts); "not done" verdicts that may work a moment later
 * are repeated here, a send in doubt never is (the retry pass settles it with the same key).
 */
async function sendOne(invoice: Invoice, run: ChunkRun): Promise<InvoiceRecord> {
  const { batch, customer, deps, config } = run;
  const { invoiceId } = invoice;
  let key: string;
  try {
    const { body, contentType } = await deps.renderer.render(invoice, batch.currency, customer);
    key = documentKey(batch.batchId, invoiceId, body);
    await deps.documents.put({ key, body, contentType });
  } catch (error) {
    // Before any send: nothing went out (no marker: deliveryOutcomeOf reads "not done").
    const detail = error instanceof Error ? error.message : String(error);
    return {
      invoiceId,
      sent: false,
      outcome: "not-done",
      again: true,
      error: bounded(`not rendered or stored: ${detail}`),
    };
  }
  const request: DeliveryRequest = {
    invoiceId,
    to: customer.billingEmail,
    documentKey: key,
    amountCents: invoice.amountCents,
    currency: batch.currency,
    idempotencyKey: `${batch.batchId}:${invoiceId}`,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { messageId } = deliveryReceipt(await deps.sender.send(request), request);
      return { invoiceId, sent: true, amountCents: invoice.amountCents, documentKey: key, messageId };
    } catch (error) {
      const failure = deliveryFailure(error);
      if (failure.verdict.retry && attempt < config.deliveryAttempts) {
        if (config.attemptBackoffMs > 0) await pause(config.attemptBackoffMs * attempt);
        continue;
      }
      return {
        invoiceId,
        sent: false,
        outcome: deliveryOutcomeOf(failure.message),
        again: worthAnotherPass(failure.message),
        error: failure.message,
      };
    }
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface PassOutcome {
  report: ChunkedPassReport;
  sentIds: Set<string>;
  unsent: UnsentEntry[];
  records: string[];
}

/** A pass's outcome from its checkpointed BatchResult: the chunks' summaries, and chunks that failed whole. */
function readPass(result: BatchResult<ChunkSummary>, chunks: Invoice[][]): PassOutcome {
  const unsent: UnsentEntry[] = [];
  const records: string[] = [];
  const sentIds = new Set<string>();
  let failedChunks = 0;
  for (const item of result.all) {
    const chunk = chunks[item.index] ?? [];
    if (item.status === BatchItemStatus.SUCCEEDED && item.result) {
      const summary = item.result;
      const notSent = new Set(summary.unsent.map((entry) => entry.invoiceId));
      for (const invoice of chunk) if (!notSent.has(invoice.invoiceId)) sentIds.add(invoice.invoiceId);
      unsent.push(...summary.unsent);
      records.push(summary.recordKey);
      continue;
    }
    // The step failed after its retries (or never finished): its sends may have gone out. In doubt, and worth
    // another pass with the same keys.
    failedChunks += 1;
    const reason = item.error?.message ?? "the chunk did not finish";
    for (const invoice of chunk) {
      unsent.push({
        invoiceId: invoice.invoiceId,
        outcome: "in-doubt",
        again: true,
        error: excerpt(`[in doubt] its chunk failed as a unit: ${reason}`),
      });
    }
  }
  return {
    report: {
      chunks: chunks.length,
      invoices: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      sent: sentIds.size,
      unsent: unsent.length,
      failedChunks,
    },
    sentIds,
    unsent,
    records,
  };
}

function report(
  batch: ChunkedBatch,
  config: ChunkedConfig,
  first: PassOutcome,
  retry: PassOutcome | undefined,
  fx: FxDecision | undefined,
): ChunkedRunResult {
  const sentIds = new Set([...first.sentIds, ...(retry?.sentIds ?? [])]);
  // Every failure of an invoice never confirmed sent, in pass order: in doubt if any of them was.
  const failures = [...first.unsent, ...(retry?.unsent ?? [])]
    .filter((entry) => !sentIds.has(entry.invoiceId))
    .map(({ invoiceId, error }) => ({ invoiceId, error }));
  const { failed, inDoubt, issuedBefore } = unsentInvoices(failures);
  // The amounts of the invoices sent, from the batch (each receipt repeated its invoice's amount).
  const sentTotal = {
    currency: batch.currency,
    amountCents: batch.invoices
      .filter((invoice) => sentIds.has(invoice.invoiceId))
      .reduce((sum, invoice) => sum + invoice.amountCents, 0),
  };
  // A batch in the reporting currency needs no rate; no agreed rate, no reporting total (as the per-item run).
  const rateMicros = fx === undefined ? 1_000_000 : fx.outcome === "AGREED" ? fx.rateMicros : undefined;
  const reportingTotal =
    rateMicros === undefined
      ? undefined
      : {
          currency: REPORTING_CURRENCY,
          amountCents: convert(sentTotal.amountCents, rateMicros),
          rate: rateMicros / 1_000_000,
        };
  return {
    batchId: batch.batchId,
    customerId: batch.customerId,
    invoices: batch.invoices.length,
    chunkSize: config.chunkSize,
    outcome: sentIds.size === batch.invoices.length ? "ALL_SENT" : "PARTIALLY_SENT",
    sent: sentIds.size,
    sentTotal,
    ...(reportingTotal ? { reportingTotal } : {}),
    ...(fx ? { fx } : {}),
    firstPass: first.report,
    ...(retry ? { retryPass: retry.report } : {}),
    failed,
    inDoubt,
    issuedBefore,
    records: [...first.records, ...(retry?.records ?? [])],
  };
}

/** The seam, as createHandler's: tests and the bench pass their deps; `config` is merged over the defaults. */
export function createChunkedHandler(
  deps: BillingDeps,
  config: Partial<ChunkedConfig> = {},
): DurableLambdaHandler {
  const settings = checkChunkedConfig({ ...defaultChunkedConfig, ...config });
  return withDurableExecution((event: unknown, context) => runChunkedBatch(event, context, deps, settings));
}

/** The deployed chunked handler: the same real deps as `handler` (S3 documents, HTTP services). */
export const chunkedHandler = createChunkedHandler(createRealDeps());
