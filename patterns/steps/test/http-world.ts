import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpDeps, type OrderDeps } from "../src";

/**
 * The four services over HTTP, on 127.0.0.1, for the real deps (createHttpDeps) end to end. Like the simulated
 * world, they keep their own records (what is held, charged, shipped, sent) and honour keys as the README's
 * contract says: the inventory, the carrier and the notifier do, the gateway does not (every POST charges).
 *
 * A test plans what a route does on its n-th request with `faults`: a function that may act (do what the
 * service does and get its answer), answer anything, stall, or drop the connection. An undefined entry answers
 * normally: the charge step's look-up before charging is the first "find".
 */
export type Route = "reserve" | "release" | "charge" | "find" | "ship" | "send";
export interface FaultContext {
  /** What the service does for this request, and the answer it would give: [status, body]. */
  act: () => [number, unknown];
  req: http.IncomingMessage;
  res: http.ServerResponse;
}
export type HttpFault = (context: FaultContext) => void;

export class HttpWorld {
  reservations = new Map<string, { reservationId: string; held: boolean }>();
  charges: { chargeId: string; key: string; amountCents: number; currency: string }[] = [];
  shipments = new Map<string, { trackingNumber: string; carrier: string }>();
  sent = new Map<string, unknown>();
  /** Every request that reached a route, with the Authorization header it carried ("" when none). */
  calls: { route: Route; key: string; authorization: string }[] = [];
  faults: Partial<Record<Route, (HttpFault | undefined)[]>> = {};
  base = "";
  private counters: Partial<Record<Route, number>> = {};
  private server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => this.handle(req, res, raw));
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  deps(timeoutMs = 300): OrderDeps {
    return createHttpDeps(() => ({
      inventoryUrl: `${this.base}/inv/`,
      paymentsUrl: `${this.base}/pay/`,
      shippingUrl: `${this.base}/ship/`,
      notificationsUrl: `${this.base}/note/`,
      apiToken: "t0k3n",
      timeoutMs,
    }));
  }

  /**
   * The deployed handler's plain settings for these services (configFromEnv reads them), without trailing slashes:
   * the token is not among them, it comes from Secrets Manager.
   */
  environment(): Record<string, string> {
    return {
      INVENTORY_API_URL: `${this.base}/inv`,
      PAYMENTS_API_URL: `${this.base}/pay`,
      SHIPPING_API_URL: `${this.base}/ship`,
      NOTIFICATIONS_API_URL: `${this.base}/note`,
    };
  }

  /** Stock held: reserved and never released. */
  held(): number {
    return [...this.reservations.values()].filter((reservation) => reservation.held).length;
  }

  reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? "/", "http://x");
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const key = String(req.headers["idempotency-key"] ?? url.searchParams.get("idempotencyKey") ?? "");
    const route = routeOf(url.pathname, req.method);
    if (!route) return this.reply(res, 404, { error: `no route ${url.pathname}` });
    this.calls.push({ route, key, authorization: req.headers.authorization ?? "" });
    const act = (): [number, unknown] => this.act(route, key, body);
    const n = (this.counters[route] = (this.counters[route] ?? 0) + 1);
    const fault = this.faults[route]?.[n - 1];
    if (fault) return fault({ act, req, res });
    const [status, answer] = act();
    this.reply(res, status, answer);
  }

  private act(route: Route, key: string, body: Record<string, unknown>): [number, unknown] {
    switch (route) {
      case "reserve": {
        let reservation = this.reservations.get(key);
        if (!reservation) {
          reservation = { reservationId: `res-${this.reservations.size + 1}`, held: true };
          this.reservations.set(key, reservation);
        }
        const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
        return [201, { reservationId: reservation.reservationId, expiresAt }];
      }
      case "release": {
        const reservation = this.reservations.get(String(body.reservationKey));
        if (reservation) reservation.held = false;
        return [200, {}];
      }
      case "charge": {
        const charge = {
          chargeId: `ch-${this.charges.length + 1}`,
          key,
          amountCents: Number(body.amountCents),
          currency: String(body.currency),
        };
        this.charges.push(charge);
        return [
          201,
          { chargeId: charge.chargeId, amountCents: charge.amountCents, currency: charge.currency },
        ];
      }
      case "find": {
        const charge = this.charges.find((entry) => entry.key === key);
        // The gateway's "none" names the key asked for (README, Deploy).
        if (!charge) return [404, { error: "no charge", idempotencyKey: key }];
        return [
          200,
          { chargeId: charge.chargeId, amountCents: charge.amountCents, currency: charge.currency },
        ];
      }
      case "ship": {
        let shipment = this.shipments.get(key);
        if (!shipment) {
          shipment = { trackingNumber: `TRK-${this.shipments.size + 1}`, carrier: "ACME" };
          this.shipments.set(key, shipment);
        }
        return [201, shipment];
      }
      case "send": {
        if (!this.sent.has(key)) this.sent.set(key, body);
        return [202, {}];
      }
    }
  }
}

/** Each route at its exact path: a call that lost its base URL's path (`/charges`, not `/pay/charges`) is a 404. */
function routeOf(path: string, method: string | undefined): Route | undefined {
  if (path === "/inv/reservations") return "reserve";
  if (path === "/inv/releases") return "release";
  if (path === "/pay/charges") return method === "GET" ? "find" : "charge";
  if (path === "/ship/shipments") return "ship";
  if (path === "/note/messages") return "send";
  return undefined;
}

/** The same fault for the first n requests of a route (after `skip` normal answers). */
export function every(fault: HttpFault, n = 10, skip = 0): (HttpFault | undefined)[] {
  return [...Array<undefined>(skip).fill(undefined), ...Array<HttpFault>(n).fill(fault)];
}
