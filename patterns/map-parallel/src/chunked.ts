import {
  BatchItemStatus,
  createRetryStrategy,
  NestingType,
  withDurableExecution,
  type BatchResult,
  type DurableContext,
  type DurableLambdaHandler,
  type Duration,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { deliveryReceipt } from "./answers";
import {
  bounded,
  classifyRead,
  ConfigurationError,
  deliveryFailure,
  deliveryOutcomeOf,
  inFlightWhenStopped,
  ProviderHttpError,
  ProviderUnreachableError,
  readRetry,
  sharedMessageId,
  unsentInvoices,
  worthAnotherPass,
  type Outcome,
} from "./call-outcomes";
import {
  InvalidManifestError,
  MAX_RECORD_BYTES,
  parseHeader,
  parseLine,
  rangesFor,
  type ManifestLine,
} from "./chunked-manifest";
import {
  createRealDeps,
  createS3ObjectReader,
  ObjectChangedError,
  ObjectNotFoundError,
  PROVIDER_CONCURRENCY_LIMIT,
  type BillingDeps,
  type DeliveryRequest,
  type ObjectReader,
} from "./deps";
import { convert, REPORTING_CURRENCY, type FxDecision } from "./fx-rate";
import { HttpSettingError } from "./http-call";
import { defaultMessages, invalidBatch, InvoiceBatchInput, type Invoice } from "./input";
import { SecretSettingError } from "./secret-setting";
import {
  BatchNotStartedError,
  checkSettings,
  documentKey,
  enrichCustomer,
  quoteFxRate,
  withBoundedErrors,
  type CustomerProfile,
} from "./workflow";

export { manifestOf, MANIFEST_FORMAT, InvalidManifestError } from "./chunked-manifest";

/**
 * The per-item map at scale: batches of 10,000 invoices and more, sent in chunks, the batch taken by reference.
 * The event names the batch's manifest in S3 (src/chunked-manifest.ts: fixed-width lines) and carries only what
 * the run needs before reading it. A first step reads the manifest's header and pins its ETag (and version); each
 * chunk's step reads its own lines with one Range read of that pinned object, validates each invoice (a
 * malformed one is reported, never sent), and renders, stores and sends every invoice of the chunk, each with its
 * own idempotency key (`<batchId>:<invoiceId>`, the per-item map's). An invoice's failure is data in its chunk's
 * summary, classified by the per-item map's rules (src/call-outcomes.ts), so the retry pass, after the cool-down,
 * sends only the invoices not sent, re-chunked, never a sent one.
 *
 * A failure that would fail the next chunk too (an outage, throttling past the in-step attempts, a setting, a
 * manifest changed under the batch) is not data: the chunk's step records its outcomes, then throws, and the
 * map's failure tolerance (none) stops the batch, as the per-item map's 10% policy does.
 *
 * The checkpoint of a chunk holds a summary: counts, the sent amount, and the lines (with a short verdict) of the
 * invoices not sent. The full per-invoice record (message ids, document keys, whole error messages) is stored in
 * the document store by the same step and referenced by its key; a last step reads those records back to find two
 * invoices answered with one message id. See docs/scale.md.
 */

/**
 * The limits a chunk must fit (SDK 2.4.0; see docs/scale.md for the sources):
 * - one operation's checkpointed payload: 256 KB (`CHECKPOINT_SIZE_LIMIT_BYTES`, the SDK's dist-cjs/index.js;
 *   the service's "maximum checkpoint payload"); an execution's input: 256 KB;
 * - a step's error: 32 KB ("Error object size must be less than 32768 bytes");
 * - a map's (or child context's) own result past 256 KB is checkpointed as a summary and rebuilt on replay by
 *   re-running its children from their checkpoints (`ReplayChildren`);
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
/** `{"line":100000,"invoiceId":"INV-123456789012","outcome":"issued-before","again":false,"error":"..."}`. */
export const MAX_UNSENT_ENTRY_BYTES = 105 + 2 * ERROR_EXCERPT;
/** 128 KB / 425 bytes = 308 invoices, rounded down to 250. */
export const MAX_CHUNK_SIZE = 250;
/**
 * The default: 100 invoices a chunk. Its summary is at most 42 KB (16% of a checkpoint) if every invoice
 * failed, about 100 bytes if all were sent. A chunk's step sends its invoices one after another, so at 200 ms a
 * send a chunk takes about 20 s: far inside a Lambda invocation, and a crash repeats at most 100 sends (same keys).
 */
export const DEFAULT_CHUNK_SIZE = 100;
/** At most 100,000 invoices a manifest: 1,000 chunks of 100, about 2,000 operations a pass. */
export const MAX_INVOICES_PER_CHUNKED_BATCH = 100_000;
/** At most 5,000 chunks a pass: two passes of two operations a chunk stay under 25,000 operations. */
export const MAX_CHUNKS_PER_PASS = 5_000;
/** The most entries a list of the report holds (its count says how many there are): the report stays small. */
export const REPORT_LIST_LIMIT = 100;
/** Sends in a row failing for a reason the next send would meet too: the chunk stops sending and halts the batch. */
export const SYSTEMIC_STREAK = 5;

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

/** The event: the batch's fields and its manifest's location. A few hundred bytes, whatever the batch's size. */
const ChunkedBatchEvent = z.strictObject({
  batchId: InvoiceBatchInput.shape.batchId,
  customerId: InvoiceBatchInput.shape.customerId,
  vatNumber: InvoiceBatchInput.shape.vatNumber,
  currency: InvoiceBatchInput.shape.currency,
  manifest: z.strictObject({
    /** Default: the document bucket (INVOICE_BUCKET). */
    bucket: z.optional(
      z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")),
    ),
    key: z
      .string()
      .check(
        z.minLength(1, "must not be empty"),
        z.maxLength(1024, "must be at most 1024 characters"),
        z.regex(/^[\x20-\x7e]+$/, "must be printable ASCII"),
      ),
    /** Pin this version (a versioned bucket); otherwise the version read first is pinned. */
    versionId: z.optional(z.string().check(z.regex(/^[\x21-\x7e]{1,1024}$/, "must be a version id"))),
  }),
});
export type ChunkedBatch = z.infer<typeof ChunkedBatchEvent>;

/** Pure and deterministic, outside any step: a bad event fails with zero operations and zero calls. */
export function parseChunkedBatch(event: unknown): ChunkedBatch {
  const parsed = ChunkedBatchEvent.safeParse(event, { error: defaultMessages });
  if (parsed.success) return parsed.data;
  throw invalidBatch(parsed.error.issues);
}

/** The manifest as the first step read it: what every chunk reads again, by this ETag (and version). */
export interface PinnedManifest {
  bucket?: string;
  key: string;
  etag: string;
  versionId?: string;
  invoices: number;
  recordBytes: number;
}

/** One invoice's outcome inside a chunk, in full: stored in the document store, never checkpointed. */
export type InvoiceRecord =
  | {
      line: number;
      invoiceId: string;
      sent: true;
      amountCents: number;
      documentKey: string;
      messageId: string;
    }
  | { line: number; invoiceId?: string; sent: false; outcome: Outcome; again: boolean; error: string };

/** An invoice not sent, as the chunk's checkpoint holds it: its line, id, verdict and the start of the error. */
export interface UnsentEntry {
  /** Its line in the manifest (1 is the first invoice). */
  line: number;
  /** Absent when the line held no well-formed invoice id. */
  invoiceId?: string;
  outcome: Outcome;
  /** Worth another pass (an outage, a send in doubt), or not (a refusal, a malformed line, issued before). */
  again: boolean;
  /** Starts with the verdict marker ("[in doubt] ..."): what deliveryOutcomeOf reads back. */
  error: string;
}

/** What a chunk's step checkpoints: small whatever the chunk size (see MAX_CHUNK_SUMMARY_BYTES). */
export interface ChunkSummary {
  /** The total of the invoices sent (the chunk's size less `unsent` is their number). */
  sentCents: number;
  unsent: UnsentEntry[];
  /** The digest naming the chunk's full record in the document store: see recordKeyOf. */
  record: string;
}

/** Where a chunk's full record (every invoice's message id or whole error) is, in the document store. */
export function recordKeyOf(batchId: string, chunkName: string, digest: string): string {
  return `chunk-records/${batchId}/${chunkName}/${digest}.json`;
}

/** The summary of a chunk's records: what its step returns. Exported for the size test. */
export function summariseChunk(records: InvoiceRecord[], record: string): ChunkSummary {
  const unsent: UnsentEntry[] = [];
  let sentCents = 0;
  for (const entry of records) {
    if (entry.sent) {
      sentCents += entry.amountCents;
    } else {
      unsent.push({
        line: entry.line,
        ...(entry.invoiceId ? { invoiceId: entry.invoiceId } : {}),
        outcome: entry.outcome,
        again: entry.again,
        error: excerpt(entry.error),
      });
    }
  }
  return { sentCents, unsent, record };
}

/** Printable ASCII only, `max` characters: a provider's words cannot grow a checkpoint. */
function excerpt(message: string, max = ERROR_EXCERPT): string {
  const plain = message.replace(/[^\x20-\x7e]/g, "?");
  return plain.length <= max ? plain : `${plain.slice(0, max - 3)}...`;
}

/**
 * What a chunk that stopped the batch throws: its outcomes, compact enough for a step's error (32 KB at most:
 * one short entry per invoice not sent, 250 of them about 7 KB), after storing its full record. The message
 * starts with `[halt]`, then a sentence, then the outcomes as JSON on the next line, which readPass reads back
 * from the map's checkpointed result.
 */
export class ChunkHaltedError extends Error {
  override readonly name = "ChunkHaltedError";
  constructor(reason: string, outcome: HaltOutcome) {
    super(`${HALT} ${excerpt(reason, 400)}\n${JSON.stringify(outcome)}`);
  }
}
const HALT = "[halt]";

/** A halted chunk's outcomes: unsent entries as [line, invoiceId, code]; `read: false` when nothing was read. */
interface HaltOutcome {
  read: boolean;
  sent: number;
  sentCents: number;
  unsent: Array<[number, string, "N" | "R" | "D" | "I"]>;
  recordKey?: string;
}

function haltOf(message: string): { reason: string; outcome: HaltOutcome } | undefined {
  if (!message.startsWith(HALT)) return undefined;
  const newline = message.indexOf("\n");
  try {
    return {
      reason: message.slice(HALT.length + 1, newline),
      outcome: JSON.parse(message.slice(newline + 1)) as HaltOutcome,
    };
  } catch {
    return undefined;
  }
}

/** Manifest lines from and to (both included): how the report names invoices it never read. */
export interface LineSpan {
  chunk: string;
  from: number;
  to: number;
  invoices: number;
  error: string;
}

export interface ChunkedPassReport {
  chunks: number;
  invoices: number;
  sent: number;
  unsent: number;
  /** Chunks whose step failed or stopped the pass: their invoices are reported by line (chunksInDoubt). */
  failedChunks: number;
  /** Chunks never started: the pass stopped first. */
  notStartedChunks: number;
  completionReason: BatchResult<unknown>["completionReason"];
}

export interface ChunkedRunResult {
  batchId: string;
  customerId: string;
  invoices: number;
  chunkSize: number;
  manifest: PinnedManifest;
  /** HALTED: a chunk stopped a pass on a systemic failure (the first: nothing was retried). */
  outcome: "ALL_SENT" | "PARTIALLY_SENT" | "HALTED";
  /** Why the batch stopped, from the chunk that stopped it. */
  halted?: { chunk: string; reason: string };
  /** How many invoices the provider confirmed, over both passes, and their total. */
  sent: number;
  sentTotal: { currency: string; amountCents: number };
  reportingTotal?: { currency: string; amountCents: number; rate: number };
  fx?: FxDecision;
  firstPass: ChunkedPassReport;
  retryPass?: ChunkedPassReport;
  /** Not sent, for certain (refused, never delivered, a malformed line): `invoiceId` absent if the line had none. */
  failed: Array<{ line: number; invoiceId?: string; error: string }>;
  /** Perhaps sent: send again only with the same key, or look it up by the key. */
  inDoubt: Array<{ line: number; invoiceId?: string; error: string }>;
  /** The key was used before for other content: the customer has the earlier invoice. */
  issuedBefore: Array<{ line: number; invoiceId?: string; error: string }>;
  /** Chunks whose invoices were perhaps sent (a step that failed, a chunk in flight when the batch stopped). */
  chunksInDoubt: LineSpan[];
  /** Lines never attempted (the batch stopped before their chunk, or their chunk could not read them): not sent. */
  notAttempted: LineSpan[];
  /** Where each chunk's full record is: every sent invoice's message id and document key. */
  records: string[];
  /** Chunk records check-message-ids could not read: their sent invoices were not checked for a shared message id. */
  unchecked?: { records: number; first: string };
  /**
   * How many entries each list has in all: a list holds its first REPORT_LIST_LIMIT, so the report stays small
   * whatever the batch (every invoice's outcome is in the chunk records, under `chunk-records/<batchId>/`).
   */
  counts: Record<
    "failed" | "inDoubt" | "issuedBefore" | "chunksInDoubt" | "notAttempted" | "records",
    number
  >;
}

/**
 * The chunked billing run: read the manifest's header, enrich the customer (the per-item run's parallel), send
 * the invoices a chunk at a time, give the ones not sent a second pass after a cool-down, check the message ids,
 * quote the FX rate last (after the only wait), and report counts and the invoices not sent.
 */
export async function runChunkedBatch(
  event: unknown,
  context: DurableContext,
  given: ChunkedDeps,
  config: ChunkedConfig = defaultChunkedConfig,
): Promise<ChunkedRunResult> {
  // As in the per-item run: whatever a dep throws is bounded before a step checkpoints it.
  const deps = withBoundedErrors(given);
  const objects = boundedReader(given.objects);
  const batch = parseChunkedBatch(event);
  context.logger.info("Chunked billing run", { batchId: batch.batchId, manifest: batch.manifest.key });
  // Before anything else: a manifest that cannot be used fails the run with one operation and no call made.
  const manifest = await readManifest(context, objects, batch, config);
  const customer = await enrichCustomer(context, deps, { ...batch, invoices: [] });
  // The per-item run's step: a setting the sends need that cannot be used fails the run with BatchNotStartedError
  // naming it, before any document is rendered.
  await checkSettings(context, deps, batch.batchId);
  const run: ChunkRun = { batch, manifest, customer, deps, objects, config };

  const all = Array.from({ length: manifest.invoices }, (_, position) => position);
  const firstPass = await sendChunks(context, "send-chunks", "chunk", all, run);
  const first = readPass(firstPass.result, firstPass.chunks, "chunk", batch.batchId);

  // From checkpointed results only, so the same list on every replay. Only after a pass that ran to the end: a
  // pass a chunk stopped may have chunks still in flight, which would keep the function from suspending.
  const toRetry = first.unsent.filter((entry) => entry.again).map((entry) => entry.line - 1);
  let retry: PassOutcome | undefined;
  if (first.report.completionReason === "ALL_COMPLETED" && toRetry.length > 0) {
    await context.wait("cool-down-before-retry", config.retryCooldown);
    const retryPass = await sendChunks(
      context,
      "retry-unsent-invoices",
      "retry-chunk",
      toRetry.sort((a, b) => a - b),
      run,
    );
    retry = readPass(retryPass.result, retryPass.chunks, "retry-chunk", batch.batchId);
  }

  // Receipts under one message id, over every chunk record: at most one email stands behind them.
  const records = [...first.records, ...(retry?.records ?? [])];
  const shared = await context.step("check-message-ids", () => sharedMessageIds(objects, records), lookup);

  const fx = batch.currency === REPORTING_CURRENCY ? undefined : await quoteFxRate(context, deps, batch);
  return report(batch, manifest, config, first, retry, shared, fx);
}

/** The deps of the chunked run: the per-item run's, and a reader for the manifest and the chunk records. */
export interface ChunkedDeps extends BillingDeps {
  objects: ObjectReader;
}

interface ChunkRun {
  batch: ChunkedBatch;
  manifest: PinnedManifest;
  customer: CustomerProfile;
  deps: BillingDeps;
  objects: ObjectReader;
  config: ChunkedConfig;
}

const lookup = { retryStrategy: readRetry() };

function boundedReader(reader: ObjectReader): ObjectReader {
  return {
    read: async (request) => {
      try {
        return await reader.read(request);
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (failure.message.length > 1000) {
          failure.message = bounded(failure.message, 1000);
          failure.stack = `${failure.name}: ${failure.message}`;
        }
        throw failure;
      }
    },
  };
}

/**
 * The first step: the manifest's first bytes (its header line), its ETag and version pinned. Checks the header
 * against the event (batch, customer, currency), its size against its count, and the counts against the limits.
 * A manifest that cannot be used fails the run with BatchNotStartedError naming it; an outage is retried.
 */
async function readManifest(
  context: DurableContext,
  objects: ObjectReader,
  batch: ChunkedBatch,
  config: ChunkedConfig,
): Promise<PinnedManifest> {
  const { bucket, key, versionId } = batch.manifest;
  const where = `manifest ${bucket ? `s3://${bucket}/` : ""}${key}`;
  try {
    return await context.step(
      "read-manifest",
      async (): Promise<PinnedManifest> => {
        const first = await objects.read({
          ...(bucket ? { bucket } : {}),
          key,
          range: { start: 0, end: MAX_RECORD_BYTES - 1 },
          ...(versionId ? { versionId } : {}),
        });
        const header = parseHeader(first.body, first.objectBytes, where);
        const mismatch = (["batchId", "customerId", "currency"] as const).filter(
          (f) => header[f] !== batch[f],
        );
        if (mismatch.length > 0) {
          const detail = mismatch.map(
            (f) => `${f} ${JSON.stringify(header[f])}, not ${JSON.stringify(batch[f])}`,
          );
          throw new InvalidManifestError(
            `${where} is for another batch: its header says ${detail.join("; ")}`,
          );
        }
        if (header.invoices > MAX_INVOICES_PER_CHUNKED_BATCH) {
          throw new InvalidManifestError(
            `${where} has ${header.invoices} invoices, over ${MAX_INVOICES_PER_CHUNKED_BATCH} (split larger batches)`,
          );
        }
        const chunks = Math.ceil(header.invoices / config.chunkSize);
        if (chunks > MAX_CHUNKS_PER_PASS) {
          throw new InvalidManifestError(
            `${where} has ${header.invoices} invoices: ${chunks} chunks of ${config.chunkSize}, over ` +
              `${MAX_CHUNKS_PER_PASS} a pass (the history holds ${HISTORY_LIMIT_OPERATIONS} operations): raise chunkSize`,
          );
        }
        if (first.etag === "") throw new InvalidManifestError(`${where}: S3 answered no ETag to pin it by`);
        return {
          ...(bucket ? { bucket } : {}),
          key,
          etag: first.etag,
          ...(first.versionId ? { versionId: first.versionId } : versionId ? { versionId } : {}),
          invoices: header.invoices,
          recordBytes: header.recordBytes,
        };
      },
      lookup,
    );
  } catch (error) {
    throw new BatchNotStartedError(error instanceof Error ? error.message : String(error), batch.batchId);
  }
}

/** Consecutive slices of `size`: deterministic, so every replay makes the same chunks. */
export function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** A chunk: the positions (0-based; line = position + 1) of its invoices in the manifest, ascending. */
type Chunk = number[];

async function sendChunks(
  context: DurableContext,
  name: string,
  itemPrefix: string,
  positions: number[],
  run: ChunkRun,
) {
  const chunks = chunksOf(positions, run.config.chunkSize);
  const result = await context.map(
    name,
    chunks,
    (item, chunk, index) => sendChunk(item, `${itemPrefix}-${index + 1}`, chunk, run),
    {
      maxConcurrency: run.config.maxConcurrency,
      itemNamer: (_chunk, index) => `${itemPrefix}-${index + 1}`,
      // An invoice's failure is data in its chunk's summary, not a failed item. A chunk fails only on a failure
      // that would fail the next chunk too (ChunkHaltedError), or when its record could not be stored: either
      // stops the pass, as the per-item map's 10% policy does.
      completionConfig: { toleratedFailureCount: 0 },
      nesting: run.config.nesting,
    },
  );
  return { result, chunks };
}

/**
 * A chunk's step is retried only when it failed before deciding anything: a manifest read that may work a moment
 * later, or the record's store (resending is safe under the keys). A chunk that stopped the batch is not.
 */
const chunkBackoff = createRetryStrategy({ maxAttempts: 3, initialDelay: { seconds: 2 } });
const chunkRetry = (error: Error, attemptsMade: number): RetryDecision =>
  error instanceof ChunkHaltedError || error.message.startsWith(HALT)
    ? { shouldRetry: false }
    : chunkBackoff(error, attemptsMade);

function sendChunk(context: DurableContext, chunkName: string, chunk: Chunk, run: ChunkRun) {
  const { batch, deps } = run;
  return context.step(
    `send-${chunkName}`,
    async () => {
      const lines = await readLines(chunk, run, chunkName);
      // One invoice at a time: the map's maxConcurrency is then the number of sends in flight.
      const records: InvoiceRecord[] = [];
      const seen = new Map<string, number>();
      let streak = 0;
      let systemic = 0;
      let attempted = 0;
      let stopped: string | undefined;
      for (const parsed of lines) {
        if (stopped) {
          records.push(notAttempted(parsed, `[not sent] not attempted: ${chunkName} stopped: ${stopped}`));
          continue;
        }
        if ("problem" in parsed) {
          records.push(malformed(parsed, `[refused] malformed in the manifest, not sent: ${parsed.problem}`));
          continue;
        }
        const earlier = seen.get(parsed.invoice.invoiceId);
        if (earlier !== undefined) {
          const problem = `line ${parsed.line} (${parsed.invoice.invoiceId}): invoiceId appears twice (line ${earlier} too)`;
          records.push(malformed(parsed, `[refused] malformed in the manifest, not sent: ${problem}`));
          continue;
        }
        seen.set(parsed.invoice.invoiceId, parsed.line);
        const { record, systemic: isSystemic } = await sendOne(parsed.line, parsed.invoice, run);
        records.push(record);
        attempted += 1;
        if (!isSystemic) {
          streak = 0;
          continue;
        }
        systemic += 1;
        streak += 1;
        if (streak >= SYSTEMIC_STREAK && !record.sent) {
          stopped = `${streak} sends in a row failed for a reason the next would meet too, the last: ${excerpt(record.error, 200)}`;
        }
      }
      const body = new TextEncoder().encode(JSON.stringify(records));
      const digest = createHash("sha256").update(body).digest("hex").slice(0, 16);
      // Named by its content, so a re-run of this step after a crash that got other answers stores a second
      // record instead of replacing the first (the store is create-only).
      const recordKey = recordKeyOf(batch.batchId, chunkName, digest);
      await deps.documents.put({ key: recordKey, body, contentType: "application/json" });
      const summary = summariseChunk(records, digest);
      const mostly = attempted >= 2 * SYSTEMIC_STREAK && 2 * systemic > attempted;
      if (stopped || mostly) {
        const reason =
          stopped ?? `${systemic} of ${attempted} sends failed for reasons the next chunk would meet too`;
        throw new ChunkHaltedError(
          `${chunkName} stopped the batch: ${reason}`,
          haltOutcome(summary, true, records.length, recordKey),
        );
      }
      return summary;
    },
    { retryStrategy: chunkRetry },
  );
}

function haltOutcome(
  summary: ChunkSummary | undefined,
  read: boolean,
  invoices: number,
  recordKey?: string,
): HaltOutcome {
  const code = (entry: UnsentEntry) =>
    entry.outcome === "in-doubt" ? "D" : entry.outcome === "issued-before" ? "I" : entry.again ? "N" : "R";
  const unsent = summary?.unsent ?? [];
  return {
    read,
    sent: summary ? invoices - unsent.length : 0,
    sentCents: summary?.sentCents ?? 0,
    unsent: unsent.map((entry) => [entry.line, entry.invoiceId ?? "", code(entry)]),
    ...(recordKey ? { recordKey } : {}),
  };
}

const malformed = (parsed: ManifestLine, error: string): InvoiceRecord => ({
  line: parsed.line,
  ...idOf(parsed),
  sent: false,
  outcome: "not-done",
  again: false,
  error: bounded(error),
});
const notAttempted = (parsed: ManifestLine, error: string): InvoiceRecord => ({
  line: parsed.line,
  ...idOf(parsed),
  sent: false,
  outcome: "not-done",
  again: true,
  error: bounded(error),
});
const idOf = (parsed: ManifestLine) =>
  "invoice" in parsed
    ? { invoiceId: parsed.invoice.invoiceId }
    : parsed.invoiceId
      ? { invoiceId: parsed.invoiceId }
      : {};

/**
 * The chunk's lines from the pinned manifest: Range reads by its ETag (and version), each attempted again when S3
 * may answer a moment later. A manifest changed, gone, refused or still unreadable halts the batch with every line
 * of the chunk not sent.
 */
async function readLines(chunk: Chunk, run: ChunkRun, chunkName: string): Promise<ManifestLine[]> {
  const { manifest, objects } = run;
  const width = manifest.recordBytes;
  const lines: ManifestLine[] = [];
  try {
    for (const range of rangesFor(chunk, width)) {
      const read = await withReadAttempts(run.config.attemptBackoffMs, () =>
        objects.read({
          ...(manifest.bucket ? { bucket: manifest.bucket } : {}),
          key: manifest.key,
          range: { start: range.start, end: range.end },
          ifMatch: manifest.etag,
          ...(manifest.versionId ? { versionId: manifest.versionId } : {}),
        }),
      );
      if (read.body.byteLength !== range.end - range.start + 1) {
        throw new ObjectChangedError(
          `manifest ${manifest.key}: ${read.body.byteLength} bytes served for a range of ${range.end - range.start + 1}`,
        );
      }
      const wanted = new Set(chunk.filter((p) => p >= range.first && p <= range.last));
      for (let position = range.first; position <= range.last; position += 1) {
        if (!wanted.has(position)) continue;
        const offset = (position - range.first) * width;
        lines.push(parseLine(read.body.subarray(offset, offset + width), position + 1));
      }
    }
  } catch (error) {
    const changed = error instanceof ObjectChangedError || error instanceof ObjectNotFoundError;
    const detail = error instanceof Error ? error.message : String(error);
    const reason = changed
      ? `the manifest changed under the running batch (pinned ETag ${manifest.etag}${manifest.versionId ? `, version ${manifest.versionId}` : ""}): ${detail}. No invoice of ${chunkName} was sent; run the batch again once the manifest is final`
      : `the manifest could not be read: ${detail}. No invoice of ${chunkName} was sent`;
    throw new ChunkHaltedError(
      `${chunkName} stopped the batch: ${reason}`,
      haltOutcome(undefined, false, chunk.length),
    );
  }
  return lines;
}

/**
 * A read of the manifest, attempted up to 3 times (attemptBackoffMs, then twice that, apart) when S3 may answer a moment
 * later: it happens before any send, so whatever still fails after that stops the batch with the chunk not sent
 * (a failed step would leave its invoices in doubt).
 */
async function withReadAttempts<T>(backoffMs: number, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 3 || !classifyRead(error).retry) throw error;
      if (backoffMs > 0) await pause(backoffMs * attempt);
    }
  }
}

