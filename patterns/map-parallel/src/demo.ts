import { ProviderHttpError, ProviderUnreachableError } from "./call-outcomes";
import { createHandler } from "./index";
import { PROVIDER_CONCURRENCY_LIMIT, type BillingDeps, type DeliveryRequest, type FxProvider } from "./deps";
import type { FxQuoteRequest } from "./answers";
import type { Invoice, InvoiceBatch } from "./input";
import type { WorkflowConfig } from "./workflow";

/**
 * The simulated outside world, for `pnpm demo map-parallel`, the tests and a benchmark: in-memory services
 * that keep their own records of every call, what they answered and what they sent, fail on request, answer
 * garbage on request, and take a little time, so concurrency shows.
 */
export interface WorldOptions {
  /** Deliveries that fail with a 503 before the provider accepts, per invoice id (Infinity: never accepts). */
  deliveryFailures?: Record<string, number>;
  /** Faults of successive delivery attempts, per invoice id, before the provider behaves (see DeliveryFault). */
  deliveryFaults?: Record<string, DeliveryFault[]>;
  /** How long one delivery takes, in ms (default 20), for all invoices or per invoice id. */
  deliveryLatencyMs?: number | ((invoiceId: string) => number);
  /**
   * Hold an invoice's delivery until the promise returned for it settles, instead of its latency (undefined: not
   * held). Tests use it to keep a send in flight until they have seen what happens meanwhile, under any load.
   */
  holdDelivery?: (invoiceId: string) => Promise<void> | undefined;
  /**
   * Hold every delivery until this many have been in flight at once, then let them all go (later ones are not
   * held). Tests use it to reach an exact peak of concurrency under any load. A peak the run cannot reach holds
   * the deliveries for ever.
   */
  holdDeliveriesUntilInFlight?: number;
  /** The provider's concurrency limit: a request beyond it is refused with a 429 (default PROVIDER_CONCURRENCY_LIMIT). */
  providerLimit?: number;
  /** Size of each rendered document, in bytes (default 300 KB: more than a checkpoint can hold). */
  documentBytes?: number;
  /** Enrichment sources and exchange-rate providers that fail every call. */
  down?: Array<"crm" | "ledger" | "tax-registry" | FxName>;
  /** How long each exchange-rate provider takes to answer, in ms (default: atlas 10, beacon 30, cedar 400). */
  fxLatencyMs?: Partial<Record<FxName, number>>;
  /**
   * Hold a provider's quote until its promise settles, instead of its latency. Tests use it to keep a straggler
   * running at the point they check, under any load.
   */
  holdFxQuote?: Partial<Record<FxName, Promise<void>>>;
  /** GBP to EUR rate each provider quotes (default: atlas 1.149, beacon 1.151, cedar 1.15). */
  fxRates?: Partial<Record<FxName, number>>;
  /** Overdue invoices the ledger reports (default 0: 30-day terms). */
  overdueInvoices?: number;
  /** What the tax registry says of the VAT number (default true). */
  vatValid?: boolean;
  /**
   * Replace a provider's answer (a malformed one, in the tests). For the lookups it gets the question and the
   * answer the provider would have given; for "invoicing" the request and the receipt, after the provider has
   * sent the email: a garbled "yes".
   */
  answers?: Partial<Record<AnswerSource, (question: never, answer: Record<string, unknown>) => unknown>>;
}

type FxName = "atlas" | "beacon" | "cedar";
export type AnswerSource = "crm" | "ledger" | "tax-registry" | FxName | "invoicing";

/**
 * One delivery attempt gone wrong, as production brings it. `*-after-send`: the provider emailed the invoice,
 * then the answer was lost. `error-500-before-send`: it failed before sending, though the caller cannot tell.
 */
export type DeliveryFault =
  | "timeout-after-send"
  | "error-500-after-send"
  | "error-502-after-send"
  | "error-500-before-send"
  | "conflict-409"
  | "refused-422";

