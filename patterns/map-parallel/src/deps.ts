import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Invoice } from "./input";

/**
 * The outside world of the billing run. Every call is a side effect, so the workflow makes each one inside
 * a step. Requests that change something carry an idempotency key derived from the batch and invoice ids:
 * a retried step, or a second pass, sends the same key, and the service must not act twice.
 */
export interface CrmRecord {
  source: "crm";
  legalName: string;
  billingEmail: string;
  country: string;
}
export interface LedgerAccount {
  source: "ledger";
  balanceCents: number;
  overdueInvoices: number;
}
export interface TaxStatus {
  source: "tax-registry";
  vatNumber: string;
  valid: boolean;
}

export interface Crm {
  getCustomer(customerId: string): Promise<CrmRecord>;
}
export interface Ledger {
  getAccount(customerId: string): Promise<LedgerAccount>;
}
export interface TaxRegistry {
  checkVatNumber(vatNumber: string): Promise<TaxStatus>;
}
/** An exchange-rate provider. Three of them answer the same question; the workflow uses the first two answers. */
export interface FxProvider {
  /** Kebab-case, used in operation names: `fx-${name}`. */
  name: string;
  getRate(from: string, to: string): Promise<{ rate: number }>;
}
/** What a document says about the customer. */
export interface InvoiceRecipient {
  legalName: string;
  country: string;
  paymentTermsDays: number;
}
/** Turns an invoice into a document (a PDF in production). Documents are large: hundreds of kilobytes. */
export interface InvoiceRenderer {
  render(
    invoice: Invoice,
    currency: string,
    customer: InvoiceRecipient,
  ): Promise<{ body: Uint8Array; contentType: string }>;
}
/** Where documents live (S3). Only the key is checkpointed, never the document. */
export interface DocumentStore {
  put(request: { key: string; body: Uint8Array; contentType: string }): Promise<void>;
}
/** The invoicing provider: emails the invoice with its document. It accepts a limited number of concurrent requests. */
export interface InvoiceSender {
  send(request: {
    invoiceId: string;
    to: string;
    documentKey: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ messageId: string }>;
}

export interface BillingDeps {
  crm: Crm;
  ledger: Ledger;
  taxRegistry: TaxRegistry;
  fxProviders: FxProvider[];
  renderer: InvoiceRenderer;
  documents: DocumentStore;
  sender: InvoiceSender;
}

/** The invoicing provider's documented limit on concurrent requests; the map's maxConcurrency matches it. */
export const PROVIDER_CONCURRENCY_LIMIT = 5;

/**
 * A service was unavailable, throttled us or timed out (5xx, 429, network). The same request may succeed
 * later. Its arguments are optional because `createRetryStrategy({ retryableErrorTypes })` types them as
 * `new () => Error`.
 */
export class TransientServiceError extends Error {
  override readonly name = "TransientServiceError";
  constructor(
    message = "Transient service error",
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A service said no for good (4xx): retrying the same request cannot help. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  constructor(
    message = "Client error",
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RealDepsConfig {
  /** S3 bucket for invoice documents. */
  documentBucket: string;
  crmUrl: string;
  ledgerUrl: string;
  taxRegistryUrl: string;
  invoicingUrl: string;
  /** Exchange-rate provider name to base URL, e.g. { atlas: "https://..." }. */
  fxUrls: Record<string, string>;
  apiToken?: string;
  timeoutMs?: number;
}

/** The exchange-rate providers the deployed function asks, in the order of the parallel branches. */
export const FX_PROVIDERS = ["atlas", "beacon", "cedar"] as const;

export function configFromEnv(): RealDepsConfig {
  return {
    documentBucket: process.env.INVOICE_BUCKET ?? "",
    crmUrl: process.env.CRM_API_URL ?? "",
    ledgerUrl: process.env.LEDGER_API_URL ?? "",
    taxRegistryUrl: process.env.TAX_REGISTRY_API_URL ?? "",
    invoicingUrl: process.env.INVOICING_API_URL ?? "",
    fxUrls: Object.fromEntries(
      FX_PROVIDERS.map((name) => [name, process.env[`FX_${name.toUpperCase()}_URL`] ?? ""]),
    ),
    apiToken: process.env.BILLING_API_TOKEN,
  };
}

/** What the document store needs from an S3 client: tests pass a stub with the same `send`. */
export type S3Sender = Pick<S3Client, "send">;

/**
 * The real dependencies: documents in S3, everything else JSON over HTTP. Configuration and the S3 client
 * are resolved on first use (inside the step that needs them), so importing the handler never throws.
 */
export function createRealDeps(
  config: () => RealDepsConfig = configFromEnv,
  s3: () => S3Sender = lazyS3Client,
): BillingDeps {
  const get = <T>(url: string, path: string) => requestJson<T>("GET", url, path, undefined, config());
  const post = <T>(url: string, path: string, body: object, idempotencyKey: string) =>
    requestJson<T>("POST", url, path, body, config(), idempotencyKey);
  return {
    crm: {
      getCustomer: async (customerId) => ({
        source: "crm",
        ...(await get<Omit<CrmRecord, "source">>(
          config().crmUrl,
          `customers/${encodeURIComponent(customerId)}`,
        )),
      }),
    },
    ledger: {
      getAccount: async (customerId) => ({
        source: "ledger",
        ...(await get<Omit<LedgerAccount, "source">>(
          config().ledgerUrl,
          `accounts/${encodeURIComponent(customerId)}`,
        )),
      }),
    },
    taxRegistry: {
      checkVatNumber: async (vatNumber) => ({
        source: "tax-registry",
        vatNumber,
        valid: (
          await get<{ valid: boolean }>(config().taxRegistryUrl, `vat/${encodeURIComponent(vatNumber)}`)
        ).valid,
      }),
    },
    fxProviders: FX_PROVIDERS.map((name) => ({
      name,
      getRate: (from, to) => get<{ rate: number }>(config().fxUrls[name] ?? "", `rates/${from}/${to}`),
    })),
    renderer: {
      render: async (invoice, currency, customer) => ({
        body: renderInvoiceHtml(invoice, currency, customer),
        contentType: "text/html; charset=utf-8",
      }),
    },
    documents: {
      put: async ({ key, body, contentType }) => {
        const bucket = config().documentBucket;
        if (bucket === "") throw new ClientError("INVOICE_BUCKET is not set", 0);
        await s3().send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
        );
      },
    },
    sender: {
      send: ({ idempotencyKey, ...request }) =>
        post<{ messageId: string }>(config().invoicingUrl, "invoices", request, idempotencyKey),
    },
  };
}

let s3Client: S3Client | undefined;
function lazyS3Client(): S3Client {
  s3Client ??= new S3Client({});
  return s3Client;
}

/** A plain HTML invoice. Production would render a PDF; either way the document stays out of the checkpoint. */
export function renderInvoiceHtml(
  invoice: Invoice,
  currency: string,
  customer: InvoiceRecipient,
): Uint8Array {
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const amount = `${(invoice.amountCents / 100).toFixed(2)} ${currency}`;
  const html = [
    "<!doctype html><meta charset=utf-8>",
    `<title>Invoice ${escape(invoice.invoiceId)}</title>`,
    `<h1>Invoice ${escape(invoice.invoiceId)}</h1>`,
    `<p>${escape(customer.legalName)} (${escape(customer.country)})</p>`,
    invoice.purchaseOrder ? `<p>PO ${escape(invoice.purchaseOrder)}</p>` : "",
    `<p>Issued ${invoice.issueDate}. Amount due: ${amount}, by ${dueDate(invoice.issueDate, customer.paymentTermsDays)}</p>`,
  ].join("\n");
  return new TextEncoder().encode(html);
}

/** The due date: the issue date plus the customer's payment terms (pure, UTC). */
export function dueDate(issueDate: string, paymentTermsDays: number): string {
  const date = new Date(`${issueDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + paymentTermsDays);
  return date.toISOString().slice(0, 10);
}

async function requestJson<T>(
  method: "GET" | "POST",
  baseUrl: string,
  path: string,
  body: object | undefined,
  settings: RealDepsConfig,
  idempotencyKey?: string,
): Promise<T> {
  if (baseUrl === "") throw new ClientError(`No URL configured for ${method} ${path}`, 0);
  const url = new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept: "application/json",
        ...(body ? { "content-type": "application/json" } : {}),
        ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
        ...(settings.apiToken ? { authorization: `Bearer ${settings.apiToken}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(settings.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw new TransientServiceError(`${method} ${url} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (response.status === 429 || response.status >= 500) {
    throw new TransientServiceError(`${method} ${url} answered ${response.status}: ${text}`, response.status);
  }
  if (!response.ok)
    throw new ClientError(`${method} ${url} answered ${response.status}: ${text}`, response.status);
  return JSON.parse(text) as T;
}
