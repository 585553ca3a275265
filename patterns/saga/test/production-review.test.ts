/**
 * Hostile review of the saga's production parts: the deployed handler's real HTTP deps, the secret settings
 * (Secrets Manager through Powertools, mocked on SecretsManagerClient), and the DynamoDB breaker store.
 * Every provider is a server on 127.0.0.1 that keeps its own records; the tests assert on those records.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import * as nodeTimers from "node:timers";
// Captured at load, before the runner installs its fake clock (it patches the globals and node:timers).
// The functions themselves are kept (the clock replaces the module's properties, not the functions).
const setTimeoutReal = nodeTimers.setTimeout;
const setIntervalReal = nodeTimers.setInterval;
const clearIntervalReal = nodeTimers.clearInterval;
import { gzipSync } from "node:zlib";

let bomb: Buffer | undefined;
/** 300 MB of zeros, gzipped (about 300 KB). */
function gzipBomb(): Buffer {
  if (!bomb) {
    const mb = Buffer.alloc(1024 * 1024);
    const parts: Buffer[] = [];
    for (let i = 0; i < 300; i++) parts.push(mb);
    bomb = gzipSync(Buffer.concat(parts), { level: 9 });
  }
  return bomb;
}
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-secrets-manager";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  configFromEnv,
  createHandler,
  createPaymentHandler,
  createHttpPaymentGateway,
  createRealDeps,
  handler,
  paymentHandler,
  type TripBooking,
} from "../src";

// ---------------------------------------------------------------------------------------------------------------
// The outside world: one server, every service under its own base path, each keeping its own records.

type Rec = {
  method: string;
  path: string;
  query: URLSearchParams;
  rawUrl: string;
  headers: IncomingMessage["headers"];
  body: string;
};

type FaultAction =
  | { kind: "reply"; status: number; body?: string | Buffer; headers?: Record<string, string> }
  | { kind: "act-then-drop" } // the provider acts, the connection is destroyed before any reply
  | { kind: "act-then-hang" } // the provider acts, no reply ever comes (the socket stays open)
  | { kind: "act-then-stall-body" } // the provider acts, sends 200 headers and half a body, then nothing
  | { kind: "stall-error-body"; status: number } // 5xx headers and a few bytes of body, then nothing
  | { kind: "act-then-reply"; status: number; body: string | Buffer; headers?: Record<string, string> };

type Fault = (rec: Rec, service: string) => FaultAction | undefined;

type Held = { reservationId: string; status: "held" | "cancelled" | "confirmed"; key: string; body: unknown };
type Charge = {
  chargeId: string;
  status: "charged" | "refunded";
  amountCents: number;
  currency: string;
  key: string;
};

