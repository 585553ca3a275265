import type { S3Client } from "@aws-sdk/client-s3";
import { AnswerRejectedError, MAX_ANSWER_BYTES, type FxQuoteRequest } from "./answers";
import { bounded, ConfigurationError, ProviderHttpError, ProviderUnreachableError } from "./call-outcomes";
import { endpoint, httpCall, HttpSettingError, type HttpResult } from "./http-call";
import type { Invoice } from "./input";
import { onFirstUse } from "./on-first-use";
import { secretSetting, SecretSettingError } from "./secret-setting";

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
  /**
   * Checks every setting the sends need, before the first invoice is rendered (the workflow's `check-settings`
   * step), and throws an error naming the first setting that cannot be used (ConfigurationError, or
   * SecretSettingError: `retryable` only when Secrets Manager itself failed for a while). Reads secrets, so it
   * runs inside a step; it returns nothing, so no secret is checkpointed. Optional: deps without settings (the
   * simulated world, a test's fakes) have nothing to check, and the step still runs, so the history is the same.
   */
  checkSettings?(): Promise<void>;
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
  /** How long one call may take (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** The services the real deps call, as named in operation names, tokens and settings. */
export type ServiceName = "crm" | "ledger" | "tax-registry" | "invoicing" | `fx-${string}`;

/** The exchange-rate providers the deployed function asks, in the order of the parallel branches. */
export const FX_PROVIDERS = ["atlas", "beacon", "cedar"] as const;

/**
 * The settings of each service: its base URL (plain environment) and its own token. Error messages name them.
 *
 * Tokens are not configuration but secrets: one bearer token per service, sent to that service only (a token is
 * a key to one API, and a third party, an exchange-rate provider, handed the invoicing token could bill as you).
 * Each is read, inside the step that calls its service, from the Secrets Manager secret whose ARN is in
 * `<token>_SECRET_ARN` (src/secret-setting.ts); a token in the plain environment is refused. All are optional:
 * a service whose ARN is not set, or whose secret still holds the stack's placeholder, gets no token.
 */
export function settingsOf(service: ServiceName): { url: string; token: string } {
  const prefix = service.startsWith("fx-")
    ? `FX_${service.slice(3).toUpperCase()}`
    : `${service.toUpperCase().replace(/-/g, "_")}_API`;
  return { url: `${prefix}_URL`, token: `${prefix}_TOKEN` };
}

export function configFromEnv(): RealDepsConfig {
  const env = (name: string) => process.env[name] ?? "";
  return {
    documentBucket: env("INVOICE_BUCKET"),
    crmUrl: env(settingsOf("crm").url),
    ledgerUrl: env(settingsOf("ledger").url),
    taxRegistryUrl: env(settingsOf("tax-registry").url),
    invoicingUrl: env(settingsOf("invoicing").url),
    fxUrls: Object.fromEntries(FX_PROVIDERS.map((name) => [name, env(settingsOf(`fx-${name}`).url)])),
  };
}

/** What the document store needs from an S3 client: tests pass a real S3Client pointed at a local S3. */
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
    checkSettings: () => checkSendSettings(config()),
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
          throw storeFailure(error, bucket, key);
        }
      },
    },
    sender: {
      send: ({ idempotencyKey, ...request }) =>
        requestAnswer(
          "invoicing",
          "POST",
          config().invoicingUrl,
          "invoices",
          request,
          config(),
          {},
          idempotencyKey,
        ),
    },
  };
}

/**
 * A failed PutObject as the facts call-outcomes.ts reads (the render step retries by classifyRead: storing the
 * same bytes under the same key again is harmless). A bucket that does not exist is a configuration error,
 * never retried; S3's other answers keep their status (SlowDown 503 and InternalError 500 are retried, AccessDenied
 * 403 is not); no answer at all is a timeout or a connection never made. Every message is bounded: an error
 * thrown by a client can carry anything.
 */