/**
 * A failure the next invoice (and the next chunk) would meet too: a setting, an outage or throttling that
 * outlasted the in-step attempts, no answer, a refusal of the credentials or the endpoint. A refusal of this
 * invoice (400, 422), "issued before" or an answer we cannot read are about the invoice: not systemic.
 */
export function isSystemic(error: unknown): boolean {
  if (error instanceof ConfigurationError || error instanceof HttpSettingError) return true;
  if (error instanceof SecretSettingError) return true;
  if (error instanceof ProviderUnreachableError) return true;
  if (error instanceof ProviderHttpError) {
    return [401, 403, 404, 408, 429].includes(error.status) || error.status >= 500;
  }
  return false;
}

/**
 * Render, store and send one invoice; never throws. The outcome is classified as the per-item map's deliver
 * step classifies it (deliveryFailure, src/call-outcomes.ts); "not done" verdicts that may work a moment later
 * are repeated here, a send in doubt never is (the retry pass settles it with the same key).
 */
async function sendOne(
  line: number,
  invoice: Invoice,
  run: ChunkRun,
): Promise<{ record: InvoiceRecord; systemic: boolean }> {
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
    const record: InvoiceRecord = {
      line,
      invoiceId,
      sent: false,
      outcome: "not-done",
      again: true,
      error: bounded(`not rendered or stored: ${detail}`),
    };
    return { record, systemic: isSystemic(error) };
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
      const record: InvoiceRecord = {
        line,
        invoiceId,
        sent: true,
        amountCents: invoice.amountCents,
        documentKey: key,
        messageId,
      };
      return { record, systemic: false };
    } catch (error) {
      const failure = deliveryFailure(error);
      if (failure.verdict.retry && attempt < config.deliveryAttempts) {
        if (config.attemptBackoffMs > 0) await pause(config.attemptBackoffMs * attempt);
        continue;
      }
      const record: InvoiceRecord = {
        line,
        invoiceId,
        sent: false,
        outcome: deliveryOutcomeOf(failure.message),
        again: worthAnotherPass(failure.message),
        error: failure.message,
      };
      return { record, systemic: isSystemic(error) };
    }
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface PassOutcome {
  report: ChunkedPassReport;
  sent: number;
  sentCents: number;
  unsent: UnsentEntry[];
  chunksInDoubt: LineSpan[];
  notAttempted: LineSpan[];
  records: string[];
  /** The lines this pass sent, and those of its chunks in doubt (failed as a unit, in flight at a halt). */
  sentLines: Set<number>;
  inDoubtLines: number[];
  halted?: { chunk: string; reason: string };
}