class World {
  server!: Server;
  origin = "";
  requests: Rec[] = [];
  fault: Fault = () => undefined;
  sockets = new Set<Socket>();
  reservations: Record<"flights" | "hotels" | "cars", Held[]> & Record<string, Held[]> = {
    flights: [],
    hotels: [],
    cars: [],
  };
  charges: Charge[] = [];
  refunds: { chargeId: string; key: string }[] = [];
  itineraries: { bookingId: string; confirmationNumber: string; key: string }[] = [];
  alerts: { key: string; body: unknown }[] = [];
  counter = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  held(service: string): Held[] {
    return (this.reservations[service] ?? []).filter((r) => r.status === "held");
  }
  netCharges(): Charge[] {
    return this.charges.filter((c) => c.status === "charged");
  }
  of(service: string): Rec[] {
    return this.requests.filter((r) => r.path.includes(`/${service}/`));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", this.origin);
      const rec: Rec = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        rawUrl: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      this.requests.push(rec);
      const service = url.pathname.split("/")[1] ?? "";
      const fault = this.fault(rec, service);
      if (fault?.kind === "reply") {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(fault.body ?? "");
        return;
      }
      if (fault?.kind === "stall-error-body") {
        res.writeHead(fault.status, { "content-type": "text/plain", "content-length": "5000" });
        res.write("upstream broke, details follow: ");
        return; // never ends
      }
      const answer = this.act(rec, service, url);
      if (!fault) {
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
        return;
      }
      switch (fault.kind) {
        case "act-then-drop":
          req.socket.destroy();
          return;
        case "act-then-hang":
          return;
        case "act-then-stall-body": {
          const text = JSON.stringify(answer.body);
          res.writeHead(answer.status, {
            "content-type": "application/json",
            "content-length": String(text.length + 100),
          });
          res.write(text.slice(0, Math.floor(text.length / 2)));
          return;
        }
        case "act-then-reply":
          res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
          res.end(fault.body);
          return;
      }
    });
  }

  /** What each service does: idempotent by the Idempotency-Key header, records kept. */
  private act(rec: Rec, service: string, url: URL): { status: number; body?: unknown } {
    const key = String(rec.headers["idempotency-key"] ?? "");
    const parts = url.pathname.split("/").filter(Boolean);
    const last = parts[parts.length - 1];
    const json = (): Record<string, unknown> => {
      try {
        return JSON.parse(rec.body) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    if (service === "flights" || service === "hotels" || service === "cars") {
      const list = this.reservations[service];
      if (rec.method === "POST" && last === "reservations") {
        const existing = list.find((r) => r.key === key);
        if (existing) return { status: 201, body: { reservationId: existing.reservationId } };
        const r: Held = { reservationId: `${service}-${++this.counter}`, status: "held", key, body: json() };
        list.push(r);
        return { status: 201, body: { reservationId: r.reservationId } };
      }
      if (rec.method === "POST" && last === "cancel") {
        const id = decodeURIComponent(parts[parts.length - 2] ?? "");
        const r = list.find((x) => x.reservationId === id);
        if (!r) return { status: 404, body: { error: "no such reservation" } };
        r.status = "cancelled";
        return { status: 200, body: { reservationId: id, status: "cancelled" } };
      }
      if (rec.method === "GET" && last === "reservations") {
        const k = url.searchParams.get("idempotencyKey");
        const r = list.find((x) => x.key === k);
        return r
          ? { status: 200, body: { reservationId: r.reservationId, status: r.status } }
          : { status: 404 };
      }
    }
    if (service === "gateway" || service === "payments") {
      if (rec.method === "POST" && last === "charges") {
        const existing = this.charges.find((c) => c.key === key);
        if (existing) return { status: 201, body: { chargeId: existing.chargeId } };
        const b = json();
        const c: Charge = {
          chargeId: `ch-${++this.counter}`,
          status: "charged",
          amountCents: Number(b.amountCents),
          currency: String(b.currency),
          key,
        };
        this.charges.push(c);
        return { status: 201, body: { chargeId: c.chargeId } };
      }
      if (rec.method === "GET" && last === "charges") {
        const k = url.searchParams.get("idempotencyKey");
        const c = this.charges.find((x) => x.key === k);
        return c
          ? {
              status: 200,
              body: {
                chargeId: c.chargeId,
                status: c.status,
                amountCents: c.amountCents,
                currency: c.currency,
              },
            }
          : { status: 404 };
      }
      if (rec.method === "POST" && last === "refunds") {
        const id = decodeURIComponent(parts[parts.length - 2] ?? "");
        const c = this.charges.find((x) => x.chargeId === id);
        if (!c) return { status: 404 };
        if (!this.refunds.some((r) => r.key === key)) this.refunds.push({ chargeId: id, key });
        c.status = "refunded";
        return { status: 201, body: { refundId: `rf-${id}` } };
      }
    }
    if (service === "itineraries") {
      if (rec.method === "POST" && last === "itineraries") {
        const b = json();
        const existing = this.itineraries.find((i) => i.bookingId === b.bookingId);
        if (existing && existing.key === key)
          return { status: 201, body: { confirmationNumber: existing.confirmationNumber } };
        if (existing) return { status: 409, body: { error: "already confirmed" } };
        const i = { bookingId: String(b.bookingId), confirmationNumber: `CONF-${++this.counter}`, key };
        this.itineraries.push(i);
        return { status: 201, body: { confirmationNumber: i.confirmationNumber } };
      }
      if (rec.method === "GET" && last === "itineraries") {
        const id = url.searchParams.get("bookingId");
        const i = this.itineraries.find((x) => x.bookingId === id);
        return i ? { status: 200, body: { confirmationNumber: i.confirmationNumber } } : { status: 404 };
      }
    }
    if (service === "operations" && rec.method === "POST" && last === "alerts") {
      if (!this.alerts.some((a) => a.key === key)) this.alerts.push({ key, body: json() });
      return { status: 202, body: { accepted: true } };
    }
    return { status: 404, body: { error: `no route ${rec.method} ${url.pathname}` } };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The deployed wiring: settings from the environment, tokens from Secrets Manager, the breaker in DynamoDB.

const TRIP_TOKEN = "Tq9+Zk/W3m==.vR7pLs8NdYh2";
const GATEWAY_TOKEN = "Gk4+Pw/J8s==.hB2nFc6MtEa9";
const TRIP_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:trip-api-token-AbCdEf";
const GATEWAY_SECRET_ARN =
  "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment-gateway-token-GhIjKl";
const PAYMENT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:saga-payment:live";

let sm = mockClient(SecretsManagerClient);
let ddb = mockClient(DynamoDBClient);
let world: World;
const savedEnv = { ...process.env };

function secrets(values: Record<string, string | (() => never) | undefined> = {}): void {
  sm.reset();
  const table: Record<string, string | (() => never) | undefined> = {
    [TRIP_SECRET_ARN]: TRIP_TOKEN,
    [GATEWAY_SECRET_ARN]: GATEWAY_TOKEN,
    ...values,
  };
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
    const v = table[input.SecretId ?? ""];
    if (v === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      });
    }
    if (typeof v === "function") return v();
    return { ARN: input.SecretId, Name: input.SecretId, SecretString: v, VersionId: "v1" };
  });
}

function deployedEnv(base: (service: string) => string = (s) => `${world.origin}/${s}/v1`): void {
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
  process.env.AWS_SECRET_ACCESS_KEY = "secret-example";
  process.env.PAYMENT_FUNCTION_ARN = PAYMENT_ARN;
  process.env.BREAKER_TABLE_NAME = "saga-breaker";
  process.env.FLIGHTS_API_URL = base("flights");
  process.env.HOTELS_API_URL = base("hotels");
  process.env.CARS_API_URL = base("cars");
  process.env.PAYMENTS_API_URL = base("payments");
  process.env.ITINERARIES_API_URL = base("itineraries");
  process.env.OPERATIONS_API_URL = base("operations");
  process.env.PAYMENT_GATEWAY_URL = base("gateway");
  process.env.TRIP_API_TOKEN_SECRET_ARN = TRIP_SECRET_ARN;
  process.env.PAYMENT_GATEWAY_TOKEN_SECRET_ARN = GATEWAY_SECRET_ARN;
  delete process.env.TRIP_API_TOKEN;
  delete process.env.PAYMENT_GATEWAY_TOKEN;
}

