import { PutObjectCommand } from "@aws-sdk/client-s3";
import { NestingType } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  type DurableOperation,
} from "@aws/durable-execution-sdk-js-testing";
import { createChunkedHandler, type ChunkedRunResult } from "../src/chunked";
import { manifestOf } from "../src/chunked-manifest";
import { sampleBatch, simulatedWorld } from "../src/demo";
import { createRealDeps, createS3ObjectReader, type ObjectReader, type RealDepsConfig } from "../src/deps";
import { startLocalS3, type LocalS3 } from "./local-s3";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The chunked run by reference against a real local S3 (s3rver on 127.0.0.1, test/local-s3.ts) through the real
// S3Client: the manifest is read there (its header, then each chunk's Range), the chunk records are stored and
// read back there. A systemic failure stops the batch; a later run sends nothing twice. Assertions are on the
// simulated provider's own records and on S3's objects. Local only: the tests read the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const config = (): RealDepsConfig => ({
  documentBucket: "invoices-bucket",
  crmUrl: "",
  ledgerUrl: "",
  taxRegistryUrl: "",
  invoicingUrl: "",
  fxUrls: {},
});
const quick = { attemptBackoffMs: 0, deliveryAttempts: 1 };
const idsOf = (from: number, count: number) => Array.from({ length: count }, (_, i) => `INV-${from + i}`);
const named = (operations: DurableOperation[], pattern: RegExp) =>
  operations.filter((operation) => pattern.test(operation.getName() ?? ""));

describeLocal("by reference, against a real local S3", () => {
  let s3: LocalS3;
  beforeAll(async () => (s3 = await startLocalS3(["invoices-bucket", "batches-bucket"])));
  afterAll(() => s3.close());

  /** The world with S3 for the documents, the records and the manifest; the provider simulated. */
  function depsOver(
    world: ReturnType<typeof simulatedWorld>,
    objects: ObjectReader = createS3ObjectReader(config, s3.client),
  ) {
    const real = createRealDeps(config, s3.client);
    return { ...world.deps, documents: real.documents, objects };
  }

  async function stage(batch: ReturnType<typeof sampleBatch>, bucket: string, key: string) {
    const { invoices, ...fields } = batch;
    await s3
      .client()
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: manifestOf(fields, invoices) }));
    return { ...fields, manifest: { bucket, key } };
  }

  itLocal(
    "reads the manifest from its bucket, each chunk its own range, and sends every invoice once",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const payload = await stage(sampleBatch(300), "batches-bucket", "2026-11/acme.jsonl");
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler(depsOver(world), { ...quick, chunkSize: 100 }),
      });
      const result = await runner.run({ payload });
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report).toMatchObject({
        invoices: 300,
        sent: 300,
        outcome: "ALL_SENT",
        inDoubt: [],
        failed: [],
      });
      // Pinned by S3's own ETag of the object.
      expect(report.manifest).toMatchObject({ bucket: "batches-bucket", key: "2026-11/acme.jsonl" });
      expect(report.manifest.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(world.emails.map((email) => email.invoiceId).sort()).toEqual(idsOf(1001, 300));
      // The chunk records are in the document bucket, and check-message-ids read them back from there.
      expect((await s3.keys("invoices-bucket")).filter((key) => key.startsWith("chunk-records/"))).toEqual(
        [...report.records].sort(),
      );
      expect(runner.getOperation("check-message-ids").getStepDetails()?.result).toEqual({
        groups: [],
        invoices: 0,
        cents: 0,
      });
    },
  );

  itLocal(
    "a chunk record gone before check-message-ids: the run says which were unchecked, it does not fail",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const payload = await stage(sampleBatch(200), "batches-bucket", "2026-11/unread.jsonl");
      const s3Reader = createS3ObjectReader(config, s3.client);
      // The records are read back by key alone (no range): chunk 2's is missing, as if deleted.
      const objects: ObjectReader = {
        read: async (request) =>
          request.range === undefined && /\/chunk-2\//.test(request.key)
            ? s3Reader.read({ ...request, key: `${request.key}.gone` })
            : s3Reader.read(request),
      };
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler(depsOver(world, objects), { ...quick, chunkSize: 100 }),
      });
      const result = await runner.run({ payload });
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report).toMatchObject({ outcome: "ALL_SENT", sent: 200 });
      expect(report.unchecked).toMatchObject({ records: 1 });
      expect(report.unchecked!.first).toMatch(
        /chunk-2\/[0-9a-f]{16}\.json\.gone from invoices-bucket: NoSuchKey/,
      );
      expect(world.emails).toHaveLength(200);
    },
  );

  itLocal(
    "a manifest changed under the running batch fails the chunk as not sent, naming it, and stops the batch",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64 });
      const payload = await stage(sampleBatch(200), "batches-bucket", "2026-11/changed.jsonl");
      const s3Reader = createS3ObjectReader(config, s3.client);
      let reads = 0;
      // Someone rewrites the manifest (other amounts) after the header was read and pinned, before chunk 1 reads.
      const objects: ObjectReader = {
        read: async (request) => {
          reads += 1;
          if (reads === 2) {
            const other = sampleBatch(200);
            other.invoices[0]!.amountCents += 1;
            await stage(other, "batches-bucket", "2026-11/changed.jsonl");
          }
          return s3Reader.read(request);
        },
      };
      const runner = new LocalDurableTestRunner<ChunkedRunResult>({
        handlerFunction: createChunkedHandler(depsOver(world, objects), {
          ...quick,
          chunkSize: 100,
          maxConcurrency: 1,
        }),
      });
      const result = await runner.run({ payload });
      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const report = result.getResult()!;
      expect(report.outcome).toBe("HALTED");
      expect(report.sent).toBe(0);
      expect(report.halted).toMatchObject({ chunk: "chunk-1" });
      expect(report.halted!.reason).toMatch(
        /the manifest changed under the running batch \(pinned ETag "[0-9a-f]{32}"\).*served ETag/,
      );
      expect(report.halted!.reason).toMatch(/No invoice of chunk-1 was sent/);
      expect(report.notAttempted.map(({ chunk, from, to }) => ({ chunk, from, to }))).toEqual([
        { chunk: "chunk-1", from: 1, to: 100 },
        { chunk: "chunk-2", from: 101, to: 200 },
      ]);
      expect(report.chunksInDoubt).toEqual([]);
      // Nothing rendered, nothing asked of the provider, no retry pass.
      expect(world.renders).toEqual([]);
      expect(world.deliveries).toEqual([]);
      expect(report.retryPass).toBeUndefined();
      expect(named(result.getOperations(), /^send-chunk-\d+$/)).toHaveLength(1);
    },
  );
});

