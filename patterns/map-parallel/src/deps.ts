import type { S3Client } from "@aws-sdk/client-s3";
import { AnswerRejectedError, MAX_ANSWER_BYTES, type FxQuoteRequest } from "./answers";
import { bounded, ConfigurationError, ProviderHttpError, ProviderUnreachableError } from "./call-outcomes";
import type { Invoice } from "./input";
import { onFirstUse } from "./on-first-use";

export type { CrmRecord, FxQuote, FxQuoteRequest, LedgerAccount, TaxStatus } from "./answers";

/**
 * The outside world of the billing run. Every call is a side effect, so the workflow makes each one inside
 * a step. Requests that change something carry an idempotency key derived from the batch and invoice ids:
 * a retried step, or a second pass, sends the same key, and the service must not act twice.
 *
 * Every answer is `unknown` on purpose: whatever a provider (or a client library) returns, the workflow
 * parses it with a schema and checks it against the question before believing it (src/answers.ts). A failed
 * call throws the facts (ProviderHttpError, ProviderUnreachableError, AnswerRejectedError); what they mean,
 * done, not done or in doubt, is decided in src/call-outcomes.ts.
 */
export interface Crm {
  /** Answers `{ customerId, legalName, billingEmail, country }`. */
  getCustomer(customerId: string): Promise<unknown>;
}
export interface Ledger {
  /** Answers `{ customerId, balanceCents, overdueInvoices }`. */
  getAccount(customerId: string): Promise<unknown>;
}
export interface TaxRegistry {
  /** Answers `{ vatNumber, valid }`. */
  checkVatNumber(vatNumber: string): Promise<unknown>;
}
/** An exchange-rate provider. Three of them answer the same question; the workflow uses the first two answers. */
export interface FxProvider {
  /** Kebab-case, used in operation names: `fx-${name}`. */
  name: string;
  /** Answers `{ requestId, from, to, rate }`, repeating the request. */
  getRate(request: FxQuoteRequest): Promise<unknown>;
}
/** What a document says about the customer. */
export interface InvoiceRecipient {
  legalName: string;
  country: string;
  vatNumber: string;
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
/**
 * Where documents live (S3). Only the key is checkpointed, never the document. The key names the content
 * (see documentKey), so `put` creates the document if absent and never replaces one: a document already under
 * the key is the same document.
 */
export interface DocumentStore {
  put(request: { key: string; body: Uint8Array; contentType: string }): Promise<void>;
}
export interface DeliveryRequest {
  invoiceId: string;
  to: string;
  documentKey: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
}
/**
 * The invoicing provider: emails the invoice with its document. It accepts a limited number of concurrent
 * requests, and honours idempotency keys: a request repeating a key gets the first answer and sends nothing.
 * Answers `{ invoiceId, messageId }`.
 */
export interface InvoiceSender {
  send(request: DeliveryRequest): Promise<unknown>;
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

export interface RealDepsConfig {
  /** S3 bucket for invoice documents. */
  documentBucket: string;
  crmUrl: string;
  ledgerUrl: string;
  taxRegistryUrl: string;
  invoicingUrl: string;
  /** Exchange-rate provider name to base URL, e.g. { atlas: "https://..." }. */
  fxUrls: Record<string, string>;
  /**
   * One bearer token per service, sent to that service only: a token is a key to one API, and a third party
   * (an exchange-rate provider) handed the invoicing token could bill as you. A service without one gets none.
   */
  tokens?: Partial<Record<ServiceName, string>>;
  timeoutMs?: number;
}

/** The services the real deps call, as named in operation names, tokens and settings. */
export type ServiceName = "crm" | "ledger" | "tax-registry" | "invoicing" | `fx-${string}`;

/** The exchange-rate providers the deployed function asks, in the order of the parallel branches. */
export const FX_PROVIDERS = ["atlas", "beacon", "cedar"] as const;

/** The environment variables of each service: its base URL and its own token. Error messages name them. */
export function settingsOf(service: ServiceName): { url: string; token: string } {
  const prefix = service.startsWith("fx-")
    ? `FX_${service.slice(3).toUpperCase()}`
    : `${service.toUpperCase().replace(/-/g, "_")}_API`;
  return { url: `${prefix}_URL`, token: `${prefix}_TOKEN` };
}

const SERVICES: ServiceName[] = [
  "crm",
  "ledger",
  "tax-registry",
  "invoicing",
  ...FX_PROVIDERS.map((n) => `fx-${n}` as const),
];

export function configFromEnv(): RealDepsConfig {
  const env = (name: string) => process.env[name] ?? "";
  return {
    documentBucket: env("INVOICE_BUCKET"),
    crmUrl: env(settingsOf("crm").url),
    ledgerUrl: env(settingsOf("ledger").url),
    taxRegistryUrl: env(settingsOf("tax-registry").url),
    invoicingUrl: env(settingsOf("invoicing").url),
    fxUrls: Object.fromEntries(FX_PROVIDERS.map((name) => [name, env(settingsOf(`fx-${name}`).url)])),
    tokens: Object.fromEntries(
      SERVICES.flatMap((service) => {
        const token = process.env[settingsOf(service).token];
        return token ? [[service, token]] : [];
      }),
    ),
  };
}

/** What the document store needs from an S3 client: tests pass a stub with the same `send`. */
export type S3Sender = Pick<S3Client, "send">;

/**
 * The real dependencies: documents in S3, everything else JSON over HTTP. Configuration, the S3 client and
 * its module are resolved on first use (inside the step that needs them), so importing the handler never
 * throws and a cold start does not load the S3 client. `s3` may answer a client or a promise of one.
 */
export function createRealDeps(
  config: () => RealDepsConfig = configFromEnv,
  s3: () => S3Sender | Promise<S3Sender> = lazyS3Client,
): BillingDeps {
  const get = (service: ServiceName, url: string, path: string, headers: Record<string, string> = {}) =>
    requestAnswer(service, "GET", url, path, undefined, config(), headers);
  return {
    crm: {
      getCustomer: (customerId) => get("crm", config().crmUrl, `customers/${encodeURIComponent(customerId)}`),
    },
    ledger: {
      getAccount: (customerId) =>
        get("ledger", config().ledgerUrl, `accounts/${encodeURIComponent(customerId)}`),
    },
    taxRegistry: {
      checkVatNumber: (vatNumber) =>
        get("tax-registry", config().taxRegistryUrl, `vat/${encodeURIComponent(vatNumber)}`),
    },
    fxProviders: FX_PROVIDERS.map((name) => ({
      name,
      getRate: ({ requestId, from, to }) =>
        get(
          `fx-${name}`,
          config().fxUrls[name] ?? "",
          `rates/${encodeURIComponent(from)}/${encodeURIComponent(to)}`,
          // The provider repeats it in its answer, which is how an answer meant for another request is caught.
          { "x-request-id": requestId },
        ),
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
        if (bucket === "") throw new ConfigurationError("INVOICE_BUCKET is not set");
        const { PutObjectCommand } = await s3Module();
        const client = await s3();
        try {
          // Create only: S3 refuses the write (412) when the key exists, so no stored document is replaced.
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentType: contentType,
              IfNoneMatch: "*",
            }),
          );
        } catch (error) {
          // Already there: the key is a digest of the content, so it is this very document.
          if ((error as { name?: string }).name === "PreconditionFailed") return;
          throw error;
        }
      },
    },
    sender: {
      send: ({ idempotencyKey, ...request }) =>
        requestAnswer("invoicing", "POST", config().invoicingUrl, "invoices", request, config(), {
          "idempotency-key": idempotencyKey,
        }),
    },
  };
}

