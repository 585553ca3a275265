import { NestingType } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  type DurableOperation,
} from "@aws/durable-execution-sdk-js-testing";
import {
  checkChunkedConfig,
  chunksOf,
  createChunkedHandler,
  defaultChunkedConfig,
  MAX_CHUNK_SIZE,
  MAX_CHUNK_SUMMARY_BYTES,
  REPORT_LIST_LIMIT,
  summariseChunk,
  type ChunkedConfig,
  type ChunkedRunResult,
  type ChunkSummary,
  type InvoiceRecord,
} from "../src/chunked";
import { createHash } from "node:crypto";
import { manifestOf } from "../src/chunked-manifest";
import { ObjectChangedError, ObjectNotFoundError, type ObjectReader } from "../src/deps";
import { ConfigurationError, createHandler, ProviderHttpError } from "../src";
import { sampleBatch, simulatedWorld } from "../src/demo";
import { crashAfter } from "./crash";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The chunked recipe (src/chunked.ts) through the local runner, time skipped. Every assertion is on the
// simulated provider's own records (emails sent once per idempotency key, delivery attempts) and on the
// operations the runner recorded, selected by name. Local only: the tests read the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** Quick settings: no pause between attempts inside a step; the 15-minute cool-down suspends the function. */
const quick: Partial<ChunkedConfig> = { attemptBackoffMs: 0, deliveryAttempts: 1 };

type World = ReturnType<typeof simulatedWorld>;

/**
 * The batch by reference: its manifest (src/chunked-manifest.ts) in an in-memory object store that keeps its
 * own books (every read, its range), beside the world's documents (where the chunk records go). ETags are the
 * content's digest, as S3's are for a simple upload; a range past the end is cut, as S3 does.
 */
function memoryObjects(world: World) {
  const manifests = new Map<string, Uint8Array>();
  const reads: Array<{ key: string; range?: { start: number; end: number } }> = [];
  const etagOf = (body: Uint8Array) => `"${createHash("md5").update(body).digest("hex")}"`;
  const objects: ObjectReader = {
    read: async ({ key, range, ifMatch }) => {
      reads.push({ key, ...(range ? { range } : {}) });
      const body = manifests.get(key) ?? world.documents.get(key);
      if (!body) throw new ObjectNotFoundError(`GetObject ${key}: NoSuchKey`);
      const etag = etagOf(body);
      if (ifMatch && ifMatch !== etag) throw new ObjectChangedError(`GetObject ${key}: PreconditionFailed`);
      const part = range ? body.subarray(range.start, range.end + 1) : body;
      return { body: Uint8Array.from(part), etag, objectBytes: body.byteLength };
    },
  };
  return { objects, manifests, reads };
}

/** The event for a batch whose invoices are staged as a manifest under `manifests/<batchId>.jsonl`. */
function byReference(store: ReturnType<typeof memoryObjects>, batch: ReturnType<typeof sampleBatch>) {
  const { invoices, ...fields } = batch;
  const key = `manifests/${batch.batchId}.jsonl`;
  store.manifests.set(key, manifestOf(fields, invoices));
  return { ...fields, manifest: { key } };
}

function run(world: World, batch: ReturnType<typeof sampleBatch>, config: Partial<ChunkedConfig>) {
  const store = memoryObjects(world);
  const payload = byReference(store, batch);
  const runner = new LocalDurableTestRunner<ChunkedRunResult>({
    handlerFunction: createChunkedHandler({ ...world.deps, objects: store.objects }, { ...quick, ...config }),
  });
  return { runner, store, payload, execution: runner.run({ payload }) };
}

/** Each invoice id emailed exactly once, by the provider's own record. */
function emailedOnce(world: World, ids: string[]) {
  const counts = new Map<string, number>();
  for (const email of world.emails) counts.set(email.invoiceId, (counts.get(email.invoiceId) ?? 0) + 1);
  expect(counts.size).toBe(ids.length);
  expect([...counts.values()].every((count) => count === 1)).toBe(true);
  expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
}

const named = (operations: DurableOperation[], pattern: RegExp) =>
  operations.filter((operation) => pattern.test(operation.getName() ?? ""));