const spanOf = (chunk: Chunk, name: string, error: string): LineSpan => ({
  chunk: name,
  from: chunk[0]! + 1,
  to: chunk[chunk.length - 1]! + 1,
  invoices: chunk.length,
  error: excerpt(error, 400),
});

/** A pass's outcome from its checkpointed BatchResult: the chunks' summaries, their halts, and the rest by line. */
function readPass(
  result: BatchResult<ChunkSummary>,
  chunks: Chunk[],
  prefix: string,
  batchId: string,
): PassOutcome {
  const pass: PassOutcome = {
    report: {
      chunks: chunks.length,
      invoices: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      sent: 0,
      unsent: 0,
      failedChunks: 0,
      notStartedChunks: chunks.length - result.all.length,
      completionReason: result.completionReason,
    },
    sent: 0,
    sentCents: 0,
    unsent: [],
    chunksInDoubt: [],
    notAttempted: [],
    records: [],
    sentLines: new Set(),
    inDoubtLines: [],
  };
  const sentExcept = (chunk: Chunk, unsent: Array<number>) => {
    const not = new Set(unsent);
    for (const position of chunk) if (!not.has(position + 1)) pass.sentLines.add(position + 1);
  };
  const started = new Set<number>();
  for (const item of result.all) {
    started.add(item.index);
    const chunk = chunks[item.index] ?? [];
    const name = `${prefix}-${item.index + 1}`;
    if (item.status === BatchItemStatus.SUCCEEDED && item.result) {
      const summary = item.result;
      pass.sent += chunk.length - summary.unsent.length;
      sentExcept(
        chunk,
        summary.unsent.map((entry) => entry.line),
      );
      pass.sentCents += summary.sentCents;
      pass.unsent.push(...summary.unsent);
      pass.records.push(recordKeyOf(batchId, name, summary.record));
      continue;
    }
    pass.report.failedChunks += 1;
    if (item.status === BatchItemStatus.STARTED) {
      // In flight when another chunk stopped the pass: its sends may have reached the provider.
      pass.chunksInDoubt.push(spanOf(chunk, name, inFlightWhenStopped(`<batchId>:<invoiceId>`)));
      pass.inDoubtLines.push(...chunk.map((position) => position + 1));
      continue;
    }
    const message = item.error?.message ?? "the chunk did not finish";
    const halt = haltOf(message);
    if (!halt) {
      // The step failed after its retries (its record could not be stored): its sends may have gone out.
      pass.chunksInDoubt.push(spanOf(chunk, name, `[in doubt] its chunk failed as a unit: ${message}`));
      pass.inDoubtLines.push(...chunk.map((position) => position + 1));
      continue;
    }
    pass.halted ??= { chunk: name, reason: halt.reason };
    if (!halt.outcome.read) {
      pass.notAttempted.push(spanOf(chunk, name, `[not sent] ${halt.reason}`));
      continue;
    }
    pass.sent += halt.outcome.sent;
    sentExcept(
      chunk,
      halt.outcome.unsent.map(([line]) => line),
    );
    pass.sentCents += halt.outcome.sentCents;
    if (halt.outcome.recordKey) pass.records.push(halt.outcome.recordKey);
    const see = `its chunk stopped the batch (${halt.reason}); the invoice's own error is in ${halt.outcome.recordKey}`;
    for (const [line, invoiceId, code] of halt.outcome.unsent) {
      const marker = { N: "[not sent]", R: "[refused]", D: "[in doubt]", I: "[issued before]" }[code];
      pass.unsent.push({
        line,
        ...(invoiceId ? { invoiceId } : {}),
        outcome: code === "D" ? "in-doubt" : code === "I" ? "issued-before" : "not-done",
        again: code === "N" || code === "D",
        error: excerpt(`${marker} ${see}`, 400),
      });
    }
  }
  chunks.forEach((chunk, index) => {
    if (!started.has(index)) {
      pass.notAttempted.push(
        spanOf(chunk, `${prefix}-${index + 1}`, "[not sent] never started: the pass stopped first"),
      );
    }
  });
  pass.report.sent = pass.sent;
  pass.report.unsent = pass.report.invoices - pass.sent;
  return pass;
}