/**
 * The S3 client module, evaluated the first time a document is stored rather than when the handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const s3Module = onFirstUse(() => import("@aws-sdk/client-s3"));
const lazyS3Client = onFirstUse(async () => new (await s3Module()).S3Client({}));

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
    `<p>${escape(customer.legalName)} (${escape(customer.country)}), VAT ${escape(customer.vatNumber)}</p>`,
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

/**
 * One HTTP call, reporting facts only: the status (ProviderHttpError), no answer (ProviderUnreachableError,
 * with whether the request could have left), or an answer that is not JSON or too large (AnswerRejectedError).
 * The body is read up to MAX_ANSWER_BYTES and no further. The JSON is returned as `unknown`: the workflow's
 * step parses it with its schema.
 */
async function requestAnswer(
  service: ServiceName,
  method: "GET" | "POST",
  baseUrl: string,
  path: string,
  body: object | undefined,
  settings: RealDepsConfig,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const url = new URL(path, serviceUrl(service, baseUrl)).toString();
  const token = settings.tokens?.[service];
  // Whatever a provider says goes into error messages, and so into checkpoints, the history and the result.
  // An error page may echo the request's headers: the token sent is cut out of everything it says.
  const clean = (text: string) => redact(text, token);
  const call = `${method} ${url}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept: "application/json",
        ...(body ? { "content-type": "application/json" } : {}),
        ...headers,
        // This service's own token, never another's.
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      // A redirect is answered as the status it is (see call-outcomes.ts), not followed: following one would
      // repeat a POST to wherever it points, with our headers.
      redirect: "manual",
      signal: AbortSignal.timeout(settings.timeoutMs ?? 10_000),
    });
    text = response.ok
      ? await readBounded(call, response, MAX_ANSWER_BYTES)
      : await readBounded(call, response, 300, false);
  } catch (error) {
    if (error instanceof AnswerRejectedError) throw error;
    throw unreachable(call, error, clean);
  }
  if (!response.ok) {
    throw new ProviderHttpError(
      response.status,
      `${call} answered ${response.status}: ${bounded(clean(text), 200)}`,
    );
  }
  if (text.trim() === "")
    throw new AnswerRejectedError(`${call} answered ${response.status} with an empty body`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AnswerRejectedError(
      `${call} answered ${response.status} with a body that is not JSON: ${bounded(clean(text), 80)}`,
    );
  }
}

/**
 * A service's base URL, checked before any request: set, a URL, and without credentials in it. A URL such as
 * https://user:password@host would put the password into every error message that names the call (and fetch
 * refuses it anyway): the service's token goes in its own setting. The message names the setting, never the
 * value.
 */
export function serviceUrl(service: ServiceName, baseUrl: string): URL {
  const { url: setting, token } = settingsOf(service);
  if (baseUrl === "") throw new ConfigurationError(`${setting} is not set`);
  let parsed: URL;
  try {
    parsed = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  } catch {
    throw new ConfigurationError(`${setting} is not a URL`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ConfigurationError(
      `${setting} must not contain credentials (user:password@): put the service's token in ${token}`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigurationError(`${setting} must be an http(s) URL`);
  }
  return parsed;
}