const idsOf = (count: number) => Array.from({ length: count }, (_, i) => `INV-${1001 + i}`);

/** The largest thing the run checkpointed: every step's result and error, every context's result. */
function largestCheckpoint(operations: DurableOperation[]) {
  let largest = 0;
  for (const operation of operations) {
    const type = String(operation.getType());
    const details =
      type === "STEP"
        ? operation.getStepDetails()
        : type === "CONTEXT"
          ? operation.getContextDetails()
          : undefined;
    for (const value of [details?.result, details?.error]) {
      if (value !== undefined) largest = Math.max(largest, Buffer.byteLength(JSON.stringify(value)));
    }
  }
  return largest;
}

describeLocal("a 10,000-invoice batch in chunks of 100", () => {
  itLocal(
    "delivers every invoice exactly once, in 100 chunk steps, every checkpoint far under 256 KB",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const { runner, store, payload, execution } = run(world, sampleBatch(10_000), { chunkSize: 100 });
      const result = await execution;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report).toMatchObject({ invoices: 10_000, sent: 10_000, outcome: "ALL_SENT" });
      expect(report.failed).toEqual([]);
      expect(report.inDoubt).toEqual([]);
      expect(report.firstPass).toMatchObject({ chunks: 100, sent: 10_000, unsent: 0, failedChunks: 0 });
      expect(report.retryPass).toBeUndefined();
      // The provider's record: 10,000 emails, one per invoice, each at its amount, at most 5 sends at once.
      emailedOnce(world, idsOf(10_000));
      const amounts = new Map(sampleBatch(10_000).invoices.map((i) => [i.invoiceId, i.amountCents]));
      expect(world.emails.every((email) => email.amountCents === amounts.get(email.invoiceId))).toBe(true);
      expect(world.deliveries.every((delivery) => delivery.outcome === "accepted")).toBe(true);
      expect(world.maxInFlight()).toBeLessThanOrEqual(5);
      expect(report.sentTotal.amountCents).toBe([...amounts.values()].reduce((a, b) => a + b, 0));

      const operations = result.getOperations();
      const steps = named(operations, /^send-chunk-\d+$/);
      expect(steps).toHaveLength(100);
      expect(named(operations, /^chunk-\d+$/)).toHaveLength(100);
      // Each chunk's checkpoint is a summary (counts and a record key): a few hundred bytes, not 100 receipts.
      const sizes = steps.map((step) => JSON.stringify(step.getStepDetails()?.result).length);
      expect(Math.max(...sizes)).toBeLessThan(1024);
      // By reference: the event is a few hundred bytes (the invoices inline were 961 KB), and nothing the run
      // checkpointed is large: the largest is the map's own result (100 summaries).
      expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThan(512);
      const mapResult = JSON.stringify(runner.getOperation("send-chunks").getContextDetails()?.result);
      expect(mapResult.length).toBeLessThan(32 * 1024);
      expect(largestCheckpoint(operations)).toBe(mapResult.length);
      expect(
        JSON.stringify(runner.getOperation("read-manifest").getStepDetails()?.result).length,
      ).toBeLessThan(256);
      // Each chunk read its own lines once (one Range read of 100 records), the header one read of 1 KB.
      const width = store.manifests.get(payload.manifest.key)!.byteLength / 10_001;
      const ranged = store.reads.filter((read) => read.key === payload.manifest.key);
      expect(ranged).toHaveLength(101);
      expect(ranged.slice(1).every((read) => read.range!.end + 1 - read.range!.start === 100 * width)).toBe(
        true,
      );
      // The full record of each chunk is in the document store, referenced by key: 100 of them, 100 receipts each.
      expect(report.records).toHaveLength(100);
      const record = JSON.parse(
        Buffer.from(world.documents.get(report.records[0]!)!).toString(),
      ) as InvoiceRecord[];
      expect(record).toHaveLength(100);
      expect(record.every((r) => r.sent && r.messageId === `msg-${r.invoiceId}`)).toBe(true);
      // check-message-ids read every record back, and found no two invoices under one message id.
      expect(runner.getOperation("check-message-ids").getStepDetails()?.result).toEqual({
        groups: [],
        invoices: 0,
        cents: 0,
      });
    },
    120_000,
  );
});

