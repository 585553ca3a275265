/**
 * One JSON call over HTTP, told as facts: what came back on the wire, or why nothing did. This file is the same
 * in every pattern of the cookbook (tools/docs-check keeps the copies identical); what a fact means for the
 * workflow (done, not done, in doubt: docs/outcomes.md) is decided by the pattern's own outcome module, because
 * that depends on the provider's contract.
 *
 * What it guarantees, whatever the provider does:
 * - the configured base URL keeps its path, with or without a trailing slash (`new URL("orders", "https://h/api")`
 *   alone would send to `https://h/orders`, with our token and idempotency key);
 * - a base URL with credentials in it (`https://user:pass@host`) is refused before anything is sent: they would
 *   appear in every message that names the call; so is plain http to another machine (the token would travel in
 *   clear), a query under a path (it would be dropped), and a path that would leave the base (`..`, a backslash);
 * - every call has a timeout, and a redirect is reported, never followed (fetch would repeat a POST to wherever
 *   the Location points, with our headers);
 * - a body is read up to a bound and no further, the token (and a labelled URL) cut out of it in any form it may be
 *   echoed in, before it is parsed; a 2xx body is parsed with the caller's schema;
 * - every text taken from the provider (`excerpt`) is bounded, on one line (control characters become spaces, so
 *   it cannot forge log lines) and has the token, and any bearer or basic credential, cut out. Excerpts are what
 *   may reach a checkpoint, an error, a log line or a terminal; the raw body never does.
 */
import type * as z from "zod/mini";

export interface HttpCall<T> {
  /** The service's configured base URL; `path` goes under it. */
  baseUrl: string;
  /** Relative to `baseUrl`, without a leading slash: "orders/A-1/refunds"; "" calls `baseUrl` itself. */
  path: string;
  /**
   * How the call is named in results (`call`), instead of "METHOD origin/path". Give one when the URL itself is a
   * secret (a chat webhook URL carries its key): the URL then never appears, and is cut out of every excerpt.
   */
  label?: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as the `Idempotency-Key` header: how a provider recognises a repeated request. */
  idempotencyKey?: string;
  /** Sent as `Authorization: Bearer <token>`, to this service only, and cut out of everything it sends back. */
  token?: string;
  /** Other headers (never credentials: those go in `token`). */
  headers?: Record<string, string>;
  timeoutMs: number;
  /** The schema a 2xx body must match. Without one, any JSON (or an empty body) is accepted as `unknown`. */
  answer?: z.ZodMiniType<T>;
  /** The largest 2xx body read; a larger one is `malformed`. Default 1 MiB. */
  maxAnswerBytes?: number;
}

/** What happened, as far as this process can know. `call` is "METHOD origin/path", without query or credentials. */
export type HttpResult<T> =
  /** 2xx, and the body matches the schema. */
  | { kind: "answered"; call: string; status: number; value: T }
  /** 2xx, but the body is missing, not JSON, too large, cut off or not what the schema says. */
  | { kind: "malformed"; call: string; status: number; excerpt: string }
  /** Any other status (a 3xx included: it is not followed). `body` is the parsed JSON of the answer, if any. */
  | { kind: "status"; call: string; status: number; excerpt: string; body: unknown }
  /** The connection was never made (refused, no such host): the request did not leave this process. */
  | { kind: "not-sent"; call: string; code: string; excerpt: string }
  /** No answer within `timeoutMs`: the request may have arrived and been acted on. */
  | { kind: "timed-out"; call: string; excerpt: string }
  /** The connection broke after it was made (reset, hang-up, unknown): the request may have arrived. */
  | { kind: "lost"; call: string; code: string; excerpt: string };

/** A setting that cannot be used as it is; thrown before anything is sent. The message names it, never its value. */
export class HttpSettingError extends Error {
  override readonly name = "HttpSettingError";
}

/** How much of a provider's text is kept: enough to say what happened, small enough for any checkpoint. */
export const MAX_EXCERPT_CHARS = 300;

const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

/** Errors that mean the connection was never established, so nothing was sent. */
const NEVER_CONNECTED: ReadonlySet<string> = new Set([
  "ECONNREFUSED", // nobody listened
  "ENOTFOUND", // the host name did not resolve
  "EAI_AGAIN", // DNS, temporarily
  "UND_ERR_CONNECT_TIMEOUT", // the TCP connection was never established
]);