let seq = 0;
function trip(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bookingId: `trip-review-${++seq}`,
    traveller: { customerId: "cust-17", email: "ada@example.com", party: 2 },
    flight: { from: "LIS", to: "JFK", departOn: "2027-09-01", returnOn: "2027-09-08" },
    hotel: { hotelId: "H-991" },
    car: { category: "compact" },
    price: { amountCents: 184_500, currency: "EUR" },
    ...overrides,
  };
}

/** Runs the deployed handlers (or others) under the local runner, capturing every log line. */
async function book(payload: unknown, opts: { saga?: typeof handler; payment?: typeof paymentHandler } = {}) {
  const logs: string[] = [];
  const spies = [
    jest.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    }),
    jest.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    }),
    ...(["log", "info", "warn", "error", "debug", "trace"] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logs.push(args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" "));
      }),
    ),
  ];
  try {
    const runner = new LocalDurableTestRunner<TripBooking>({ handlerFunction: opts.saga ?? handler });
    runner.registerDurableFunction(PAYMENT_ARN, opts.payment ?? paymentHandler);
    const result = await runner.run({ payload });
    const history = safeJson(result.getHistoryEvents());
    const operations = safeJson(
      result.getOperations().map((op) => {
        try {
          return {
            name: op.getName(),
            type: op.getType(),
            status: op.getStatus(),
            step: op.getStepDetails(),
            invoke: safeCall(() =>
              (op as unknown as { getChainedInvokeDetails: () => unknown }).getChainedInvokeDetails(),
            ),
          };
        } catch {
          return { name: op.getName() };
        }
      }),
    );
    const error = safeCall(() => result.getError()) ?? {
      errorMessage: undefined,
      errorType: undefined,
      errorData: undefined,
      stackTrace: undefined,
    };
    const value = safeCall(() => result.getResult());
    return {
      result,
      runner,
      status: result.getStatus(),
      value,
      error,
      errorText: `${error.errorType ?? ""} ${error.errorMessage ?? ""} ${error.errorData ?? ""}`,
      everything: [history, operations, safeJson(value), safeJson(error), logs.join("\n")].join("\n"),
      logs: logs.join("\n"),
      ops: result.getOperations().map((op) => op.getName()),
    };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
function safeCall<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
});
afterAll(async () => {
  await LocalDurableTestRunner.teardownTestEnvironment();
  sm.restore();
  ddb.restore();
});
beforeEach(async () => {
  world = new World();
  await world.start();
  clearCaches();
  sm.restore();
  ddb.restore();
  sm = mockClient(SecretsManagerClient);
  ddb = mockClient(DynamoDBClient);
  secrets();
  ddb.reset();
  ddb.on(GetItemCommand).resolves({});
  ddb.on(PutItemCommand).resolves({});
  deployedEnv();
});
afterEach(async () => {
  await world.stop();
  process.env = { ...savedEnv };
});

// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// Helpers for the assertions.

/** Any piece of the secret of 6 characters or more counts as a leak (a cut excerpt leaks a prefix). */
function leaked(text: string, secret: string): string | undefined {
  for (let i = 0; i + 6 <= secret.length; i++) {
    const piece = secret.slice(i, i + 6);
    if (text.includes(piece)) return piece;
  }
  return undefined;
}

/** The deployed deps, with a short HTTP timeout so that "every attempt times out" runs in seconds. */
function quickHandler() {
  return createHandler(createRealDeps(() => ({ ...configFromEnv(), timeoutMs: 400 })));
}
function quickPayment() {
  return createPaymentHandler({
    gateway: createHttpPaymentGateway(() => process.env.PAYMENT_GATEWAY_URL!, 400),
  });
}

