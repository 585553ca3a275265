import { createHandler } from "./index";
import {
  ClientError,
  PROVIDER_CONCURRENCY_LIMIT,
  TransientServiceError,
  type BillingDeps,
  type FxProvider,
} from "./deps";
import type { Invoice, InvoiceBatch } from "./input";
import type { WorkflowConfig } from "./workflow";

/**
 * The simulated outside world, for `pnpm demo map-parallel`, the tests and a benchmark: in-memory services
 * that record every call, fail on request, and take a little time, so concurrency shows.
 */
export interface WorldOptions {
  /** Deliveries that fail with a 503 before the provider accepts, per invoice id (Infinity: never accepts). */
  deliveryFailures?: Record<string, number>;
  /** How long one delivery takes, in ms (default 20), for all invoices or per invoice id. */
  deliveryLatencyMs?: number | ((invoiceId: string) => number);
  /** The provider's concurrency limit: a request beyond it is refused with a 429 (default PROVIDER_CONCURRENCY_LIMIT). */
  providerLimit?: number;
  /** Size of each rendered document, in bytes (default 300 KB: more than a checkpoint can hold). */
  documentBytes?: number;
  /** Enrichment sources and exchange-rate providers that fail every call. */
  down?: Array<"crm" | "ledger" | "tax-registry" | FxName>;
  /** How long each exchange-rate provider takes to answer, in ms (default: atlas 10, beacon 30, cedar 400). */
  fxLatencyMs?: Partial<Record<FxName, number>>;
  /** GBP to EUR rate each provider quotes (default: atlas 1.14, beacon 1.16, cedar 1.5). */
  fxRates?: Partial<Record<FxName, number>>;
  /** Overdue invoices the ledger reports (default 0: 30-day terms). */
  overdueInvoices?: number;
}

type FxName = "atlas" | "beacon" | "cedar";

export interface Delivery {
  invoiceId: string;
  idempotencyKey: string;
  outcome: "accepted" | "unavailable" | "throttled";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function simulatedWorld(options: WorldOptions = {}) {
  const down = new Set(options.down ?? []);
  const failuresLeft = new Map(Object.entries(options.deliveryFailures ?? {}));
  const providerLimit = options.providerLimit ?? PROVIDER_CONCURRENCY_LIMIT;
  const documentBytes = options.documentBytes ?? 300 * 1024;

  const lookups: string[] = [];
  const renders: string[] = [];
  const documents = new Map<string, Uint8Array>();
  const deliveries: Delivery[] = [];
  const accepted = new Map<string, string>(); // idempotency key -> message id
  let inFlight = 0;
  let maxInFlight = 0;

  const lookup = async <T>(source: string, answer: () => T, latencyMs = 5): Promise<T> => {
    lookups.push(source);
    await sleep(latencyMs);
    if (down.has(source as never)) throw new TransientServiceError(`${source} is unavailable (503)`, 503);
    return answer();
  };

  const fx = (name: FxName, defaultLatency: number, defaultRate: number): FxProvider => ({
    name,
    getRate: () =>
      lookup(
        name,
        () => ({ rate: options.fxRates?.[name] ?? defaultRate }),
        options.fxLatencyMs?.[name] ?? defaultLatency,
      ),
  });

  const deps: BillingDeps = {
    crm: {
      getCustomer: (customerId) =>
        lookup("crm", () => ({
          source: "crm",
          legalName: `Customer ${customerId} Ltd`,
          billingEmail: `billing@${customerId}.example.com`,
          country: "GB",
        })),
    },
    ledger: {
      getAccount: () =>
        lookup("ledger", () => ({
          source: "ledger",
          balanceCents: 125_000,
          overdueInvoices: options.overdueInvoices ?? 0,
        })),
    },
    taxRegistry: {
      checkVatNumber: (vatNumber) =>
        lookup("tax-registry", () => ({ source: "tax-registry", vatNumber, valid: true })),
    },
    fxProviders: [fx("atlas", 10, 1.14), fx("beacon", 30, 1.16), fx("cedar", 400, 1.5)],
    renderer: {
      render: async (invoice) => {
        renders.push(invoice.invoiceId);
        // A PDF with embedded fonts and a logo: large, like the real thing.
        const body = new Uint8Array(documentBytes).fill(0x25);
        return { body, contentType: "application/pdf" };
      },
    },
    documents: {
      put: async ({ key, body }) => {
        documents.set(key, body);
      },
    },
    sender: {
      send: async ({ invoiceId, idempotencyKey, to }) => {
        if (!to.includes("@")) throw new ClientError(`bad recipient ${to}`, 422);
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (inFlight > providerLimit) {
            deliveries.push({ invoiceId, idempotencyKey, outcome: "throttled" });
            throw new TransientServiceError(
              `too many concurrent requests (429): limit ${providerLimit}`,
              429,
            );
          }
          const latency = options.deliveryLatencyMs ?? 20;
          await sleep(typeof latency === "number" ? latency : latency(invoiceId));
          const left = failuresLeft.get(invoiceId) ?? 0;
          if (left > 0) {
            failuresLeft.set(invoiceId, left - 1);
            deliveries.push({ invoiceId, idempotencyKey, outcome: "unavailable" });
            throw new TransientServiceError(`invoicing provider unavailable for ${invoiceId} (503)`, 503);
          }
          deliveries.push({ invoiceId, idempotencyKey, outcome: "accepted" });
          if (!accepted.has(idempotencyKey)) accepted.set(idempotencyKey, `msg-${invoiceId}`);
          return { messageId: accepted.get(idempotencyKey)! };
        } finally {
          inFlight -= 1;
        }
      },
    },
  };