describeLocal("failures inside a chunk", () => {
  itLocal(
    "retries only the invoices not sent, re-chunked, after the cool-down; never a sent one, never a refusal",
    async () => {
      // INV-1005 and INV-1077: the provider is down for them during the first pass (one 503 each);
      // INV-1010 is refused (422): not worth another pass.
      const world = simulatedWorld({
        deliveryLatencyMs: 0,
        documentBytes: 64,
        deliveryFailures: { "INV-1005": 1, "INV-1077": 1 },
        deliveryFaults: { "INV-1010": ["refused-422"] },
      });
      const { runner, execution } = run(world, sampleBatch(250), { chunkSize: 50 });
      const result = await execution;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report).toMatchObject({ sent: 249, outcome: "PARTIALLY_SENT" });
      expect(report.firstPass).toMatchObject({ chunks: 5, sent: 247, unsent: 3 });
      // The retry pass: the two not sent, in one chunk of two; the refusal is left out.
      expect(report.retryPass).toMatchObject({ chunks: 1, invoices: 2, sent: 2, unsent: 0 });
      expect(report.failed.map((f) => f.invoiceId)).toEqual(["INV-1010"]);
      expect(report.failed[0]!.error).toMatch(/^\[refused\]/);
      expect(report.inDoubt).toEqual([]);

      // The provider's record: INV-1005 and INV-1077 asked twice (503, then sent), INV-1010 once (refused),
      // every other invoice exactly once: the retry pass sent no invoice the first pass had sent.
      expect(world.attemptsFor("INV-1005")).toBe(2);
      expect(world.attemptsFor("INV-1077")).toBe(2);
      expect(world.attemptsFor("INV-1010")).toBe(1);
      const others = idsOf(250).filter((id) => !["INV-1005", "INV-1077", "INV-1010"].includes(id));
      expect(others.every((id) => world.attemptsFor(id) === 1)).toBe(true);
      emailedOnce(
        world,
        idsOf(250).filter((id) => id !== "INV-1010"),
      );

      const operations = result.getOperations();
      expect(named(operations, /^send-chunk-\d+$/)).toHaveLength(5);
      const retrySteps = named(operations, /^send-retry-chunk-\d+$/);
      expect(retrySteps).toHaveLength(1);
      // Its summary: nothing unsent, the two invoices' total, and the digest naming its record.
      const retried = retrySteps[0]!.getStepDetails()?.result as ChunkSummary;
      const amounts = new Map(sampleBatch(250).invoices.map((i) => [i.invoiceId, i.amountCents]));
      expect(retried).toMatchObject({
        unsent: [],
        sentCents: amounts.get("INV-1005")! + amounts.get("INV-1077")!,
      });
      expect(report.records).toContain(`chunk-records/2026-11-acme/retry-chunk-1/${retried.record}.json`);
      // The cool-down suspended the function: the retry pass ran in a later invocation, which replayed the
      // first pass from its checkpoints (no invoice of it was asked of the provider again, above).
      expect(runner.getOperation("cool-down-before-retry").getStatus()).toBe(OperationStatus.SUCCEEDED);
      expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    },
    60_000,
  );

  itLocal(
    "a report stays small: 300 refusals (not systemic, no halt) listed up to 100, counted in full",
    async () => {
      const faults = Object.fromEntries(idsOf(300).map((id) => [id, ["refused-422" as const]]));
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64, deliveryFaults: faults });
      const { execution } = run(world, sampleBatch(300), { chunkSize: 100 });
      const result = await execution;
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report).toMatchObject({ outcome: "PARTIALLY_SENT", sent: 0 });
      expect(report.firstPass).toMatchObject({ completionReason: "ALL_COMPLETED", failedChunks: 0 });
      expect(report.failed).toHaveLength(REPORT_LIST_LIMIT);
      expect(report.failed[0]).toMatchObject({ line: 1, invoiceId: "INV-1001" });
      expect(report.failed[0]!.error).toMatch(/^\[refused\].*422/);
      expect(report.counts).toMatchObject({ failed: 300, inDoubt: 0, records: 3 });
      // Refusals are not sent again: no retry pass; the provider was asked once per invoice.
      expect(report.retryPass).toBeUndefined();
      expect(world.deliveries).toHaveLength(300);
      expect(world.emails).toEqual([]);
      expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThan(40 * 1024);
    },
    60_000,
  );

  itLocal(
    "settles sends in doubt with the same key (one email each), and reports the one still in doubt apart",
    async () => {
      const world = simulatedWorld({
        deliveryLatencyMs: 0,
        documentBytes: 64,
        deliveryFaults: {
          // The provider emailed it, then the answer was lost: in doubt, settled by the retry pass's repeat.
          "INV-1003": ["timeout-after-send"],
          "INV-1042": ["error-500-after-send"],
          // Failed before sending, though the caller cannot tell: in doubt, sent by the retry pass.
          "INV-1060": ["error-500-before-send"],
          // Lost twice: still in doubt after both passes, though the provider did email it (once).
          "INV-1099": ["timeout-after-send", "timeout-after-send"],
        },
      });
      const { execution } = run(world, sampleBatch(100), { chunkSize: 25 });
      const result = await execution;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report.firstPass).toMatchObject({ sent: 96, unsent: 4 });
      expect(report.retryPass).toMatchObject({ invoices: 4, sent: 3, unsent: 1 });
      expect(report.sent).toBe(99);
      expect(report.inDoubt.map((d) => d.invoiceId)).toEqual(["INV-1099"]);
      expect(report.inDoubt[0]!.error).toMatch(/^\[in doubt\]/);
      expect(report.failed).toEqual([]);
      // Not in the sent total: only confirmed sends count.
      const amounts = new Map(sampleBatch(100).invoices.map((i) => [i.invoiceId, i.amountCents]));
      const total = [...amounts]
        .filter(([id]) => id !== "INV-1099")
        .reduce((sum, [, cents]) => sum + cents, 0);
      expect(report.sentTotal.amountCents).toBe(total);

      // The provider's record: one email per invoice, INV-1099 included; the repeats hit the same keys.
      emailedOnce(world, idsOf(100));
      const outcomes = (id: string) =>
        world.deliveries.filter((d) => d.invoiceId === id).map((d) => d.outcome);
      expect(outcomes("INV-1003")).toEqual(["sent-answer-lost", "repeated-key"]);
      expect(outcomes("INV-1042")).toEqual(["sent-answer-lost", "repeated-key"]);
      expect(outcomes("INV-1060")).toEqual(["failed-before-send", "accepted"]);
      expect(outcomes("INV-1099")).toEqual(["sent-answer-lost", "sent-answer-lost"]);
    },
    60_000,
  );
});

