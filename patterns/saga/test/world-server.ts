import http from "node:http";
import type { AddressInfo } from "node:net";
import type { SimulatedWorld } from "../src/demo";

/**
 * The simulated world of src/demo.ts behind the HTTP contract of the README's Deploy section, on 127.0.0.1 and an
 * ephemeral port: the real HTTP providers and payment gateway talk to it, and the world keeps its own records
 * (held, charged, refunded, confirmed, alerted). Services by first path segment: `flights`, `hotels`, `cars`,
 * `payments` (refunds and the saga's charge look-up), `itineraries`, `operations`, and `gateway` (the payment
 * function's gateway). Every request is recorded, headers included.
 */
export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
/** Answer a request differently (status -1: never answer), or undefined to let the simulated world answer. */
export type Override = (request: Seen) => { status: number; body: string } | undefined;

export async function worldServer(world: SimulatedWorld, override?: Override) {
  const seen: Seen[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const request: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(request);
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(typeof payload === "string" ? payload : JSON.stringify(payload ?? {}));
      };
      const changed = override?.(request);
      if (changed && changed.status < 0) return void hanging.push(res);
      if (changed) return send(changed.status, changed.body);
      worldAnswer(world, request).then(
        // A look-up that finds nothing is a 404; a cancellation, refund or alert that returns nothing is a 200.
        (answer) =>
          answer === undefined && request.method === "GET" ? send(404, { error: "none" }) : send(200, answer),
        (error: { status?: number; message: string }) => send(error.status ?? 500, { error: error.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        hanging.forEach((response) => response.destroy());
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the simulated world answers to one request. */
export async function worldAnswer(world: SimulatedWorld, request: Seen): Promise<unknown> {
  const url = new URL(request.url, "http://127.0.0.1");
  const [service, ...rest] = url.pathname.split("/").filter(Boolean);
  const key = String(request.headers["idempotency-key"] ?? "");
  const parsed = (request.body ? JSON.parse(request.body) : {}) as object;
  /** The request's body and key, as the provider's own call takes them (the saga's HTTP client sent them). */
  const withKey = <T>(extra: object = {}): T => ({ ...parsed, ...extra, idempotencyKey: key }) as T;
  const byKey = { idempotencyKey: url.searchParams.get("idempotencyKey") ?? "" };
  if (service === "flights" || service === "hotels" || service === "cars") {
    const provider = world.deps[service];
    if (request.method === "GET") return provider.find(byKey);
    if (rest[2] === "cancel") {
      return provider.cancel({ reservationId: decodeURIComponent(rest[1]!), idempotencyKey: key });
    }
    return provider.reserve(withKey());
  }
  if (service === "payments") {
    if (request.method === "GET") return world.deps.refunds.findCharge(byKey);
    return world.deps.refunds.refund(withKey({ chargeId: decodeURIComponent(rest[1]!) }));
  }
  if (service === "gateway") {
    if (request.method === "GET") return world.paymentDeps.gateway.findCharge(byKey);
    return world.paymentDeps.gateway.charge(withKey());
  }
  if (service === "itineraries") {
    if (request.method === "GET") {
      return world.deps.itineraries.find({ bookingId: url.searchParams.get("bookingId") ?? "" });
    }
    return world.deps.itineraries.confirm(withKey());
  }
  return world.deps.operations.alert(withKey());
}