  return {
    deps,
    lookups,
    renders,
    documents,
    deliveries,
    /** Invoices the provider accepted, in order (each once, thanks to the idempotency key). */
    accepted: () => [...accepted.keys()].map((key) => key.split(":")[1]!),
    /** The most deliveries the provider ever had in flight at once. */
    maxInFlight: () => maxInFlight,
    /** Delivery attempts per invoice id. */
    attemptsFor: (invoiceId: string) => deliveries.filter((d) => d.invoiceId === invoiceId).length,
  };
}

/** A batch of `count` sample invoices, INV-1001 upwards: the demo uses 12, a benchmark 10, 100 or 1,000. */
export function sampleBatch(count = 12, batchId = "2026-11-acme"): InvoiceBatch {
  const invoices: Invoice[] = Array.from({ length: count }, (_, index) => ({
    invoiceId: `INV-${1001 + index}`,
    amountCents: 10_000 + ((index * 7919) % 90_000),
    issueDate: "2026-11-30",
    purchaseOrder: `PO-${5000 + (index % 40)}`,
  }));
  return { batchId, customerId: "acme", vatNumber: "GB123456789", currency: "GBP", invoices };
}

/** Short durations for the demo and the tests: the shape of the run is the same as in production. */
export const quickConfig: Partial<WorkflowConfig> = {
  maxConcurrency: 4,
  retryCooldown: { seconds: 1 },
  deliveryAttempts: 2,
  deliveryBackoff: { seconds: 1 },
};

/**
 * What `pnpm demo map-parallel` runs: 12 invoices, 4 at a time. The provider is down for INV-1005 during
 * the whole first pass (both attempts fail), so it fails alone, the others go out, and the retry pass
 * sends it after the cool-down. Then the GBP total is converted at the average rate of the first two FX
 * providers to answer (atlas, beacon); cedar is slow and not waited for.
 */
export const demo = {
  title:
    "Invoice batch: 3 sources in parallel, 12 invoices 4 at a time, retry of the failed one, fastest 2 of 3 FX quotes",
  event: sampleBatch(12),
  createHandler: () =>
    createHandler(
      simulatedWorld({ deliveryFailures: { "INV-1005": 2 }, deliveryLatencyMs: 150 }).deps,
      quickConfig,
    ),
};
