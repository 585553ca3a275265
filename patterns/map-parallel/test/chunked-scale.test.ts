import {
  ExecutionStatus,
  LocalDurableTestRunner,
  type DurableOperation,
} from "@aws/durable-execution-sdk-js-testing";
import { createHash } from "node:crypto";
import { createChunkedHandler, type ChunkedRunResult } from "../src/chunked";
import { manifestOf } from "../src/chunked-manifest";
import { sampleBatch, simulatedWorld } from "../src/demo";
import type { ObjectReader } from "../src/deps";
import { describeLocal, itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The chunked run at 100,000 invoices by reference, through the local runner, time skipped: what it checkpoints
// stays far under the 256 KB limits. Its own file (about 20 s on a shared two-core machine: the SDK scans its
// operations on every checkpoint), so jest runs it beside the others. Local only: it reads the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const named = (operations: DurableOperation[], pattern: RegExp) =>
  operations.filter((operation) => pattern.test(operation.getName() ?? ""));

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

function run(
  world: ReturnType<typeof simulatedWorld>,
  batch: ReturnType<typeof sampleBatch>,
  config: { chunkSize: number },
) {
  const { invoices, ...fields } = batch;
  const manifest = manifestOf(fields, invoices);
  const etag = `"${createHash("md5").update(manifest).digest("hex")}"`;
  const objects: ObjectReader = {
    read: async ({ key, range }) => {
      const body = key === "manifests/big.jsonl" ? manifest : world.documents.get(key)!;
      const part = range ? body.subarray(range.start, range.end + 1) : body;
      return { body: Uint8Array.from(part), etag, objectBytes: body.byteLength };
    },
  };
  const payload = { ...fields, manifest: { key: "manifests/big.jsonl" } };
  const runner = new LocalDurableTestRunner<ChunkedRunResult>({
    handlerFunction: createChunkedHandler(
      { ...world.deps, objects },
      { attemptBackoffMs: 0, deliveryAttempts: 1, ...config },
    ),
  });
  return { runner, payload, manifest, execution: runner.run({ payload }) };
}

describeLocal("a 100,000-invoice batch by reference", () => {
  itLocal(
    "every checkpoint stays far under 256 KB: the event, the manifest's pin, the chunk summaries, the map's result",
    async () => {
      const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 16 });
      const started = Date.now();
      const { runner, payload, manifest, execution } = run(world, sampleBatch(100_000), { chunkSize: 100 });
      const result = await execution;
      const elapsed = Date.now() - started;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      expect(result.getResult()).toMatchObject({ invoices: 100_000, sent: 100_000, outcome: "ALL_SENT" });
      expect(world.emails).toHaveLength(100_000);
      expect(new Set(world.emails.map((email) => email.idempotencyKey)).size).toBe(100_000);
      const operations = result.getOperations();
      expect(named(operations, /^send-chunk-\d+$/)).toHaveLength(1_000);
      expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThan(512);
      const largestStep = Math.max(
        ...named(operations, /^(read-manifest|send-chunk-\d+|check-message-ids)$/).map((step) =>
          Buffer.byteLength(JSON.stringify(step.getStepDetails()?.result)),
        ),
      );
      expect(largestStep).toBeLessThan(1024);
      // The map's own result: 1,000 summaries of about 100 bytes, under the 256 KB past which the SDK would
      // checkpoint a summary and replay every chunk to rebuild it.
      const mapResult = Buffer.byteLength(
        JSON.stringify(runner.getOperation("send-chunks").getContextDetails()?.result),
      );
      expect(mapResult).toBeLessThan(128 * 1024);
      expect(largestCheckpoint(operations)).toBe(mapResult);
      expect(operations.length).toBeLessThan(2_100);
      // The run's result: counts, and lists of at most 100 (here the first 100 of 1,000 record keys).
      const report = result.getResult()!;
      expect(report.counts.records).toBe(1_000);
      expect(report.records).toHaveLength(100);
      expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThan(16 * 1024);
      // The manifest itself: 100,001 lines of its widest invoice's width, never in a checkpoint.
      expect(manifest.byteLength).toBeGreaterThan(9_000_000);
      process.stdout.write(
        `100,000 by reference: ${operations.length} operations, manifest ${manifest.byteLength} B, map result ${mapResult} B, largest step ${largestStep} B, ${elapsed} ms\n`,
      );
    },
    120_000,
  );
});