describeLocal("a manifest read that fails", () => {
  itLocal.each<[string, number, RegExp | undefined]>([
    ["S3 answers 503 twice, then the range: attempted again in the step, every invoice sent", 2, undefined],
    [
      "S3 answers 503 every time: the batch halts, the chunk not sent (never in doubt)",
      Infinity,
      /could not be read/,
    ],
  ])("%s", async (_, failures, halt) => {
    const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
    const store = memoryObjects(world);
    const payload = byReference(store, sampleBatch(50));
    let left = failures;
    const objects: ObjectReader = {
      read: async (request) => {
        // The header read (no ifMatch) goes through; chunk 1's range read meets the outage.
        if (request.ifMatch && request.key === payload.manifest.key && left > 0) {
          left -= 1;
          throw new ProviderHttpError(503, `S3 GetObject ${request.key} answered 503: SlowDown`);
        }
        return store.objects.read(request);
      },
    };
    const runner = new LocalDurableTestRunner<ChunkedRunResult>({
      handlerFunction: createChunkedHandler({ ...world.deps, objects }, { ...quick, chunkSize: 50 }),
    });
    const result = await runner.run({ payload });
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const report = result.getResult()!;
    if (!halt) {
      expect(report).toMatchObject({ outcome: "ALL_SENT", sent: 50 });
      emailedOnce(world, idsOf(50));
      return;
    }
    expect(report).toMatchObject({ outcome: "HALTED", sent: 0, inDoubt: [], chunksInDoubt: [] });
    expect(report.halted!.reason).toMatch(halt);
    expect(report.halted!.reason).toMatch(/No invoice of chunk-1 was sent/);
    expect(report.notAttempted).toMatchObject([{ chunk: "chunk-1", from: 1, to: 50, invoices: 50 }]);
    expect(world.renders).toEqual([]);
    expect(world.deliveries).toEqual([]);
  });
});

