import {
  withDurableExecution,
  type DurableContext,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";

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

/** The chunked shape: one child context per chunk of `chunkSize`, one step in it returning a summary. */
export function bareChunkedHandler(chunkSize: number): DurableLambdaHandler {
  return withDurableExecution(async (event: BareBatch, context: DurableContext) => {
    await enrich(context);
    const chunks: BareInvoice[][] = [];
    for (let start = 0; start < event.invoices.length; start += chunkSize) {
      chunks.push(event.invoices.slice(start, start + chunkSize));
    }
    const sent = await context.map(
      "send-chunks",
      chunks,
      (item, chunk, index) =>
        item.step(`send-chunk-${index + 1}`, async () => ({
          invoices: chunk.length,
          sent: chunk.length,
          sentCents: chunk.reduce((sum, invoice) => sum + invoice.amountCents, 0),
          unsent: [],
          recordKey: `chunk-records/${event.batchId}/chunk-${index + 1}/0123456789abcdef.json`,
        })),
      {
        maxConcurrency: 5,
        itemNamer: (_chunk, index) => `chunk-${index + 1}`,
        completionConfig: { toleratedFailurePercentage: 100 },
      },
    );
    await quote(context);
    return { chunks: sent.successCount };
  });
}