export async function httpCall<T = unknown>(request: HttpCall<T>): Promise<HttpResult<T>> {
  const url = endpoint(request.baseUrl, request.path);
  const call = request.label ?? `${request.method} ${url.origin}${url.pathname}`;
  const secretUrl = request.label === undefined ? [] : [url.toString(), request.baseUrl];
  // The longest form a secret can be echoed in (each character percent-encoded as up to four UTF-8 bytes).
  const longestSecret =
    12 * Math.max(request.token?.length ?? 0, ...secretUrl.map((secret) => secret.length));
  // The secrets cut out of everything the provider sends back, before it is parsed: a body that echoes the token
  // must not hand it to the caller's value (a model's context, a checkpoint).
  const withoutSecrets = (text: string) => {
    const safe = secretUrl.reduce((cut, secret) => cutSecret(cut, secret, "[url]"), text);
    return request.token ? cutSecret(safe, request.token, "[redacted]") : safe;
  };
  const excerpt = (text: string) => safeExcerpt(withoutSecrets(text), request.token);
  // Built before the call: a header fetch would refuse (a token with a newline in it) was never sent, and must not
  // be told as a connection lost after it was made.
  const headers = requestHeaders(request);
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    return failedCall(call, error, excerpt);
  }
  const status = response.status;
  const ok = status >= 200 && status < 300;
  let text: string;
  try {
    const max = ok
      ? (request.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES)
      : MAX_EXCERPT_CHARS * 4 + longestSecret;
    const read = await readBounded(response, max);
    if (ok && read.cut) {
      return { kind: "malformed", call, status, excerpt: `more than the ${max} bytes accepted` };
    }
    // Where the read was cut, its last characters may be the beginning of an echoed secret, which no redaction
    // of the whole secret would find: they are dropped.
    text = withoutSecrets(
      read.cut ? read.text.slice(0, Math.max(0, read.text.length - longestSecret)) : read.text,
    );
  } catch (error) {
    // The status arrived and the body did not. For a 2xx the provider acted and we cannot read what it did.
    if (ok) return { kind: "malformed", call, status, excerpt: `body lost: ${excerpt(messageOf(error))}` };
    text = "";
  }
  const json = parseJson(text);
  if (!ok)
    return {
      kind: "status",
      call,
      status,
      excerpt: excerpt(text),
      body: json === NOT_JSON ? undefined : json,
    };
  if (!request.answer) {
    if (json === NOT_JSON) return { kind: "malformed", call, status, excerpt: `not JSON: ${excerpt(text)}` };
    return { kind: "answered", call, status, value: json as T };
  }
  const parsed = request.answer.safeParse(json === NOT_JSON ? undefined : json);
  if (!parsed.success) {
    const what = json === NOT_JSON ? "not JSON" : json === undefined ? "empty" : "not the expected answer";
    return { kind: "malformed", call, status, excerpt: `${what}: ${excerpt(text)}` };
  }
  return { kind: "answered", call, status, value: parsed.data };
}

/**
 * `path` under `baseUrl`, the base's own path kept, checked before any request: an http(s) URL without
 * credentials. The message names what is wrong, never the value (it may hold a secret).
 */