describeLocal("a sandbox dying between a chunk's sends and its checkpoint", () => {
  itLocal.each([NestingType.NESTED, NestingType.FLAT])(
    "%s: the next sandbox runs the chunk again with the same keys: no invoice emailed twice",
    async (nesting) => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      // One chunk at a time (crashAfter is for an operation that runs alone): chunk 2's SUCCEED is lost.
      const store = memoryObjects(world);
      const crash = crashAfter(
        createChunkedHandler(
          { ...world.deps, objects: store.objects },
          { ...quick, chunkSize: 50, maxConcurrency: 1, nesting },
        ),
        "send-chunk-2",
      );
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({ handlerFunction: crash.handler });
      const result = await runner.run({ payload: byReference(store, sampleBatch(150)) });

      expect(crash.crashes()).toBe(1);
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({ sent: 150, outcome: "ALL_SENT" });
      // Chunk 2's 50 invoices were asked twice, and the provider answered the second with the first receipt.
      const chunk2 = idsOf(150).slice(50, 100);
      expect(chunk2.every((id) => world.attemptsFor(id) === 2)).toBe(true);
      expect(world.deliveries.filter((d) => d.outcome === "repeated-key").map((d) => d.invoiceId)).toEqual(
        chunk2,
      );
      emailedOnce(world, idsOf(150));
    },
    60_000,
  );
});

