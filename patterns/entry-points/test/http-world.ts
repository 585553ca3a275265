import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpDeps, type HttpDepsConfig } from "../src";
import { paymentEvent } from "../src/demo";

/**
 * The checkout's four services over HTTP on 127.0.0.1, for the real deps (createHttpDeps), each under its own
 * base path as a deployment has them behind a gateway: the provider at `/psp/v2`, the warehouse at `/warehouse`,
 * the order store at `/shop/api`, the alerting endpoint at `/ops/events`. A request that lost its base path
 * matches no route and gets a 404, and is recorded with no route: the tests see it.
 *
 * Like the simulated world, the services keep their own records (payments with their status, shipments,
 * cancellations, alerts, each by idempotency key, a repeated key getting the first answer again) and every
 * request they received, with its Authorization header. A test plans what a route does on its n-th request with
 * `faults`: a function that may act (do what the service does and get its answer) and then answer anything.
 */
export type Route = "pay" | "look-up" | "void" | "ship" | "cancel" | "alert";

export interface Received {
  method: string;
  path: string;
  route: Route | undefined;
  /** The Idempotency-Key header. */
  key: string | undefined;
  authorization: string | undefined;
}

export interface FaultContext {
  act: () => [number, unknown];
  res: http.ServerResponse;
}
export type Fault = (context: FaultContext) => void;

export const BASE_PATHS = {
  paymentsUrl: "/psp/v2",
  warehouseUrl: "/warehouse",
  ordersUrl: "/shop/api",
  alertsUrl: "/ops/events",
} as const;

interface Payment {
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  status: "pending" | "succeeded" | "failed" | "voided";
}

export class HttpWorld {
  payments = new Map<string, Payment>();
  shipments = new Map<string, { shipmentId: string; orderId: string }>();
  cancellations = new Map<string, { orderId: string; reason: string }>();
  alerts = new Map<string, { orderId: string; kind: string; problem: string }>();
  received: Received[] = [];
  faults: Partial<Record<Route, (Fault | undefined)[]>> = {};
  origin = "";
  private counters: Partial<Record<Route, number>> = {};
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => this.handle(req, res, Buffer.concat(chunks).toString()));
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The deps' settings: every base URL with its path, written with a trailing slash or without one. */
  config(trailingSlash: boolean, timeoutMs = 1_000): HttpDepsConfig {
    const base = (path: string) => `${this.origin}${path}${trailingSlash ? "/" : ""}`;
    return {
      paymentsUrl: base(BASE_PATHS.paymentsUrl),
      warehouseUrl: base(BASE_PATHS.warehouseUrl),
      ordersUrl: base(BASE_PATHS.ordersUrl),
      alertsUrl: base(BASE_PATHS.alertsUrl),
      callbackTable: "checkout-callbacks",
      timeoutMs,
    };
  }

  deps(trailingSlash = false) {
    return createHttpDeps(() => this.config(trailingSlash));
  }

  /** The provider settles the payment for this order, and the signed event it then sends (as the webhook would forward it). */
  settle(orderId: string, status: "succeeded" | "failed") {
    const payment = [...this.payments.values()].find((entry) => entry.orderId === orderId);
    if (!payment) throw new Error(`no payment for ${orderId}`);
    payment.status = status;
    return paymentEvent(payment, status === "succeeded" ? "payment.succeeded" : "payment.failed");
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "";
    const [route, key] = routeOf(method, url.pathname);
    this.received.push({
      method,
      path: url.pathname,
      route,
      key: req.headers["idempotency-key"] as string | undefined,
      authorization: req.headers.authorization,
    });
    if (!route) return reply(res, 404, { error: `no route ${method} ${url.pathname}` });
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const idempotencyKey = String(req.headers["idempotency-key"] ?? key ?? "");
    const n = (this.counters[route] = (this.counters[route] ?? 0) + 1);
    const act = () => this.act(route, idempotencyKey, key ?? "", body);
    const fault = this.faults[route]?.[n - 1];
    if (fault) return fault({ act, res });
    const [status, answer] = act();
    reply(res, status, answer);
  }

  private act(route: Route, key: string, pathKey: string, body: Record<string, unknown>): [number, unknown] {
    switch (route) {
      case "pay": {
        let payment = this.payments.get(key);
        if (!payment) {
          payment = {
            paymentId: `pay_${String(body.orderId).replace(/[^A-Za-z0-9]/g, "")}${this.payments.size + 1}`,
            orderId: String(body.orderId),
            amountCents: Number(body.amountCents),
            currency: String(body.currency),
            status: "pending",
          };
          this.payments.set(key, payment);
        }
        return [201, { paymentId: payment.paymentId, status: "pending" }];
      }
      case "look-up": {
        const payment = this.payments.get(pathKey);
        if (!payment) return [404, { error: "no payment for this key" }];
        const status = payment.status === "voided" ? "failed" : payment.status;
        return [200, { status, paymentId: payment.paymentId }];
      }
      case "void": {
        const payment = this.payments.get(pathKey);
        if (!payment) return [404, { error: "no payment for this key" }];
        if (payment.status === "succeeded") return [409, { error: "already captured" }];
        payment.status = "voided";
        return [200, { status: "voided" }];
      }
      case "ship": {
        let shipment = this.shipments.get(key);
        if (!shipment) {
          shipment = { shipmentId: `shp_${this.shipments.size + 1}`, orderId: String(body.orderId) };
          this.shipments.set(key, shipment);
        }
        return [201, { shipmentId: shipment.shipmentId }];
      }
      case "cancel": {
        if (!this.cancellations.has(key))
          this.cancellations.set(key, { orderId: pathKey, reason: String(body.reason) });
        return [204, undefined];
      }
      case "alert": {
        if (!this.alerts.has(key))
          this.alerts.set(key, {
            orderId: String(body.orderId),
            kind: String(body.kind),
            problem: String(body.problem),
          });
        return [202, { accepted: true }];
      }
    }
  }
}