function storeFailure(error: unknown, bucket: string, key: string): Error {
  if ((error as { name?: string } | undefined)?.name === "NoSuchBucket") {
    return new ConfigurationError(
      `INVOICE_BUCKET names bucket ${JSON.stringify(bucket)}, which does not exist (NoSuchBucket): create it or ` +
        "correct the setting",
    );
  }
  return s3Failure(error, `S3 PutObject ${key} into ${bucket}`);
}

/** Any failed S3 call as the facts call-outcomes.ts reads: a status, no answer (and why), or the error's own name. */
function s3Failure(error: unknown, what: string): Error {
  const failure = error as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = failure.name ?? "Error";
  const detail = bounded(`${name}: ${failure.message ?? String(error)}`.replace(/\s+/g, " "), 200);
  const status = failure.$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 300) {
    return new ProviderHttpError(status, `${what} answered ${status}: ${detail}`);
  }
  if (name === "TimeoutError" || name === "AbortError" || failure.code === "ETIMEDOUT") {
    return new ProviderUnreachableError("timeout", `${what} timed out: ${detail}`);
  }
  if (failure.code === "ECONNREFUSED" || failure.code === "ENOTFOUND" || failure.code === "EAI_AGAIN") {
    return new ProviderUnreachableError("connect", `${what} failed: ${detail}`);
  }
  if (failure.code === "ECONNRESET" || failure.code === "EPIPE") {
    return new ProviderUnreachableError("reset", `${what} failed: ${detail}`);
  }
  // Anything else: its name kept, its message bounded (not retried: classifyRead does not know it).
  return Object.assign(new Error(`${what} failed: ${detail}`), { name });
}

/**
 * The S3 client module, evaluated the first time a document is stored rather than when the handler loads
 * (esbuild keeps a dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const s3Module = onFirstUse(() => import("@aws-sdk/client-s3"));
// Bounded waits: a connection in 3 s, and no silence longer than 30 s while a document is written (the SDK's
// default is no limit, which would hold the step until the function times out; and past `requestTimeout` its HTTP
// handler only logs a warning unless `throwOnRequestTimeout` is set).
const lazyS3Client = onFirstUse(
  async () =>
    new (await s3Module()).S3Client({
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    }),
);

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
 * One HTTP call, reporting facts only, through the cookbook's one way to call HTTP (src/http-call.ts): the
 * status (ProviderHttpError), no answer (ProviderUnreachableError, with whether the request could have left),
 * or an answer that is not JSON, empty or too large (AnswerRejectedError). What each fact means, done, not done
 * or in doubt, is decided in src/call-outcomes.ts. The JSON is returned as `unknown`: the workflow's step parses
 * it with its schema.
 *
 * Runs inside the step that makes the call: the base URL is checked, then the service's token is read from
 * Secrets Manager (src/secret-setting.ts), both before anything is sent. A setting that cannot be used throws
 * (ConfigurationError, SecretSettingError): nothing left the process.
 */
async function requestAnswer(
  service: ServiceName,
  method: "GET" | "POST",
  baseUrl: string,
  path: string,
  body: object | undefined,
  settings: RealDepsConfig,
  headers: Record<string, string> = {},
  idempotencyKey?: string,
): Promise<unknown> {
  serviceUrl(service, baseUrl);
  // This service's own token, never another's; read here, in the step, and never checkpointed.
  const token = await serviceToken(service);
  const result = await httpCall({
    baseUrl,
    path,
    method,
    body,
    idempotencyKey,
    token,
    headers,
    timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxAnswerBytes: MAX_ANSWER_BYTES,
  });
  if (result.kind === "status" && (result.status === 401 || result.status === 403) && token === undefined) {
    // Refused for want of credentials we did not send: say which setting would have sent them. First in the
    // message, so that no cut of a long error page can drop it.
    const setting = settingsOf(service).token;
    throw new ProviderHttpError(
      result.status,
      `${result.call} answered ${result.status} and was sent no token: ${setting}_SECRET_ARN is not set, or its ` +
        `secret still holds the stack's placeholder; put the service's token (${setting}) in that secret: ` +
        result.excerpt,
    );
  }
  return answerOf(result);
}