describeLocal("a systemic failure stops the batch", () => {
  itLocal.each([NestingType.NESTED, NestingType.FLAT])(
    "%s: an outage from INV-1301: chunk 4 stops after 5 sends in a row, the batch halts; a later run sends nothing twice",
    async (nesting) => {
      // The provider is down for INV-1301 to INV-1305 (one 503 each: deliveryAttempts 1), then back.
      const outage = Object.fromEntries(idsOf(1301, 5).map((id) => [id, 1]));
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 64, deliveryFailures: outage });
      const manifests = new Map<string, Uint8Array>();
      const { invoices, ...fields } = sampleBatch(1_000);
      manifests.set("m.jsonl", manifestOf(fields, invoices));
      const objects: ObjectReader = {
        read: async ({ key, range }) => {
          const body = manifests.get(key) ?? world.documents.get(key)!;
          const part = range ? body.subarray(range.start, range.end + 1) : body;
          return { body: Uint8Array.from(part), etag: '"v1"', objectBytes: body.byteLength };
        },
      };
      const handler = createChunkedHandler(
        { ...world.deps, objects },
        { ...quick, chunkSize: 100, maxConcurrency: 1, nesting },
      );
      const payload = { ...fields, manifest: { key: "m.jsonl" } };
      const first = await new LocalDurableTestRunner<ChunkedRunResult>({ handlerFunction: handler }).run({
        payload,
      });

      expect(first.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const halted = first.getResult()!;
      expect(halted.outcome).toBe("HALTED");
      expect(halted.halted!.chunk).toBe("chunk-4");
      expect(halted.halted!.reason).toMatch(
        /5 sends in a row failed for a reason the next would meet too, the last: \[not sent\].*503/,
      );
      // Chunks 1-3 sent; chunk 4's 5 failures and its 95 not attempted are reported as not sent; chunks 5-10
      // never started. The map's tolerance stopped the pass: no cool-down, no retry pass.
      expect(halted.sent).toBe(300);
      expect(halted.firstPass).toMatchObject({
        chunks: 10,
        failedChunks: 1,
        notStartedChunks: 6,
        completionReason: "FAILURE_TOLERANCE_EXCEEDED",
      });
      expect(halted.failed).toHaveLength(100);
      expect(halted.failed.map((f) => f.line)).toEqual(Array.from({ length: 100 }, (_, i) => 301 + i));
      expect(halted.failed[0]!.error).toMatch(/^\[not sent\] its chunk stopped the batch/);
      expect(halted.inDoubt).toEqual([]);
      expect(halted.notAttempted.map(({ chunk }) => chunk)).toEqual(
        idsOf(5, 6).map((id) => id.replace("INV-", "chunk-")),
      );
      expect(halted.retryPass).toBeUndefined();
      expect(named(first.getOperations(), /^cool-down/)).toEqual([]);
      // The provider's record: 300 emails; INV-1301..1305 asked once each (503); nothing after INV-1305 asked.
      expect(world.emails.map((e) => e.invoiceId)).toEqual(idsOf(1001, 300));
      expect(world.deliveries.filter((d) => d.outcome === "unavailable").map((d) => d.invoiceId)).toEqual(
        idsOf(1301, 5),
      );
      expect(world.deliveries).toHaveLength(305);
      // The halted chunk's record was stored before it threw: 5 failures and 95 not attempted, in full.
      const stepError = first
        .getOperations()
        .find((o) => o.getName() === "send-chunk-4")!
        .getStepDetails()?.error;
      expect(JSON.stringify(stepError)).toMatch(/ChunkHaltedError|\[halt\]/);
      expect(halted.records).toHaveLength(4);

      // The outage is over: the same event again, a new execution. Every invoice is asked once more under its
      // key; the 300 already sent get their first receipt back (repeated-key), none is emailed twice.
      const again = await new LocalDurableTestRunner<ChunkedRunResult>({ handlerFunction: handler }).run({
        payload,
      });
      expect(again.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(again.getResult()).toMatchObject({ outcome: "ALL_SENT", sent: 1_000 });
      const counts = new Map<string, number>();
      for (const email of world.emails) counts.set(email.invoiceId, (counts.get(email.invoiceId) ?? 0) + 1);
      expect(counts.size).toBe(1_000);
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
      expect(world.deliveries.filter((d) => d.outcome === "repeated-key").map((d) => d.invoiceId)).toEqual(
        idsOf(1001, 300),
      );
    },
    60_000,
  );
});
