import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createChunkedHandler, type ChunkedRunResult } from "../../../patterns/map-parallel/src/chunked";
import { sampleBatch, simulatedWorld } from "../../../patterns/map-parallel/src/demo";
import { bareChunkedHandler } from "../src/bare";
import { memoryObjects, stageByReference } from "../src/objects";

// The bench's batch by reference: the in-memory object store it stages each chunked run's manifest in, and the
// two chunked handlers (the pattern's, the bare one) reading their invoices from it. The store keeps its own
// books (reads answered, bytes served); the simulated provider keeps its own (emails, once per key).

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

describe("the in-memory object store", () => {
  it("reads a range by byte offsets (both ends included, cut at the end), with the whole object's size", async () => {
    const store = memoryObjects();
    const event = stageByReference(store, sampleBatch(3));
    expect(event).toEqual({
      batchId: "2026-11-acme",
      customerId: "acme",
      vatNumber: "GB123456789",
      currency: "GBP",
      manifest: { key: "manifests/2026-11-acme.manifest" },
    });
    const whole = store.manifests.get(event.manifest.key)!;
    const header = JSON.parse(Buffer.from(whole).toString("latin1").split("\n")[0]!) as {
      invoices: number;
      recordBytes: number;
    };
    expect(header).toMatchObject({ invoices: 3 });
    expect(whole.byteLength).toBe(4 * header.recordBytes);

    const w = header.recordBytes;
    const second = await store.objects.read({
      key: event.manifest.key,
      range: { start: 2 * w, end: 3 * w - 1 },
    });
    expect(second.objectBytes).toBe(whole.byteLength);
    expect(second.body.byteLength).toBe(w);
    expect(JSON.parse(Buffer.from(second.body).toString("latin1"))).toMatchObject({ invoiceId: "INV-1002" });
    const past = await store.objects.read({ key: event.manifest.key, range: { start: 3 * w, end: 10 * w } });
    expect(past.body.byteLength).toBe(w);
    expect(store.books()).toEqual({ reads: 2, bytesRead: 2 * w });
  });

  it("pins by ETag: a read If-Match an old ETag is refused once the object changed; a missing key is not found", async () => {
    const store = memoryObjects();
    const event = stageByReference(store, sampleBatch(3));
    const { etag } = await store.objects.read({ key: event.manifest.key, range: { start: 0, end: 1023 } });
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    await expect(store.objects.read({ key: event.manifest.key, ifMatch: etag })).resolves.toMatchObject({
      etag,
    });
    stageByReference(store, sampleBatch(4));
    await expect(store.objects.read({ key: event.manifest.key, ifMatch: etag })).rejects.toMatchObject({
      name: "ObjectChangedError",
    });
    await expect(store.objects.read({ key: "manifests/none" })).rejects.toMatchObject({
      name: "ObjectNotFoundError",
    });
  });
});

describe("the chunked handlers by reference", () => {
  it("the pattern's sends every invoice of the manifest once and reads its chunk records back", async () => {
    const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 1024 });
    const store = memoryObjects(world.documents);
    const payload = stageByReference(store, sampleBatch(250));
    const runner = new LocalDurableTestRunner<ChunkedRunResult>({
      handlerFunction: createChunkedHandler(
        { ...world.deps, objects: store.objects },
        { chunkSize: 100, attemptBackoffMs: 0 },
      ),
    });
    const execution = await runner.run({ payload });
    expect(execution.getStatus()).toBe("SUCCEEDED");
    const result = execution.getResult()!;
    expect(result).toMatchObject({ outcome: "ALL_SENT", sent: 250, invoices: 250 });
    expect(result.unchecked).toBeUndefined();
    expect(world.emails).toHaveLength(250);
    expect(new Set(world.accepted()).size).toBe(250);
    // The event stays small whatever the batch: no invoice in it.
    expect(JSON.stringify(payload).length).toBeLessThan(200);
    // read-manifest's header, one range per chunk (3), and the 3 chunk records read back.
    expect(store.books().reads).toBe(7);
  });

  it("the bare one reads the header and one range per chunk, and totals the lines it read", async () => {
    const store = memoryObjects();
    const batch = sampleBatch(250);
    const payload = stageByReference(store, batch);
    const runner = new LocalDurableTestRunner<{ chunks: number }>({
      handlerFunction: bareChunkedHandler(100, store.objects),
    });
    const execution = await runner.run({ payload });
    expect(execution.getStatus()).toBe("SUCCEEDED");
    expect(execution.getResult()).toEqual({ chunks: 3 });
    const chunkSteps = execution
      .getOperations()
      .filter((op) => /^send-chunk-\d+$/.test(op.getOperationData()?.Name ?? ""));
    const cents = chunkSteps.reduce(
      (sum, op) => sum + ((op.getStepDetails()?.result as { sentCents: number } | undefined)?.sentCents ?? 0),
      0,
    );
    expect(cents).toBe(batch.invoices.reduce((sum, invoice) => sum + invoice.amountCents, 0));
    expect(store.books().reads).toBe(4);
  });
});