/**
 * A service's token from its secret setting (src/secret-setting.ts): undefined sends none. A value that cannot be
 * used (a key/value JSON object, a line break or a character a header cannot carry) is a SecretSettingError
 * naming the setting there, before anything is sent.
 */
function serviceToken(service: ServiceName): Promise<string | undefined> {
  return secretSetting(settingsOf(service).token, { required: false });
}

/**
 * What the sends of a batch need, checked once before the first invoice is rendered (BillingDeps.checkSettings):
 * INVOICE_BUCKET set, INVOICING_API_URL usable as httpCall will use it, and INVOICING_API_TOKEN readable and
 * usable if its ARN is set. Nothing is sent and nothing is written. The lookups' settings are not checked here:
 * the lookups ran before this and proved them. The exchange-rate providers' are not either: a quote is reporting
 * only, and a provider that cannot be asked only has its quote discarded. Every problem found is named; a
 * problem Secrets Manager may get over by itself (throttling) is thrown as retryable only when it is the only kind.
 */
export async function checkSendSettings(settings: RealDepsConfig): Promise<void> {
  const problems: Error[] = [];
  const check = async (what: () => unknown) => {
    try {
      await what();
    } catch (error) {
      problems.push(error instanceof Error ? error : new Error(String(error)));
    }
  };
  await check(() => {
    if (settings.documentBucket === "") throw new ConfigurationError("INVOICE_BUCKET is not set");
  });
  await check(() => {
    serviceUrl("invoicing", settings.invoicingUrl);
    try {
      // The very check httpCall makes before sending, so that nothing it would refuse gets past this step.
      endpoint(settings.invoicingUrl, "invoices");
    } catch (error) {
      if (!(error instanceof HttpSettingError)) throw error;
      throw new ConfigurationError(`${settingsOf("invoicing").url} cannot be used: ${error.message}`);
    }
  });
  await check(() => serviceToken("invoicing"));
  if (problems.length === 0) return;
  const permanent = problems.filter(
    (problem) => !(problem instanceof SecretSettingError && problem.retryable),
  );
  if (problems.length === 1 || permanent.length === 0) throw problems[0]!;
  throw new ConfigurationError(permanent.map((problem) => problem.message).join("; "));
}

/** A call without a configured timeout gives up after this long: a provider that never answers fails the step. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The facts of one HTTP call as this pattern's errors. Every text in them is an excerpt made by httpCall:
 * bounded, on one line, the token and any credential cut out, so it may go into a checkpoint.
 */
export function answerOf(result: HttpResult<unknown>): unknown {
  switch (result.kind) {
    case "answered":
      if (result.value === undefined) {
        throw new AnswerRejectedError(`${result.call} answered ${result.status} with an empty body`);
      }
      return result.value;
    case "malformed":
      throw new AnswerRejectedError(`${result.call} answered ${result.status} with ${result.excerpt}`);
    case "status":
      throw new ProviderHttpError(
        result.status,
        `${result.call} answered ${result.status}: ${result.excerpt}`,
      );
    case "not-sent":
      // The connection was never made: the request never left.
      throw new ProviderUnreachableError(
        "connect",
        `${result.call} failed: ${result.excerpt} ${result.code}`,
      );
    case "timed-out":
      throw new ProviderUnreachableError("timeout", `${result.call} timed out: ${result.excerpt}`);
    case "lost":
      // The connection was made, then broke: the request may have arrived.
      throw new ProviderUnreachableError("reset", `${result.call} failed: ${result.excerpt} ${result.code}`);
  }
}

/**
 * A service's base URL, checked before any request: set, a URL, without credentials, query or fragment in it. A URL such as
 * https://user:password@host would put the password into every error message that names the call (and fetch
 * refuses it anyway): the service's token goes in its own secret setting. The message names the setting, never
 * the value.
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
      `${setting} must not contain credentials (user:password@): put the service's token in the secret ` +
        `named by ${token}_SECRET_ARN`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigurationError(`${setting} must be an http(s) URL`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    // A query would not reach the service under every path (and may hold a key, which every message naming the
    // call would then show): a base URL is a scheme, a host and a path.
    throw new ConfigurationError(
      `${setting} must not have a query or fragment (?... or #...): put a credential in the secret named by ` +
        `${token}_SECRET_ARN`,
    );
  }
  return parsed;
}

/** The token, and any bearer credential, cut out of a provider's words. */
export function redact(text: string, token: string | undefined): string {
  const withoutToken = token ? text.split(token).join("[redacted]") : text;
  return withoutToken.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]");
}

