import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RealDepsConfig } from "../src";
// The provider's own record of an email it sent: the same record the demo's simulated world keeps.
import type { SentEmail } from "../src/demo";
import { startLocalS3 } from "./local-s3";

/**
 * The providers of the deployed function, as HTTP services on 127.0.0.1, for the real deps (src/deps.ts): the
 * CRM, the ledger, the tax registry, three exchange-rate providers and the invoicing provider. They answer
 * well by default; a test replaces the raw answer of one route (status, body, delay). They keep their own
 * records: every request received, and the emails the invoicing provider sent, once per idempotency key. The
 * documents go to a real local S3 (test/local-s3.ts), which keeps its own.
 */
export type Route = "crm" | "ledger" | "tax" | "fx-atlas" | "fx-beacon" | "fx-cedar" | "invoicing";

export interface Received {
  route: Route;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawAnswer {
  status?: number;
  /** The body as bytes on the wire: any text, JSON or not. */
  body?: string;
  /** Answer after this long (the email, if any, is sent first: a timeout after sending). */
  delayMs?: number;
  /** For the invoicing provider: false when it refuses before sending (default true). */
  send?: boolean;
  /** A Location header (for a redirect). */
  location?: string;
}

/** What a route answers to its nth request (1-based; per idempotency key); undefined: the normal answer. */
export type Override = (context: {
  attempt: number;
  request: Received;
  normal: Record<string, unknown>;
}) => RawAnswer | undefined;

export async function startHttpWorld(options: { fxDelayMs?: Partial<Record<Route, number>> } = {}) {
  const received: Received[] = [];
  const emails: SentEmail[] = [];
  const byKey = new Map<string, SentEmail>();
  const overrides = new Map<Route, Override>();
  const attempts = new Map<string, number>();
  const open = new Set<ServerResponse>();
  const rates: Record<string, number> = { "fx-atlas": 1.149, "fx-beacon": 1.151, "fx-cedar": 1.15 };
  const delays: Partial<Record<Route, number>> = { "fx-atlas": 5, "fx-beacon": 15, "fx-cedar": 120 };
  Object.assign(delays, options.fxDelayMs);

  const normalAnswer = (route: Route, request: Received): Record<string, unknown> => {
    const parts = request.path.split("/").filter(Boolean).map(decodeURIComponent);
    switch (route) {
      case "crm":
        return {
          customerId: parts[1],
          legalName: `Customer ${parts[1]} Ltd`,
          billingEmail: `billing@${parts[1]}.example.com`,
          country: "GB",
        };
      case "ledger":
        return { customerId: parts[1], balanceCents: 125_000, overdueInvoices: 0 };
      case "tax":
        return { vatNumber: parts[1], valid: true };
      case "invoicing": {
        // The receipt repeats what was sent under this key: for a repeat, the first send's content.
        const first = byKey.get(String(request.headers["idempotency-key"]));
        if (first) {
          const { idempotencyKey: _key, ...receipt } = first;
          return receipt;
        }
        const invoice = JSON.parse(request.body) as Omit<SentEmail, "idempotencyKey" | "messageId">;
        return { ...invoice, messageId: `msg-${invoice.invoiceId}` };
      }
      default:
        return {
          requestId: request.headers["x-request-id"],
          from: parts[1],
          to: parts[2],
          rate: rates[route],
        };
    }
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const [, first, second] = (req.url ?? "/").split("/");
      const route = (first === "fx" ? `fx-${second}` : first) as Route;
      const path = (req.url ?? "/").slice(`/${first}${first === "fx" ? `/${second}` : ""}`.length);
      const request: Received = { route, method: req.method ?? "", path, headers: req.headers, body };
      received.push(request);
      // Counted per route, and for the invoicing provider per idempotency key: "INV-1002's first request".
      const counter = `${route} ${String(req.headers["idempotency-key"] ?? "")}`;
      const attempt = (attempts.get(counter) ?? 0) + 1;
      attempts.set(counter, attempt);
      const normal = normalAnswer(route, request);
      const raw = overrides.get(route)?.({ attempt, request, normal }) ?? {};
      if (route === "invoicing" && (raw.status ?? 200) < 300 && raw.send !== false) send(request, normal);
      if (route === "invoicing" && (raw.status ?? 200) >= 500 && raw.send === true) send(request, normal);
      open.add(res);
      const reply = () => {
        open.delete(res);
        if (res.destroyed) return;
        res.writeHead(raw.status ?? 200, {
          "content-type": "application/json",
          ...(raw.location ? { location: raw.location } : {}),
        });
        res.end(raw.body ?? JSON.stringify(normal));
      };
      const delay = raw.delayMs ?? delays[route] ?? 0;
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    });
  });

  /** The invoicing provider's side: one email per idempotency key; a repeat gets the first receipt. */
  function send(request: Received, normal: Record<string, unknown>) {
    const key = String(request.headers["idempotency-key"]);
    if (byKey.has(key)) return;
    const { invoiceId, to, documentKey, amountCents, currency } = JSON.parse(request.body) as SentEmail;
    const email: SentEmail = {
      invoiceId,
      to,
      documentKey,
      amountCents,
      currency,
      idempotencyKey: key,
      messageId: String(normal.messageId),
    };
    byKey.set(key, email);
    emails.push(email);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = await startLocalS3(["invoices-bucket"]);

  return {
    received,
    emails,
    /** Requests a route received. */
    requestsTo: (route: Route) => received.filter((request) => request.route === route),
    /** Emails the invoicing provider sent for an invoice: its own record. */
    emailsFor: (invoiceId: string) => emails.filter((email) => email.invoiceId === invoiceId),
    override: (route: Route, answer: Override) => overrides.set(route, answer),
    config: (timeoutMs = 2000): RealDepsConfig => ({
      documentBucket: "invoices-bucket",
      crmUrl: `${url}/crm`,
      ledgerUrl: `${url}/ledger`,
      taxRegistryUrl: `${url}/tax`,
      invoicingUrl: `${url}/invoicing`,
      fxUrls: { atlas: `${url}/fx/atlas`, beacon: `${url}/fx/beacon`, cedar: `${url}/fx/cedar` },
      timeoutMs,
    }),
    /** A real S3Client for the local S3 (pass it as createRealDeps' `s3`). */
    s3: s3.client,
    /** The documents the local S3 holds: its own record, listed through S3. */
    storedKeys: () => s3.keys("invoices-bucket"),
    /** A stored document as S3 serves it back. */
    storedObject: (key: string) => s3.object(key, "invoices-bucket"),
    /** Waits for the answers still pending (a straggler, a slow answer), then stops the servers. */
    close: async () => {
      while (open.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await s3.close();
    },
  };
}