export interface Delivery {
  invoiceId: string;
  idempotencyKey: string;
  outcome:
    | "accepted"
    | "repeated-key"
    | "unavailable"
    | "throttled"
    | "refused"
    | "sent-answer-lost"
    | "failed-before-send"
    | "conflict";
}

/** An email the provider actually sent: its own record, once per idempotency key. */
export interface SentEmail {
  invoiceId: string;
  idempotencyKey: string;
  to: string;
  documentKey: string;
  amountCents: number;
  currency: string;
  messageId: string;
}

/**
 * A fake's latency. Zero schedules no timer (under skipTime a timer, even of 0 ms, waits for the fake clock's next
 * tick): the call still answers asynchronously, after the caller's current microtasks.
 */
const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve();

export function simulatedWorld(options: WorldOptions = {}) {
  const down = new Set(options.down ?? []);
  const failuresLeft = new Map(Object.entries(options.deliveryFailures ?? {}));
  const faultsLeft = new Map(Object.entries(options.deliveryFaults ?? {}).map(([id, f]) => [id, [...f]]));
  const providerLimit = options.providerLimit ?? PROVIDER_CONCURRENCY_LIMIT;
  const documentBytes = options.documentBytes ?? 300 * 1024;

  const lookups: string[] = [];
  const fxRequests: Array<{ provider: FxName; request: FxQuoteRequest }> = [];
  const renders: string[] = [];
  const documents = new Map<string, Uint8Array>();
  const deliveries: Delivery[] = [];
  const emails: SentEmail[] = [];
  const sentByKey = new Map<string, SentEmail>();
  let inFlight = 0;
  let maxInFlight = 0;
  const peak = gate();

  const answer = (source: AnswerSource, question: unknown, normal: Record<string, unknown>): unknown => {
    const override = options.answers?.[source] as
      ((q: unknown, a: Record<string, unknown>) => unknown) | undefined;
    return override ? override(question, normal) : normal;
  };

  const lookup = async (
    source: "crm" | "ledger" | "tax-registry" | FxName,
    question: unknown,
    normal: Record<string, unknown>,
    latency: number | Promise<void> = 5,
  ): Promise<unknown> => {
    lookups.push(source);
    await (typeof latency === "number" ? sleep(latency) : latency);
    if (down.has(source)) throw new ProviderHttpError(503, `${source} is unavailable (503)`);
    return answer(source, question, normal);
  };

  const fx = (name: FxName, defaultLatency: number, defaultRate: number): FxProvider => ({
    name,
    getRate: (request) => {
      fxRequests.push({ provider: name, request });
      return lookup(
        name,
        request,
        { ...request, rate: options.fxRates?.[name] ?? defaultRate },
        options.holdFxQuote?.[name] ?? options.fxLatencyMs?.[name] ?? defaultLatency,
      );
    },
  });

  /** The provider's side: send the email once per key, and remember the receipt. */
  const sendEmail = (request: DeliveryRequest): SentEmail => {
    const existing = sentByKey.get(request.idempotencyKey);
    if (existing) return existing;
    const email: SentEmail = {
      invoiceId: request.invoiceId,
      idempotencyKey: request.idempotencyKey,
      to: request.to,
      documentKey: request.documentKey,
      amountCents: request.amountCents,
      currency: request.currency,
      messageId: `msg-${request.invoiceId}`,
    };
    sentByKey.set(request.idempotencyKey, email);
    emails.push(email);
    return email;
  };

  const deps: BillingDeps = {
    crm: {
      getCustomer: (customerId) =>
        lookup("crm", customerId, {
          customerId,
          legalName: `Customer ${customerId} Ltd`,
          billingEmail: `billing@${customerId}.example.com`,
          country: "GB",
        }),
    },
    ledger: {
      getAccount: (customerId) =>
        lookup("ledger", customerId, {
          customerId,
          balanceCents: 125_000,
          overdueInvoices: options.overdueInvoices ?? 0,
        }),
    },
    taxRegistry: {
      checkVatNumber: (vatNumber) =>
        lookup("tax-registry", vatNumber, { vatNumber, valid: options.vatValid ?? true }),
    },
    fxProviders: [fx("atlas", 10, 1.149), fx("beacon", 30, 1.151), fx("cedar", 400, 1.15)],
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
      send: async (request) => {
        const { invoiceId, idempotencyKey, to } = request;
        const record = (outcome: Delivery["outcome"]) =>
          deliveries.push({ invoiceId, idempotencyKey, outcome });
        if (!to.includes("@")) {
          record("refused");
          throw new ProviderHttpError(422, `bad recipient ${to} (422)`);
        }
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const holdUntil = options.holdDeliveriesUntilInFlight;
        if (holdUntil !== undefined && maxInFlight >= holdUntil) peak.open();
        try {
          if (inFlight > providerLimit) {
            record("throttled");
            throw new ProviderHttpError(429, `too many concurrent requests (429): limit ${providerLimit}`);
          }
          if (holdUntil !== undefined) await peak.opened;
          const latency = options.deliveryLatencyMs ?? 20;
          await (options.holdDelivery?.(invoiceId) ??
            sleep(typeof latency === "number" ? latency : latency(invoiceId)));
          const left = failuresLeft.get(invoiceId) ?? 0;
          if (left > 0) {
            failuresLeft.set(invoiceId, left - 1);
            record("unavailable");
            throw new ProviderHttpError(503, `invoicing provider unavailable for ${invoiceId} (503)`);
          }
          const fault = faultsLeft.get(invoiceId)?.shift();
          if (fault === "refused-422") {
            record("refused");
            throw new ProviderHttpError(422, `invoice ${invoiceId} refused (422)`);
          }
          if (fault === "conflict-409") {
            record("conflict");
            throw new ProviderHttpError(409, `a request with key ${idempotencyKey} is in progress (409)`);
          }
          if (fault === "error-500-before-send") {
            record("failed-before-send");
            throw new ProviderHttpError(500, `invoicing provider failed for ${invoiceId} (500)`);
          }
          const repeat = sentByKey.has(idempotencyKey);
          const email = sendEmail(request);
          if (fault === "timeout-after-send") {
            record("sent-answer-lost");
            throw new ProviderUnreachableError("timeout", `POST invoices for ${invoiceId} timed out`);
          }
          if (fault === "error-500-after-send" || fault === "error-502-after-send") {
            const status = fault === "error-500-after-send" ? 500 : 502;
            record("sent-answer-lost");
            throw new ProviderHttpError(status, `invoicing provider answered ${status} for ${invoiceId}`);
          }
          record(repeat ? "repeated-key" : "accepted");
          // The receipt repeats what was sent under this key: for a repeat, the first send's content.
          const { idempotencyKey: _key, ...receipt } = email;
          return answer("invoicing", request, receipt);
        } finally {
          inFlight -= 1;
        }
      },
    },
  };

  return {
    deps,
    lookups,
    fxRequests,
    renders,
    documents,
    deliveries,
    /** The emails the provider sent: its own record, once per idempotency key. */
    emails,
    /** Invoices the provider sent, in order (each once, thanks to the idempotency key). */
    accepted: () => emails.map((email) => email.invoiceId),
    /** The most deliveries the provider ever had in flight at once. */
    maxInFlight: () => maxInFlight,
    /** Delivery attempts per invoice id. */
    attemptsFor: (invoiceId: string) => deliveries.filter((d) => d.invoiceId === invoiceId).length,
  };
}

/**
 * A promise a test opens when it chooses, for holdDelivery and holdFxQuote: the call stays in flight until the test
 * has seen what it checks, so the order of events does not depend on timers racing CPU work.
 */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
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
