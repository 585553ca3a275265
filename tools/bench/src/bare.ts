import {
  withDurableExecution,
  type DurableContext,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import type { ObjectReader } from "../../../patterns/map-parallel/src/deps";

/**
 * Bare-SDK handlers of the same shape as map-parallel's per-item and chunked runs: plain `context.parallel`,
 * `context.map` and `context.step`, no pattern code (no validation, no classification, no simulated world).
 * The bench runs each beside the pattern's handler, in the same process and environment, and prints the ratio
 * pattern/bare: what the pattern's own code costs. Steps return results of the pattern's sizes, and the
 * lookups and quotes take the simulated world's latencies (5 ms; 10, 30 and 400 ms), so that the two differ
 * only by the code around the durable operations.
 */
interface BareInvoice {
  invoiceId: string;
  amountCents: number;
}
interface BareReferenceBatch {
  batchId: string;
  manifest: { key: string };
}
interface BareBatch {
  batchId: string;
  invoices: BareInvoice[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function enrich(context: DurableContext) {
  const lookup = (name: string) => (branch: DurableContext) =>
    branch.step(name, async () => {
      await sleep(5);
      return { source: name, ok: true };
    });
  const sources = await context.parallel("enrich-customer", [
    { name: "crm", func: lookup("load-crm-record") },
    { name: "ledger", func: lookup("load-ledger-account") },
    { name: "tax-registry", func: lookup("check-vat-number") },
  ]);
  sources.throwIfError();
  // The pattern's check-settings: one step before the map.
  await context.step("check-settings", async () => undefined);
}

async function quote(context: DurableContext) {
  const provider = (name: string, latencyMs: number) => ({
    name: `fx-${name}`,
    func: (branch: DurableContext) =>
      branch.step(`rate-from-${name}`, async () => {
        await sleep(latencyMs);
        return { provider: name, rate: 1.15 };
      }),
  });
  await context.parallel(
    "quote-fx-rate",
    [provider("atlas", 10), provider("beacon", 30), provider("cedar", 400)],
    {
      completionConfig: { minSuccessful: 2 },
    },
  );
}

/** The per-item shape: one child context per invoice, a render step and a deliver step in it. */
export const barePerItemHandler: DurableLambdaHandler = withDurableExecution(
  async (event: BareBatch, context: DurableContext) => {
    await enrich(context);
    const sent = await context.map(
      "send-invoices",
      event.invoices,
      async (item, invoice) => {
        const document = await item.step(`render-${invoice.invoiceId}`, async () => ({
          documentKey: `invoices/${event.batchId}/${invoice.invoiceId}/0123456789abcdef`,
          bytes: 1024,
        }));
        const { messageId } = await item.step(`deliver-${invoice.invoiceId}`, async () => ({
          messageId: `msg-${invoice.invoiceId}`,
        }));
        return { invoiceId: invoice.invoiceId, documentKey: document.documentKey, messageId };
      },
      {
        maxConcurrency: 5,
        itemNamer: (invoice) => `invoice-${invoice.invoiceId}`,
        completionConfig: { toleratedFailurePercentage: 10 },
      },
    );
    await quote(context);
    return { sent: sent.successCount };
  },
);

/**
 * The chunked shape: the batch by reference, as the pattern's: one step reads the manifest's header line and pins
 * its ETag, then one child context per chunk of `chunkSize`, one step in it that reads its lines (one range read,
 * If-Match the pinned ETag) and returns a summary. The same reads as the pattern's, none of its checks.
 */
export function bareChunkedHandler(chunkSize: number, objects: ObjectReader): DurableLambdaHandler {
  return withDurableExecution(async (event: BareReferenceBatch, context: DurableContext) => {
    const { key } = event.manifest;
    const manifest = await context.step("read-manifest", async () => {
      const first = await objects.read({ key, range: { start: 0, end: 1023 } });
      const end = first.body.indexOf(0x0a);
      const header = JSON.parse(Buffer.from(first.body.subarray(0, end)).toString("latin1")) as {
        invoices: number;
        recordBytes: number;
      };
      return { etag: first.etag, invoices: header.invoices, recordBytes: header.recordBytes };
    });
    await enrich(context);
    const chunks: Array<{ first: number; count: number }> = [];
    for (let start = 0; start < manifest.invoices; start += chunkSize) {
      chunks.push({ first: start, count: Math.min(chunkSize, manifest.invoices - start) });
    }
    const width = manifest.recordBytes;
    const sent = await context.map(
      "send-chunks",
      chunks,
      (item, chunk, index) =>
        item.step(`send-chunk-${index + 1}`, async () => {
          const { body } = await objects.read({
            key,
            range: { start: (chunk.first + 1) * width, end: (chunk.first + chunk.count + 1) * width - 1 },
            ifMatch: manifest.etag,
          });
          let sentCents = 0;
          for (let line = 0; line < chunk.count; line += 1) {
            const text = Buffer.from(body.subarray(line * width, (line + 1) * width - 1)).toString("latin1");
            sentCents += (JSON.parse(text) as BareInvoice).amountCents;
          }
          return {
            sentCents,
            unsent: [],
            record: "0123456789abcdef",
          };
        }),
      {
        maxConcurrency: 5,
        itemNamer: (_chunk, index) => `chunk-${index + 1}`,
        completionConfig: { toleratedFailurePercentage: 100 },
      },
    );
    // The pattern's check-message-ids: one step after the map (the pattern reads the chunk records back in it).
    await context.step("check-message-ids", async () => ({ groups: [] }));
    await quote(context);
    return { chunks: sent.successCount };
  });
}