/** The token, and any bearer credential, cut out of a provider's words. */
export function redact(text: string, token: string | undefined): string {
  const withoutToken = token ? text.split(token).join("[redacted]") : text;
  return withoutToken.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]");
}

/** Reads at most `max` bytes. Too large: refused (or, for an error body, cut), without reading the rest. */
async function readBounded(call: string, response: Response, max: number, refuse = true): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (refuse && declared > max) {
    await response.body?.cancel();
    throw new AnswerRejectedError(`${call} answered ${declared} bytes, more than the ${max} accepted`);
  }
  const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array> | undefined;
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      if (refuse) throw new AnswerRejectedError(`${call} answered more than the ${max} bytes accepted`);
      break;
    }
  }
  return new TextDecoder().decode(Buffer.concat(chunks)).slice(0, refuse ? undefined : max);
}

/** A failed fetch: was the connection ever made? If not, the request never left; otherwise it may have arrived. */
function unreachable(
  call: string,
  error: unknown,
  clean: (text: string) => string,
): ProviderUnreachableError {
  const failure = error as { name?: string; message?: string; cause?: { code?: string } };
  if (failure.name === "TimeoutError" || failure.name === "AbortError") {
    return new ProviderUnreachableError("timeout", `${call} timed out`);
  }
  const code = failure.cause?.code ?? "";
  const phase = NEVER_CONNECTED.has(code) ? "connect" : "reset";
  return new ProviderUnreachableError(
    phase,
    `${call} failed: ${bounded(clean(failure.message ?? String(error)), 120)} ${code}`.trim(),
  );
}

/** Errors that mean the connection was never established, so nothing was sent. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);