/** Invoices answered with one message id: at most MAX_SHARED_LISTED listed, all of them counted. */
export interface SharedMessageIds {
  groups: Array<{ messageId: string; invoices: Array<{ line: number; invoiceId: string }> }>;
  /** Every invoice in a group, listed or not, and their amount: none of them counts as sent. */
  invoices: number;
  cents: number;
  /**
   * Chunk records that could not be read (gone, refused, not JSON): their invoices were not checked, and the run
   * says so (`unchecked` in the report) instead of failing after every invoice went out.
   */
  unread?: { records: number; first: string };
}
const MAX_SHARED_LISTED = 500;

/** Reads the chunk records back (8 at a time) and groups the sent invoices by message id. */
async function sharedMessageIds(objects: ObjectReader, recordKeys: string[]): Promise<SharedMessageIds> {
  const byMessage = new Map<string, Array<{ line: number; invoiceId: string; cents: number }>>();
  let next = 0;
  const unread = { records: 0, first: "" };
  const worker = async () => {
    while (next < recordKeys.length) {
      const key = recordKeys[next++]!;
      let records: InvoiceRecord[];
      try {
        const { body } = await objects.read({ key });
        records = JSON.parse(Buffer.from(body).toString("utf8")) as InvoiceRecord[];
        if (!Array.isArray(records)) throw new Error(`${key} is not a list of records`);
      } catch (error) {
        // An outage is retried (the step's lookup retries); anything else leaves this record unchecked.
        if (classifyRead(error).retry) throw error;
        unread.records += 1;
        if (unread.first === "")
          unread.first = excerpt(error instanceof Error ? error.message : String(error), 300);
        continue;
      }
      for (const record of records) {
        if (!record.sent) continue;
        const group = byMessage.get(record.messageId) ?? [];
        group.push({ line: record.line, invoiceId: record.invoiceId, cents: record.amountCents });
        byMessage.set(record.messageId, group);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const shared = [...byMessage].filter(([, group]) => group.length > 1);
  let listed = 0;
  const result: SharedMessageIds = {
    groups: [],
    invoices: 0,
    cents: 0,
    ...(unread.records > 0 ? { unread } : {}),
  };
  for (const [messageId, group] of shared) {
    result.invoices += group.length;
    result.cents += group.reduce((sum, entry) => sum + entry.cents, 0);
    if (listed + group.length > MAX_SHARED_LISTED) continue;
    listed += group.length;
    const invoices = group
      .sort((a, b) => a.line - b.line)
      .map(({ line, invoiceId }) => ({ line, invoiceId }));
    result.groups.push({ messageId: excerpt(messageId, 100), invoices });
  }
  return result;
}

function report(
  batch: ChunkedBatch,
  manifest: PinnedManifest,
  config: ChunkedConfig,
  first: PassOutcome,
  retry: PassOutcome | undefined,
  shared: SharedMessageIds,
  fx: FxDecision | undefined,
): ChunkedRunResult {
  // Keyed by line: a malformed line may have no invoice id.
  const keyOf = (line: number) => `#${line}`;
  const entries = new Map<string, { line: number; invoiceId?: string }>();
  // An invoice the retry pass sent is not reported; one whose retry chunk is in doubt is in doubt.
  const sentByRetry = retry?.sentLines ?? new Set<number>();
  const retryInDoubt = new Set(retry?.inDoubtLines ?? []);
  const failures = [...first.unsent, ...(retry?.unsent ?? [])]
    .filter((entry) => !sentByRetry.has(entry.line))
    .flatMap(({ line, invoiceId, error }) => {
      entries.set(keyOf(line), { line, ...(invoiceId ? { invoiceId } : {}) });
      const doubt = retryInDoubt.has(line)
        ? [
            {
              invoiceId: keyOf(line),
              error: "[in doubt] its retry chunk failed or was in flight when the pass stopped",
            },
          ]
        : [];
      return [{ invoiceId: keyOf(line), error }, ...doubt];
    });
  for (const group of shared.groups) {
    const ids = group.invoices.map((invoice) => invoice.invoiceId);
    for (const { line, invoiceId } of group.invoices) {
      entries.set(keyOf(line), { line, invoiceId });
      failures.push({ invoiceId: keyOf(line), error: sharedMessageId(group.messageId, ids, batch.batchId) });
    }
  }
  const lists = unsentInvoices(failures);
  const named = (list: Array<{ invoiceId: string; error: string }>) =>
    list.map(({ invoiceId: key, error }) => ({ ...entries.get(key)!, error }));

  const sent = first.sent + (retry?.sent ?? 0) - shared.invoices;
  const sentTotal = {
    currency: batch.currency,
    amountCents: first.sentCents + (retry?.sentCents ?? 0) - shared.cents,
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
  const halted = first.halted ?? retry?.halted;
  const chunksInDoubt = [...first.chunksInDoubt, ...(retry?.chunksInDoubt ?? [])];
  const notAttempted = [...first.notAttempted, ...(retry?.notAttempted ?? [])];
  const records = [...first.records, ...(retry?.records ?? [])];
  return {
    batchId: batch.batchId,
    customerId: batch.customerId,
    invoices: manifest.invoices,
    chunkSize: config.chunkSize,
    manifest,
    outcome:
      halted ||
      first.report.completionReason !== "ALL_COMPLETED" ||
      (retry && retry.report.completionReason !== "ALL_COMPLETED")
        ? "HALTED"
        : sent === manifest.invoices
          ? "ALL_SENT"
          : "PARTIALLY_SENT",
    ...(halted ? { halted } : {}),
    sent,
    sentTotal,
    ...(reportingTotal ? { reportingTotal } : {}),
    ...(fx ? { fx } : {}),
    firstPass: first.report,
    ...(retry ? { retryPass: retry.report } : {}),
    failed: named(lists.failed.slice(0, REPORT_LIST_LIMIT)),
    inDoubt: named(lists.inDoubt.slice(0, REPORT_LIST_LIMIT)),
    issuedBefore: named(lists.issuedBefore.slice(0, REPORT_LIST_LIMIT)),
    chunksInDoubt: chunksInDoubt.slice(0, REPORT_LIST_LIMIT),
    notAttempted: notAttempted.slice(0, REPORT_LIST_LIMIT),
    records: records.slice(0, REPORT_LIST_LIMIT),
    ...(shared.unread ? { unchecked: shared.unread } : {}),
    counts: {
      failed: lists.failed.length,
      inDoubt: lists.inDoubt.length,
      issuedBefore: lists.issuedBefore.length,
      chunksInDoubt: chunksInDoubt.length,
      notAttempted: notAttempted.length,
      records: records.length,
    },
  };
}

/** The seam, as createHandler's: tests and the bench pass their deps; `config` is merged over the defaults. */
export function createChunkedHandler(
  deps: ChunkedDeps,
  config: Partial<ChunkedConfig> = {},
): DurableLambdaHandler {
  const settings = checkChunkedConfig({ ...defaultChunkedConfig, ...config });
  return withDurableExecution((event: unknown, context) => runChunkedBatch(event, context, deps, settings));
}

/** The deployed chunked handler: the same real deps as `handler`, and S3 reads (INVOICE_BUCKET the default). */
export const chunkedHandler = createChunkedHandler({ ...createRealDeps(), objects: createS3ObjectReader() });