/** The route a request is for, and the key or order id in its path; only under the configured base paths. */
function routeOf(method: string, path: string): [Route | undefined, string | undefined] {
  const under = (base: string, rest: RegExp) => {
    if (!path.startsWith(`${base}/`)) return undefined;
    const match = rest.exec(path.slice(base.length + 1));
    return match ? [decodeURIComponent(match[1] ?? "")] : undefined;
  };
  const payments = BASE_PATHS.paymentsUrl;
  if (method === "POST" && under(payments, /^payments()$/)) return ["pay", undefined];
  const lookUp = method === "GET" ? under(payments, /^payments\/by-key\/([^/]+)$/) : undefined;
  if (lookUp) return ["look-up", lookUp[0]];
  const voided = method === "POST" ? under(payments, /^payments\/by-key\/([^/]+)\/void$/) : undefined;
  if (voided) return ["void", voided[0]];
  if (method === "POST" && under(BASE_PATHS.warehouseUrl, /^shipments()$/)) return ["ship", undefined];
  const cancel = method === "POST" ? under(BASE_PATHS.ordersUrl, /^orders\/([^/]+)\/cancel$/) : undefined;
  if (cancel) return ["cancel", cancel[0]];
  if (method === "POST" && under(BASE_PATHS.alertsUrl, /^alerts()$/)) return ["alert", undefined];
  return [undefined, undefined];
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body));
}

/** The same fault for the first n requests of a route. */
export function every(fault: Fault, n = 10): Fault[] {
  return Array<Fault>(n).fill(fault);
}

/**
 * A provider's bad day, as it reaches our error messages: a 1 MB error body, with newlines and ANSI escapes
 * (which could forge log lines or repaint a terminal) and our own token echoed back.
 */
export function hostileBody(token: string): string {
  const line = `upstream error\n\u001b[31myou sent ${token}\u001b[0m (Authorization: Bearer ${token})\r\ntrace: `;
  return (line + "x".repeat(1000) + "\n").repeat(Math.ceil((1024 * 1024) / (line.length + 1001)));
}

/** Answers `status` with the hostile body, and acts (or not) first. */
export const hostileAnswer =
  (status: number, token: string, acts = false): Fault =>
  ({ act, res }) => {
    if (acts) act();
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(hostileBody(token));
  };