export function endpoint(baseUrl: string, path: string): URL {
  if (baseUrl === "") throw new HttpSettingError("the service's base URL is not set");
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new HttpSettingError("the service's base URL is not a URL");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new HttpSettingError("the service's base URL must be http(s)");
  }
  // A bearer token and customer data would cross the network in clear: http is for a service on this machine.
  if (base.protocol === "http:" && !isLoopback(base.hostname)) {
    throw new HttpSettingError("the service's base URL must be https (http only for localhost)");
  }
  if (base.username !== "" || base.password !== "") {
    throw new HttpSettingError("the service's base URL must not contain credentials (user:password@)");
  }
  if (path.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
    throw new HttpSettingError(`the path must be relative to the base URL: ${safeExcerpt(path)}`);
  }
  if (path === "") return new URL(baseUrl);
  // Under a path, a query would be dropped without a word (and a key in it, `?code=...`, lost or misplaced).
  if (base.search !== "" || base.hash !== "") {
    throw new HttpSettingError(
      "the service's base URL must not have a query or fragment: put credentials in the token setting",
    );
  }
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  const url = new URL(path, base);
  // "../x", "%2e%2e/x" and "\\other-host/x" (a backslash is a slash to the URL parser) would leave the base, with
  // our token and idempotency key: a path built from input must not be able to do that.
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw new HttpSettingError(`the path must stay under the base URL: ${safeExcerpt(path)}`);
  }
  return url;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function requestHeaders(request: HttpCall<unknown>): Headers {
  const entries: [string, string][] = [
    ["accept", "application/json"],
    // Small JSON needs no compression, and an uncompressed body is bounded by the bytes that arrive: a compressed
    // one could unpack to any size (a gzip bomb) before the bounded read sees it.
    ["accept-encoding", "identity"],
    ...(request.body === undefined ? [] : ([["content-type", "application/json"]] as [string, string][])),
    ...Object.entries(request.headers ?? {}),
    ...(request.idempotencyKey ? ([["idempotency-key", request.idempotencyKey]] as [string, string][]) : []),
    ...(request.token ? ([["authorization", `Bearer ${request.token}`]] as [string, string][]) : []),
  ];
  const headers = new Headers();
  for (const [name, value] of entries) {
    try {
      headers.set(name, value);
    } catch {
      throw new HttpSettingError(`the ${safeExcerpt(name, undefined, 60)} header is not valid in HTTP`);
    }
  }
  return headers;
}

/** A provider's text made safe to keep: bounded, one line, without the token or any bearer/basic credential. */
export function safeExcerpt(text: string, token?: string, max = MAX_EXCERPT_CHARS): string {
  let safe = token ? cutSecret(text, token, "[redacted]") : text;
  // eslint-disable-next-line no-control-regex
  safe = safe.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  safe = safe.replace(/\b(bearer|basic)(\s+|%20)(?!\[redacted\])[\w.~+/=-]+/gi, "$1 [redacted]");
  return safe.length <= max ? safe : `${safe.slice(0, max)}… (${safe.length - max} more characters)`;
}

/**
 * `text` without `secret`, as it is or as a provider may echo it: URL-encoded (`%2F`, `%2f`), JSON-escaped (`\/`,
 * `\u002f`), or any mix of these, character by character; letters in any case.
 */
function cutSecret(text: string, secret: string, replacement: string): string {
  return text.split(secret).join(replacement).replace(secretForms(secret), replacement);
}

function secretForms(secret: string): RegExp {
  const hex = (value: number, digits: number) => value.toString(16).padStart(digits, "0");
  const characters = Array.from(secret, (character) => {
    const forms = new Set([character.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")]);
    forms.add(Array.from(new TextEncoder().encode(character), (byte) => `%${hex(byte, 2)}`).join(""));
    // In the pattern, "\\\\" is one backslash of the text.
    forms.add(
      Array.from({ length: character.length }, (_, i) => `\\\\u${hex(character.charCodeAt(i), 4)}`).join(""),
    );
    if (character === "/") forms.add("\\\\/");
    if (character === "\\") forms.add("\\\\\\\\");
    if (character === '"') forms.add('\\\\"');
    if (character === " ") forms.add("\\+");
    return `(?:${[...forms].join("|")})`;
  });
  return new RegExp(characters.join(""), "gi");
}

function failedCall<T>(call: string, error: unknown, excerpt: (text: string) => string): HttpResult<T> {
  const name = (error as Error | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { kind: "timed-out", call, excerpt: "no answer in time" };
  }
  const code = errorCode(error) ?? "connection lost";
  const detail = excerpt(
    `${messageOf(error)} ${messageOf((error as { cause?: unknown } | undefined)?.cause)}`,
  );
  return NEVER_CONNECTED.has(code)
    ? { kind: "not-sent", call, code, excerpt: detail }
    : { kind: "lost", call, code, excerpt: detail };
}

function errorCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined; current;) {
    if (typeof current.code === "string") return current.code;
    current = current.cause as typeof current | undefined;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  if (error === undefined) return "";
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? typeof error;
  } catch {
    return typeof error;
  }
}

/** Reads at most `max` bytes, without reading the rest; `cut` says there was more. */
async function readBounded(response: Response, max: number): Promise<{ text: string; cut: boolean }> {
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  if (!reader) return { text: "", cut: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { text: new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max)), cut: true };
    }
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), cut: false };
}

const NOT_JSON = Symbol("not JSON");
function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}