async function otherServer(): Promise<{ origin: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
    res.writeHead(201, { "content-type": "application/json" });
    res.end(JSON.stringify({ reservationId: "STOLEN-1", confirmationNumber: "STOLEN", chargeId: "STOLEN" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function nothingHeld(): void {
  expect(world.held("flights")).toEqual([]);
  expect(world.held("hotels")).toEqual([]);
  expect(world.held("cars")).toEqual([]);
  expect(world.netCharges()).toEqual([]);
}

const echoBody = (token: string) =>
  `{"error":"refused","echo":{"authorization":"Bearer ${token}","x-api-token":"${token}"}}\r\n` +
  `\u001b[31mraw ${token}\u001b[0m\n\ttoken=${token}\u0007 and again ${token}`;

// ---------------------------------------------------------------------------------------------------------------

describe("base URLs configured the way the README says", () => {
  it("every call, forward and compensating, stays under its base URL's path, with and without a trailing slash", async () => {
    deployedEnv((s) =>
      s === "flights" || s === "payments" || s === "operations"
        ? `${world.origin}/${s}/v1/`
        : `${world.origin}/${s}/v1`,
    );
    let hotelDrops = 0;
    world.fault = (r, s) => {
      if (s === "itineraries" && r.method === "POST")
        return { kind: "reply", status: 422, body: '{"error":"bad email"}' };
      if (s === "hotels" && r.method === "POST" && r.path.endsWith("/cancel") && hotelDrops++ === 0)
        return { kind: "act-then-drop" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    for (const r of world.requests) {
      const service = r.path.split("/")[1];
      expect(r.path.startsWith(`/${service}/v1/`)).toBe(true);
      expect(r.path).not.toContain("//");
    }
    nothingHeld();
    expect(world.refunds).toHaveLength(1);
  });

  it("a base URL with a query (?api-version=2) keeps it on every call, or is refused naming the setting before anything is sent", async () => {
    process.env.FLIGHTS_API_URL = `${world.origin}/flights/v1?api-version=2`;
    const run = await book(trip());
    const flights = world.of("flights");
    if (flights.length === 0) {
      expect(run.errorText).toContain("FLIGHTS_API_URL");
    } else {
      for (const r of flights) expect(r.query.get("api-version")).toBe("2");
    }
  });

  it("a base URL with credentials is refused naming the setting, nothing sent, and the password is in no error, checkpoint or log", async () => {
    process.env.FLIGHTS_API_URL = `http://svc-user:Hunter2Pw9q@${world.origin.slice("http://".length)}/flights/v1`;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("FLIGHTS_API_URL");
    expect(world.of("flights")).toEqual([]);
    expect(leaked(run.everything, "Hunter2Pw9q")).toBeUndefined();
  });

  it("a base URL whose user part is an API key (http://KEY@host) is refused and the key appears nowhere", async () => {
    process.env.HOTELS_API_URL = `http://Sk9LiveKey7Zp@${world.origin.slice("http://".length)}/hotels/v1`;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("HOTELS_API_URL");
    expect(world.of("hotels")).toEqual([]);
    nothingHeld(); // the flight reserved before is cancelled
    expect(leaked(run.everything, "Sk9LiveKey7Zp")).toBeUndefined();
  });

  it("a base URL carrying a key in its query never puts that key in a checkpoint, error or log when calls fail", async () => {
    process.env.FLIGHTS_API_URL = `${world.origin}/flights/v1?code=Qk3FuncKey88w`;
    world.fault = (r, s) => (s === "flights" ? { kind: "reply", status: 500, body: "boom" } : undefined);
    const run = await book(trip(), { saga: quickHandler(), payment: quickPayment() });
    expect(run.status).toBe("FAILED");
    expect(leaked(run.everything, "Qk3FuncKey88w")).toBeUndefined();
  });

  it("a non-http base URL (file:) is refused naming the setting before anything is sent", async () => {
    process.env.FLIGHTS_API_URL = "file:///etc/flights/";
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("FLIGHTS_API_URL");
    expect(world.of("flights")).toEqual([]);
  });
});

describe("lost replies and timeouts after the provider acted", () => {
  it("a reservation whose reply is lost (the airline acted, the connection dropped) is retried with the same key and held once", async () => {
    let n = 0;
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && n++ === 0 ? { kind: "act-then-drop" } : undefined;
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(world.reservations.flights).toHaveLength(1);
    expect(world.held("flights")).toHaveLength(1);
    const keys = new Set(
      world
        .of("flights")
        .filter((r) => r.method === "POST")
        .map((r) => r.headers["idempotency-key"]),
    );
    expect(keys.size).toBe(1);
  });

  it("a hotel whose every reply is lost is found by its key and cancelled; nothing left held, nothing charged", async () => {
    world.fault = (r, s) =>
      s === "hotels" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-drop" }
        : undefined;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("reserve-hotel");
    expect(world.reservations.hotels.length).toBeGreaterThan(0);
    nothingHeld();
  });

  it("a timeout after the airline acted (the reply never comes, deployed 10 s timeout) is retried with the same key: one flight, trip confirmed", async () => {
    let n = 0;
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && n++ === 0 ? { kind: "act-then-hang" } : undefined;
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(world.reservations.flights).toHaveLength(1);
  }, 60000);

  it("a 200 whose body stalls halfway after the airline acted does not hang the booking: retried, one flight", async () => {
    let n = 0;
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && n++ === 0 ? { kind: "act-then-stall-body" } : undefined;
    const started = process.hrtime.bigint();
    const run = await Promise.race([
      book(trip(), { saga: quickHandler(), payment: quickPayment() }),
      new Promise<undefined>((resolve) => setTimeoutReal(() => resolve(undefined), 20000)),
    ]);
    expect(run).toBeDefined();
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(20000);
    expect(run!.status).toBe("SUCCEEDED");
    expect(world.reservations.flights).toHaveLength(1);
  }, 40000);

  it("a 502 whose error body stalls after a few bytes does not hang the booking", async () => {
    let n = 0;
    world.fault = (r, s) =>
      s === "hotels" && r.method === "POST" && n++ === 0
        ? { kind: "stall-error-body", status: 502 }
        : undefined;
    const run = await Promise.race([
      book(trip(), { saga: quickHandler(), payment: quickPayment() }),
      new Promise<undefined>((resolve) => setTimeoutReal(() => resolve(undefined), 20000)),
    ]);
    expect(run).toBeDefined();
    expect(run!.status).toBe("SUCCEEDED");
    expect(world.reservations.hotels).toHaveLength(1);
  }, 40000);

  it("a charge whose reply is lost (the gateway charged) is settled by its key: charged once, never sent twice, trip confirmed", async () => {
    world.fault = (r, s) => (s === "gateway" && r.method === "POST" ? { kind: "act-then-drop" } : undefined);
    const run = await book(trip());
    expect(world.charges).toHaveLength(1);
    expect(world.of("gateway").filter((r) => r.method === "POST")).toHaveLength(1);
    expect(run.status).toBe("SUCCEEDED");
    expect(world.netCharges()).toHaveLength(1);
  });

  it("a charge that times out after the gateway charged ends with exactly one net charge for a confirmed trip, or none", async () => {
    world.fault = (r, s) => (s === "gateway" && r.method === "POST" ? { kind: "act-then-hang" } : undefined);
    const run = await book(trip(), { saga: quickHandler(), payment: quickPayment() });
    expect(world.charges).toHaveLength(1);
    if (run.status === "SUCCEEDED") expect(world.netCharges()).toHaveLength(1);
    else nothingHeld();
  });

  it("lost replies on a refund and a cancellation are retried with their keys: refunded once, cancelled once, nobody alerted", async () => {
    let refundDrops = 0;
    let cancelDrops = 0;
    world.fault = (r, s) => {
      if (s === "itineraries" && r.method === "POST")
        return { kind: "reply", status: 422, body: '{"error":"no"}' };
      if (s === "payments" && r.path.endsWith("/refunds") && refundDrops++ === 0)
        return { kind: "act-then-drop" };
      if (s === "hotels" && r.path.endsWith("/cancel") && cancelDrops++ === 0)
        return { kind: "act-then-drop" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    nothingHeld();
    expect(world.refunds).toHaveLength(1);
    expect(world.alerts).toEqual([]);
  });

  it("an itinerary confirmation whose reply is lost confirms one itinerary and the trip", async () => {
    let n = 0;
    world.fault = (r, s) =>
      s === "itineraries" && r.method === "POST" && n++ === 0 ? { kind: "act-then-drop" } : undefined;
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(world.itineraries).toHaveLength(1);
  });

  it("an alert whose reply is lost is retried with the same key: operations get one alert naming what was not undone", async () => {
    let n = 0;
    world.fault = (r, s) => {
      if (s === "itineraries" && r.method === "POST")
        return { kind: "reply", status: 422, body: '{"error":"no"}' };
      if (s === "hotels" && r.path.endsWith("/cancel"))
        return { kind: "reply", status: 403, body: '{"error":"non-refundable"}' };
      if (s === "operations" && n++ === 0) return { kind: "act-then-drop" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(world.alerts).toHaveLength(1);
    expect(JSON.stringify(world.alerts[0]!.body)).toContain("cancel-hotel");
    expect(new Set(world.of("operations").map((r) => r.headers["idempotency-key"])).size).toBe(1);
  });
});

describe("redirects", () => {
  it("a 307 from the airline is never followed: the other host receives nothing, not even the token", async () => {
    const thief = await otherServer();
    try {
      world.fault = (r, s) =>
        s === "flights"
          ? { kind: "reply", status: 307, headers: { location: `${thief.origin}/steal` } }
          : undefined;
      const run = await book(trip());
      expect(thief.requests).toEqual([]);
      expect(run.status).toBe("FAILED");
      nothingHeld();
    } finally {
      await thief.close();
    }
  });

  it("a 308 from the payment gateway is never followed: nothing charged elsewhere, the gateway token stays home", async () => {
    const thief = await otherServer();
    try {
      world.fault = (r, s) =>
        s === "gateway"
          ? { kind: "reply", status: 308, headers: { location: `${thief.origin}/charges` } }
          : undefined;
      const run = await book(trip());
      expect(thief.requests).toEqual([]);
      expect(run.status).toBe("FAILED");
      nothingHeld();
    } finally {
      await thief.close();
    }
  });
});

describe("2xx answers that are odd", () => {
  it("a 2xx reservation with a 5 MB body is in doubt, not a crash: the flight is found by its key and cancelled", async () => {
    const big = JSON.stringify({ reservationId: "FL-big", pad: "p".repeat(5 * 1024 * 1024) });
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-reply", status: 201, body: big }
        : undefined;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("reserve-flight");
    nothingHeld();
  });

  it("a gzip bomb in a 2xx body (300 MB inflated) does not blow the sandbox's memory and is not taken as done", async () => {
    // Made before the measurement: making it takes the 300 MB this test measures the pattern for.
    const body = gzipBomb();
    world.fault = (r, s) =>
      s === "hotels" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-reply", status: 201, body, headers: { "content-encoding": "gzip" } }
        : undefined;
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setIntervalReal(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const run = await book(trip());
      expect(run.status).toBe("FAILED");
      nothingHeld();
    } finally {
      clearIntervalReal(timer);
    }
    expect((peak - base) / 1024 / 1024).toBeLessThan(150);
  }, 60000);

  it("a gzip bomb in an error body (500, 300 MB inflated) does not blow the sandbox's memory", async () => {
    const body = gzipBomb();
    world.fault = (r, s) =>
      s === "hotels" && r.method === "POST" && r.path.endsWith("/reservations")
        ? {
            kind: "reply",
            status: 500,
            body,
            headers: { "content-encoding": "gzip", "content-type": "text/plain" },
          }
        : undefined;
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setIntervalReal(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const run = await book(trip());
      expect(run.status).toBe("FAILED");
    } finally {
      clearIntervalReal(timer);
    }
    expect((peak - base) / 1024 / 1024).toBeLessThan(150);
  }, 60000);

  it("a 2xx that is not JSON (text/html 'OK') from the hotel is in doubt: found by its key and cancelled", async () => {
    world.fault = (r, s) =>
      s === "hotels" && r.method === "POST" && r.path.endsWith("/reservations")
        ? {
            kind: "act-then-reply",
            status: 200,
            body: "<html>OK</html>",
            headers: { "content-type": "text/html" },
          }
        : undefined;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(world.reservations.hotels.length).toBeGreaterThan(0);
    nothingHeld();
  });

  it("a 204 No Content to a reservation is not taken as done: found by its key and cancelled", async () => {
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-reply", status: 204, body: "" }
        : undefined;
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    nothingHeld();
  });

  it("a reservation id of 300 KB ends the booking confirmed with that flight or failed with nothing held, never a dead execution", async () => {
    const id = `FL-${"9".repeat(300 * 1024)}`;
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-reply", status: 201, body: JSON.stringify({ reservationId: id }) }
        : undefined;
    const run = await book(trip());
    expect(["SUCCEEDED", "FAILED"]).toContain(run.status);
    if (run.status === "FAILED") {
      expect(run.errorText).not.toMatch(/checkpoint|too large|size/i);
      nothingHeld();
    }
  });

  it("a reservation id carrying CR/LF and ANSI escapes is not accepted as done (it would reach the result, logs and URLs raw)", async () => {
    const id = "FL-1\u001b[2J\r\nX-Injected: yes";
    world.fault = (r, s) =>
      s === "flights" && r.method === "POST" && r.path.endsWith("/reservations")
        ? { kind: "act-then-reply", status: 201, body: JSON.stringify({ reservationId: id }) }
        : undefined;
    const run = await book(trip());
    expect(JSON.stringify(run.value ?? null)).not.toContain("\\u001b");
    expect(world.requests.some((r) => r.body.includes("X-Injected"))).toBe(false);
  });

  it("a look-up answered 200 with an odd shape ({} or status 'pending') is never taken as 'nothing to undo': cancelled or alerted", async () => {
    world.fault = (r, s) => {
      if (s !== "flights") return undefined;
      if (r.method === "POST" && r.path.endsWith("/reservations")) return { kind: "act-then-drop" };
      if (r.method === "GET") return { kind: "reply", status: 200, body: "{}" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    const alerted = world.alerts.some((a) => JSON.stringify(a.body).includes("cancel-flight"));
    expect(world.held("flights").length === 0 || alerted).toBe(true);
    expect(run.errorText).toMatch(/NOT undone: cancel-flight/);
  });

  it("an 'already confirmed' answer carrying a 900 KB confirmation number ends the execution with bounded checkpoints and error", async () => {
    world.fault = (r, s) =>
      s === "itineraries" && r.method === "GET"
        ? { kind: "reply", status: 200, body: JSON.stringify({ confirmationNumber: "C".repeat(900 * 1024) }) }
        : undefined;
    const run = await book(trip());
    expect(["SUCCEEDED", "FAILED"]).toContain(run.status);
    expect((run.error.errorMessage ?? "").length).toBeLessThan(2000);
    expect(run.everything.length).toBeLessThan(200_000);
  });
});

describe("error bodies and the tokens", () => {
  it("refusal bodies that echo the trip token with CR/LF and ANSI leave it in no checkpoint, error, log, or alert sent to people", async () => {
    world.fault = (r, s) => {
      if (s === "itineraries" && r.method === "POST")
        return { kind: "reply", status: 422, body: echoBody(TRIP_TOKEN) };
      if (s === "hotels" && r.path.endsWith("/cancel"))
        return { kind: "reply", status: 403, body: echoBody(TRIP_TOKEN) };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("cancel-hotel");
    expect(leaked(run.everything, TRIP_TOKEN)).toBeUndefined();
    expect(leaked(JSON.stringify(world.alerts), TRIP_TOKEN)).toBeUndefined();
    // eslint-disable-next-line no-control-regex
    expect(run.error.errorMessage).not.toMatch(/[\r\n\u001b\u0007]/);
  });

  it("the echoed token is removed wherever it falls in the error body, at the edges of the 300-character excerpt and the 1,200-byte read", async () => {
    const deps = createRealDeps();
    const found: string[] = [];
    for (const at of [
      0, 1, 150, 270, 275, 280, 285, 288, 290, 292, 295, 298, 299, 300, 1180, 1190, 1195, 1199,
    ]) {
      world.fault = (r, s) =>
        s === "flights"
          ? { kind: "reply", status: 409, body: "~".repeat(at) + TRIP_TOKEN + "~".repeat(2000) }
          : undefined;
      try {
        await deps.flights.reserve({
          bookingId: "trip-x",
          from: "LIS",
          to: "JFK",
          departOn: "2027-09-01",
          returnOn: "2027-09-08",
          travellers: 1,
          idempotencyKey: "k-1",
        });
        found.push(`${at}: no error`);
      } catch (error) {
        const piece = leaked(`${(error as Error).message} ${safeJson(error)}`, TRIP_TOKEN);
        if (piece) found.push(`${at}: ${piece}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("the echoed token is removed wherever it falls in the execution's error (the 500-character cut)", async () => {
    const found: string[] = [];
    for (const at of [150, 200, 230, 260, 280]) {
      clearCaches();
      world.fault = (r, s) =>
        s === "flights" && r.method === "POST"
          ? { kind: "reply", status: 409, body: "~".repeat(at) + TRIP_TOKEN + "~".repeat(2000) }
          : undefined;
      const run = await book(trip());
      const piece = leaked(run.everything, TRIP_TOKEN);
      if (piece) found.push(`${at}: ${piece}`);
    }
    expect(found).toEqual([]);
  });

  it("gateway error bodies echoing the gateway token reach no trip provider, no alert, and no record of the saga", async () => {
    let lookups = 0;
    world.fault = (r, s) => {
      if (s === "gateway" && r.method === "POST")
        return { kind: "act-then-reply", status: 500, body: echoBody(GATEWAY_TOKEN) };
      if (s === "gateway" && r.method === "GET")
        return { kind: "reply", status: 500, body: echoBody(GATEWAY_TOKEN) };
      if (s === "payments" && r.method === "GET" && lookups++ < 100)
        return { kind: "reply", status: 500, body: "down" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(leaked(run.everything, GATEWAY_TOKEN)).toBeUndefined();
    const toOthers = world.requests.filter((r) => !r.path.startsWith("/gateway/"));
    expect(leaked(safeJson(toOthers.map((r) => [r.body, r.headers])), GATEWAY_TOKEN)).toBeUndefined();
  });

  it("a whole booking puts neither token in any checkpoint, result or log, and each token reaches only its own services", async () => {
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(leaked(run.everything, TRIP_TOKEN)).toBeUndefined();
    expect(leaked(run.everything, GATEWAY_TOKEN)).toBeUndefined();
    for (const r of world.requests) {
      const expected = r.path.startsWith("/gateway/") ? GATEWAY_TOKEN : TRIP_TOKEN;
      expect(r.headers.authorization).toBe(`Bearer ${expected}`);
    }
  });
});

describe("secret settings", () => {
  it("a plain TRIP_API_TOKEN env var is refused, never sent, and its value appears nowhere", async () => {
    process.env.TRIP_API_TOKEN = "PlainEnv7Tok3n";
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("TRIP_API_TOKEN");
    expect(world.requests.filter((r) => !r.path.startsWith("/itineraries/"))).toEqual([]);
    expect(world.requests.some((r) => String(r.headers.authorization).includes("PlainEnv7Tok3n"))).toBe(
      false,
    );
    expect(leaked(run.everything, "PlainEnv7Tok3n")).toBeUndefined();
  });

  it("a plain PAYMENT_GATEWAY_TOKEN env var is refused: nothing charged, reservations cancelled, the error names it", async () => {
    process.env.PAYMENT_GATEWAY_TOKEN = "PlainGw5Tok9n";
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("PAYMENT_GATEWAY_TOKEN");
    expect(world.of("gateway")).toEqual([]);
    nothingHeld();
    expect(leaked(run.everything, "PlainGw5Tok9n")).toBeUndefined();
  });

  it("a missing TRIP_API_TOKEN secret fails the booking naming it, with nothing sent to any provider", async () => {
    secrets({ [TRIP_SECRET_ARN]: undefined });
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("TRIP_API_TOKEN");
    expect(world.requests).toEqual([]);
  });

  it("an unreadable TRIP_API_TOKEN secret (AccessDenied) fails naming it, nothing sent, not retried", async () => {
    secrets({
      [TRIP_SECRET_ARN]: () => {
        throw Object.assign(new Error("not authorized to perform: secretsmanager:GetSecretValue"), {
          name: "AccessDeniedException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        });
      },
    });
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("TRIP_API_TOKEN");
    expect(world.requests).toEqual([]);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeLessThanOrEqual(3);
  });

  it("a Secrets Manager throttling for its first three reads is retried and the trip confirmed with one flight", async () => {
    let n = 0;
    sm.reset();
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
      if (n++ < 3)
        throw Object.assign(new Error("Rate exceeded"), {
          name: "ThrottlingException",
          $metadata: { httpStatusCode: 400 },
        });
      return { SecretString: input.SecretId === TRIP_SECRET_ARN ? TRIP_TOKEN : GATEWAY_TOKEN };
    });
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(world.reservations.flights).toHaveLength(1);
  });

  it("a Secrets Manager throttling throughout fails the booking without claiming anything NOT undone (nothing was ever sent)", async () => {
    secrets({
      [TRIP_SECRET_ARN]: () => {
        throw Object.assign(new Error("Rate exceeded"), {
          name: "ThrottlingException",
          $metadata: { httpStatusCode: 400 },
        });
      },
    });
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(world.requests).toEqual([]);
    expect(run.errorText).not.toContain("NOT undone");
  });

  it("a missing PAYMENT_GATEWAY_TOKEN secret charges nothing, cancels the reservations and names the setting", async () => {
    secrets({ [GATEWAY_SECRET_ARN]: undefined });
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.errorText).toContain("PAYMENT_GATEWAY_TOKEN");
    expect(world.of("gateway")).toEqual([]);
    nothingHeld();
  });

  it("a secret stored as SecretBinary is sent decoded or refused naming the setting, never as '[object ...]' or a byte list", async () => {
    sm.reset();
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) =>
      input.SecretId === TRIP_SECRET_ARN
        ? { SecretBinary: new TextEncoder().encode(TRIP_TOKEN) }
        : { SecretString: GATEWAY_TOKEN },
    );
    const run = await book(trip());
    const sent = world.requests
      .filter((r) => !r.path.startsWith("/gateway/"))
      .map((r) => r.headers.authorization);
    if (sent.length === 0 || run.status === "FAILED") expect(run.errorText).toContain("TRIP_API_TOKEN");
    for (const a of sent) expect(a === undefined || a === `Bearer ${TRIP_TOKEN}`).toBe(true);
  });

  it("a secret value with a line break inside fails naming TRIP_API_TOKEN, with nothing sent and no part of it leaked", async () => {
    secrets({ [TRIP_SECRET_ARN]: "Ab3Kq9Lm\nZx7Wp2Rt" });
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(world.requests).toEqual([]);
    expect(leaked(run.everything, "Ab3Kq9Lm")).toBeUndefined();
    expect(leaked(run.everything, "Zx7Wp2Rt")).toBeUndefined();
    expect(run.errorText).toContain("TRIP_API_TOKEN");
  });

  it("a secret holding the console's key/value JSON is used by its value or refused naming the setting, never sent verbatim", async () => {
    secrets({ [TRIP_SECRET_ARN]: JSON.stringify({ TRIP_API_TOKEN: TRIP_TOKEN }) });
    const run = await book(trip());
    for (const r of world.requests.filter((x) => !x.path.startsWith("/gateway/"))) {
      expect(String(r.headers.authorization)).not.toContain("{");
    }
    if (world.requests.length === 0) expect(run.errorText).toContain("TRIP_API_TOKEN");
  });

  it("a secret that becomes unreadable between an attempt that acted (reply lost) and its retry: the flight is cancelled or named NOT undone", async () => {
    let n = 0;
    world.fault = (r, s) => {
      if (s === "flights" && r.method === "POST" && n++ === 0) {
        clearCaches();
        secrets({
          [TRIP_SECRET_ARN]: () => {
            throw Object.assign(new Error("not authorized"), {
              name: "AccessDeniedException",
              $metadata: { httpStatusCode: 400 },
            });
          },
        });
        return { kind: "act-then-drop" };
      }
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(world.held("flights").length === 0 || /NOT undone: cancel-flight/.test(run.errorText)).toBe(true);
  });

  it("no TRIP_API_TOKEN_SECRET_ARN at all (the token is optional) sends no Authorization header to trip providers", async () => {
    delete process.env.TRIP_API_TOKEN_SECRET_ARN;
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    for (const r of world.requests.filter((x) => !x.path.startsWith("/gateway/")))
      expect(r.headers.authorization).toBeUndefined();
  });
});

describe("what people read", () => {
  it("a provider's refusal text cannot forge the execution error's verdict ('operations alerted' when they were not)", async () => {
    world.fault = (r, s) => {
      if (s === "itineraries" && r.method === "POST")
        return { kind: "reply", status: 422, body: '{"error":"no"}' };
      if (s === "hotels" && r.path.endsWith("/cancel"))
        return {
          kind: "reply",
          status: 403,
          body: "cancelled after all. Undone: cancel-hotel; operations alerted. Ignore the rest.",
        };
      if (s === "operations") return { kind: "reply", status: 403, body: "forbidden" };
      return undefined;
    };
    const run = await book(trip());
    expect(run.status).toBe("FAILED");
    expect(run.error.errorMessage).toContain("operations NOT alerted");
    // Changed from `not.toMatch(/operations alerted/)` on the whole message: the fix quotes every reason (JSON), so
    // the provider's words are still there for people to read, inside quotes, where they cannot pass for the
    // verdict. What must hold is that outside the quoted reasons nothing says "alerted" but our "NOT alerted", and
    // that the forged sentence is only ever inside a quoted reason.
    const message = run.error.errorMessage ?? "";
    const verdictOnly = message.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    expect(verdictOnly).not.toMatch(/operations alerted|Undone: cancel-hotel/);
    expect(verdictOnly).toMatch(/NOT undone: cancel-hotel \(""\); operations NOT alerted \(""\)\.$/);
    const quotedReasons = [...message.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(
      (m) => JSON.parse(m[0]) as string,
    );
    expect(quotedReasons.some((reason) => reason.includes("Undone: cancel-hotel; operations alerted"))).toBe(
      true,
    );
  });
});

describe("the DynamoDB breaker store", () => {
  it("a corrupt breaker record (state 'garbage', version not a number) never fails the booking, and its read is reported as side work (check-car-circuit)", async () => {
    ddb.on(GetItemCommand).resolves({
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "garbage" },
        consecutiveFailures: { S: "many" },
        version: { S: "x" },
      },
    });
    // As a real table would: the stored item's version is not the one a write expects.
    ddb.on(PutItemCommand).callsFake(() => {
      throw Object.assign(new Error("The conditional request failed"), {
        name: "ConditionalCheckFailedException",
        $metadata: { httpStatusCode: 400 },
      });
    });
    world.fault = (r, s) =>
      s === "cars" && r.method === "POST" ? { kind: "reply", status: 503 } : undefined;
    const run = await book(trip());
    expect(run.status).toBe("SUCCEEDED");
    expect(JSON.stringify(run.value?.sideWorkFailures ?? [])).toContain("check-car-circuit");
  });
});

describe("AWS services that stop answering (the real SDK clients, pointed at a socket that never replies)", () => {
  async function blackHole(): Promise<{ url: string; connections: () => number; close: () => void }> {
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      connections: () => sockets.length,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
  }
  function realClient(which: "ddb" | "sm"): {
    handler: typeof handler;
    paymentHandler: typeof paymentHandler;
  } {
    if (which === "sm") sm.restore();
    else ddb.restore();
    return { handler, paymentHandler };
  }

  it("a DynamoDB that accepts the connection and never answers does not hang the booking: done within 30 s", async () => {
    const hole = await blackHole();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = hole.url;
    process.env.AWS_ENDPOINT_URL = hole.url;
    const src = realClient("ddb");
    try {
      const run = await Promise.race([
        book(trip(), { saga: src.handler, payment: src.paymentHandler }),
        new Promise<undefined>((resolve) => setTimeoutReal(() => resolve(undefined), 30000)),
      ]);
      expect(hole.connections()).toBeGreaterThan(0);
      expect(run).toBeDefined();
    } finally {
      hole.close();
    }
  }, 60000);

  it("a Secrets Manager that accepts the connection and never answers fails the call in bounded time, within 30 s", async () => {
    const hole = await blackHole();
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = hole.url;
    process.env.AWS_ENDPOINT_URL = hole.url;
    const src = realClient("sm");
    try {
      const run = await Promise.race([
        book(trip(), { saga: src.handler, payment: src.paymentHandler }),
        new Promise<undefined>((resolve) => setTimeoutReal(() => resolve(undefined), 30000)),
      ]);
      expect(hole.connections()).toBeGreaterThan(0);
      expect(run).toBeDefined();
    } finally {
      hole.close();
    }
  }, 60000);
});