describeLocal("operations", () => {
  itLocal(
    "the chunked map checkpoints at most a tenth of the per-item map's operations per invoice, same batch",
    async () => {
      const batch = sampleBatch(500);
      const perItemWorld = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const perItem = await new LocalDurableTestRunner({
        handlerFunction: createHandler(perItemWorld.deps, { nesting: NestingType.NESTED }),
      }).run({ payload: batch });
      const chunkedWorld = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const { execution } = run(chunkedWorld, batch, { chunkSize: 100 });
      const chunked = await execution;
      expect(perItem.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(chunked.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      emailedOnce(perItemWorld, idsOf(500));
      emailedOnce(chunkedWorld, idsOf(500));

      // The map's operations: the map itself and everything under it, selected by name.
      const perItemOps = named(
        perItem.getOperations(),
        /^(send-invoices|invoice-INV-\d+|render-INV-\d+|deliver-INV-\d+)$/,
      );
      const chunkedOps = named(chunked.getOperations(), /^(send-chunks|chunk-\d+|send-chunk-\d+)$/);
      expect(perItemOps).toHaveLength(1 + 3 * 500);
      expect(chunkedOps).toHaveLength(1 + 2 * 5);
      const perInvoice = { perItem: perItemOps.length / 500, chunked: chunkedOps.length / 500 };
      expect(perInvoice.chunked).toBeLessThanOrEqual(perInvoice.perItem / 10);
      // Everything else is the same in both (the enrichment, check-settings, the FX quote), but for the chunked
      // run's two steps of its own: read-manifest and check-message-ids.
      expect(named(chunked.getOperations(), /^(read-manifest|check-message-ids)$/)).toHaveLength(2);
      expect(perItem.getOperations().length - perItemOps.length + 2).toBe(
        chunked.getOperations().length - chunkedOps.length,
      );
    },
    120_000,
  );
});

describeLocal("bad input and bad settings, before any side effect", () => {
  const good = () => {
    const { invoices: _invoices, ...fields } = sampleBatch(2);
    return { ...fields, manifest: { key: "manifests/2026-11-acme.jsonl" } };
  };
  const bad: Array<[string, unknown, RegExp]> = [
    ["no manifest", { ...good(), manifest: undefined }, /manifest is required/],
    ["an empty key", { ...good(), manifest: { key: "" } }, /manifest\.key must not be empty/],
    [
      "a bad bucket",
      { ...good(), manifest: { bucket: "Not A Bucket", key: "m" } },
      /manifest\.bucket must be an S3 bucket name/,
    ],
    [
      "the invoices inline",
      { ...sampleBatch(2), manifest: { key: "m" } },
      /has unexpected fields: "invoices"/,
    ],
    [
      "a field not understood",
      { ...good(), discountPercent: 10 },
      /has unexpected fields: "discountPercent"/,
    ],
  ];
  itLocal.each(bad)(
    "%s: InvalidBatchError naming the field, zero operations, zero calls",
    async (_, payload, message) => {
      const world = simulatedWorld({ deliveryLatencyMs: 0 });
      const store = memoryObjects(world);
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler({ ...world.deps, objects: store.objects }, quick),
      });
      const result = await runner.run({ payload });
      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("InvalidBatchError");
      expect(result.getError().errorMessage).toMatch(message);
      expect(result.getOperations()).toHaveLength(0);
      expect(store.reads).toEqual([]);
      expect(world.lookups).toEqual([]);
      expect(world.deliveries).toEqual([]);
    },
  );

  const badManifests: Array<[string, (bytes: Uint8Array) => Uint8Array | undefined, RegExp]> = [
    ["missing", () => undefined, /GetObject manifests\/2026-11-acme\.jsonl: NoSuchKey/],
    [
      "truncated",
      (bytes) => bytes.subarray(0, bytes.byteLength - 10),
      /bytes, not the \d+ its header makes.*truncated/,
    ],
    [
      "for another batch",
      () =>
        manifestOf({ batchId: "2026-10-acme", customerId: "acme", currency: "GBP" }, sampleBatch(3).invoices),
      /is for another batch: its header says batchId "2026-10-acme", not "2026-11-acme"/,
    ],
    [
      "not a manifest",
      () => new TextEncoder().encode("invoiceId,amount\nINV-1,100\n"),
      /header line is not JSON/,
    ],
  ];
  itLocal.each(badManifests)(
    "a manifest %s: BatchNotStartedError naming it, in the first step, no lookup, nothing sent",
    async (_, change, message) => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const store = memoryObjects(world);
      const payload = byReference(store, sampleBatch(3));
      const changed = change(store.manifests.get(payload.manifest.key)!);
      if (changed) store.manifests.set(payload.manifest.key, changed);
      else store.manifests.delete(payload.manifest.key);
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler({ ...world.deps, objects: store.objects }, quick),
      });
      const result = await runner.run({ payload });
      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("BatchNotStartedError");
      expect(result.getError().errorMessage).toMatch(message);
      expect(result.getOperations().map((operation) => operation.getName())).toEqual(["read-manifest"]);
      expect(world.lookups).toEqual([]);
      expect(world.deliveries).toEqual([]);
    },
  );

  itLocal(
    "malformed invoices in the manifest are reported by line, invoice and field, never sent; the others go out",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const store = memoryObjects(world);
      const batch = sampleBatch(60);
      const invoices: unknown[] = [...batch.invoices];
      invoices[4] = { ...batch.invoices[4]!, amountCents: -1 };
      invoices[30] = { invoiceId: "X", issueDate: "2026-11-30" };
      invoices[41] = { ...batch.invoices[2]! }; // INV-1003 again, in another chunk
      invoices[7] = { ...batch.invoices[6]! }; // INV-1007 twice in one chunk
      const { invoices: _i, ...fields } = batch;
      store.manifests.set("manifests/m.jsonl", manifestOf(fields, invoices));
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler(
          { ...world.deps, objects: store.objects },
          { ...quick, chunkSize: 25 },
        ),
      });
      const result = await runner.run({ payload: { ...fields, manifest: { key: "manifests/m.jsonl" } } });
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report.failed.map(({ line, invoiceId }) => ({ line, invoiceId }))).toEqual([
        { line: 5, invoiceId: "INV-1005" },
        { line: 8, invoiceId: "INV-1007" },
        { line: 31 },
      ]);
      expect(report.failed[0]!.error).toMatch(
        /^\[refused\] malformed in the manifest, not sent: line 5 \(INV-1005\): amountCents must be positive/,
      );
      expect(report.failed[1]!.error).toMatch(/line 8 \(INV-1007\): invoiceId appears twice \(line 7 too\)/);
      expect(report.failed[2]!.error).toMatch(
        /line 31: invoiceId must look like INV-1042; amountCents is required/,
      );
      // INV-1003 on lines 3 and 42 (two chunks): one key, one email, and the provider's one message id for both:
      // the message-id check calls both in doubt, as the per-item report does.
      expect(report.inDoubt.map(({ line, invoiceId }) => ({ line, invoiceId }))).toEqual([
        { line: 3, invoiceId: "INV-1003" },
        { line: 42, invoiceId: "INV-1003" },
      ]);
      expect(report.inDoubt[0]!.error).toMatch(
        /^\[in doubt\] the provider answered INV-1003, INV-1003 with the same message id "msg-INV-1003"/,
      );
      expect(report.sent).toBe(60 - 3 - 2);
      // The provider's record: never asked for a malformed line; the retry pass sent nothing again.
      expect(world.deliveries.map((d) => d.invoiceId)).not.toContain("INV-1005");
      expect(world.attemptsFor("INV-1007")).toBe(1);
      expect(world.emails.filter((e) => e.invoiceId === "INV-1003")).toHaveLength(1);
      expect(report.retryPass).toBeUndefined();
    },
  );

  itLocal(
    "a setting the sends need that cannot be used: BatchNotStartedError naming it, nothing rendered or sent",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const deps = {
        ...world.deps,
        checkSettings: async () => {
          throw new ConfigurationError("INVOICING_API_URL is not set");
        },
      };
      const store = memoryObjects(world);
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler({ ...deps, objects: store.objects }, quick),
      });
      const result = await runner.run({ payload: byReference(store, sampleBatch(1_000)) });
      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("BatchNotStartedError");
      expect(result.getError().errorMessage).toMatch(/INVOICING_API_URL is not set/);
      expect(world.renders).toEqual([]);
      expect(world.deliveries).toEqual([]);
      expect(named(result.getOperations(), /^send-chunk/)).toEqual([]);
    },
  );

  it.each<[Partial<ChunkedConfig>, RegExp]>([
    [{ chunkSize: 0 }, /chunkSize must be a whole number from 1 to 250, not 0/],
    [{ chunkSize: 251 }, /chunkSize must be a whole number from 1 to 250, not 251/],
    [{ chunkSize: 2.5 }, /chunkSize must be a whole number/],
    [{ maxConcurrency: 6 }, /maxConcurrency must be a whole number from 1 to 5, not 6/],
    [{ deliveryAttempts: 0 }, /deliveryAttempts must be a whole number from 1 to 10/],
    [{ nesting: "DEEP" as NestingType }, /nesting must be NESTED or FLAT, not "DEEP"/],
  ])("a setting that cannot work fails when the handler is made: %o", (config, message) => {
    const world = simulatedWorld();
    const store = memoryObjects(world);
    expect(() => createChunkedHandler({ ...world.deps, objects: store.objects }, config)).toThrow(message);
    expect(store.reads).toEqual([]);
    expect(world.lookups).toEqual([]);
  });

  it("accepts the defaults", () => {
    expect(checkChunkedConfig(defaultChunkedConfig)).toBe(defaultChunkedConfig);
  });
});

describe("a chunk's checkpoint", () => {
  it("stays under its bound with MAX_CHUNK_SIZE invoices that all failed with long, non-ASCII errors", () => {
    const huge = `[in doubt] ${'é\u0000"\\ '.repeat(2_000)}`;
    const records: InvoiceRecord[] = idsOf(MAX_CHUNK_SIZE).map((id, index) => ({
      line: 99_751 + index,
      invoiceId: id.replace(/^INV-/, "INV-99999999"),
      sent: false,
      outcome: "in-doubt",
      again: true,
      error: huge,
    }));
    const summary = summariseChunk(records, "0123456789abcdef");
    expect(summary.unsent).toHaveLength(MAX_CHUNK_SIZE);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(MAX_CHUNK_SUMMARY_BYTES);
    // The verdict marker survives the cut: the retry pass and the report read it back.
    expect(summary.unsent.every((entry) => entry.error.startsWith("[in doubt]"))).toBe(true);
  });

  it("chunks are consecutive slices, the last one shorter", () => {
    expect(chunksOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunksOf(idsOf(10_000), 100)).toHaveLength(100);
  });
});