/** One object read from S3 (or a part of it): the chunked run's manifest and chunk records. */
export interface ObjectReadRequest {
  /** Default: the document bucket (INVOICE_BUCKET). */
  bucket?: string;
  key: string;
  /** Bytes `start` to `end`, both included (an HTTP Range). Default: the whole object. */
  range?: { start: number; end: number };
  /** Read this version only (a versioned bucket). */
  versionId?: string;
  /** Read only if the object's ETag is still this one: S3 answers 412 otherwise. */
  ifMatch?: string;
}

export interface ObjectRead {
  body: Uint8Array;
  /** The ETag of the object read, as S3 gives it (quotes included). */
  etag: string;
  /** The version read, when the bucket is versioned. */
  versionId?: string;
  /** The whole object's size in bytes (from Content-Range for a range read). */
  objectBytes: number;
}

/** Reads by key: the facts of a failed read are thrown (ObjectNotFoundError, ObjectChangedError, or S3's status). */
export interface ObjectReader {
  read(request: ObjectReadRequest): Promise<ObjectRead>;
}

/** The bucket, the key or the version named does not exist: nothing to read, asking again cannot help. */
export class ObjectNotFoundError extends Error {
  override readonly name = "ObjectNotFoundError";
}

/** The object is no longer the one pinned (its ETag or version changed): S3's 412, or a different ETag served. */
export class ObjectChangedError extends Error {
  override readonly name = "ObjectChangedError";
}

/**
 * A reader over S3 GetObject, with the document store's client and settings (INVOICE_BUCKET the default bucket).
 * Added for the chunked run (src/chunked.ts), which reads its batch's manifest by reference and its chunk records
 * back; nothing else uses it.
 */
export function createS3ObjectReader(
  config: () => RealDepsConfig = configFromEnv,
  s3: () => S3Sender | Promise<S3Sender> = lazyS3Client,
): ObjectReader {
  return {
    read: async ({ bucket: given, key, range, versionId, ifMatch }) => {
      const bucket = given ?? config().documentBucket;
      if (bucket === "")
        throw new ConfigurationError("INVOICE_BUCKET is not set (the default bucket of a read)");
      const { GetObjectCommand } = await s3Module();
      const client = await s3();
      const what = `S3 GetObject ${key} from ${bucket}`;
      let answer;
      try {
        answer = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
            ...(versionId ? { VersionId: versionId } : {}),
            ...(ifMatch ? { IfMatch: ifMatch } : {}),
          }),
        );
      } catch (error) {
        const name = (error as { name?: string }).name ?? "Error";
        if (name === "NoSuchKey" || name === "NoSuchBucket" || name === "NoSuchVersion") {
          throw new ObjectNotFoundError(
            `${what}: ${name} (the ${name.slice(6).toLowerCase()} does not exist)`,
          );
        }
        if (name === "PreconditionFailed") {
          throw new ObjectChangedError(
            `${what}: PreconditionFailed (its ETag is no longer ${ifMatch ?? "?"})`,
          );
        }
        throw s3Failure(error, what);
      }
      const body = answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
      const etag = answer.ETag ?? "";
      if (ifMatch && etag !== ifMatch) {
        // A store that ignores If-Match (s3rver does) still says which object it served.
        throw new ObjectChangedError(`${what}: served ETag ${etag}, not the pinned ${ifMatch}`);
      }
      const total = /\/(\d+)$/.exec(answer.ContentRange ?? "")?.[1];
      return {
        body,
        etag,
        ...(answer.VersionId ? { versionId: answer.VersionId } : {}),
        objectBytes: total === undefined ? body.byteLength : Number(total),
      };
    },
  };
}
