import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import {
  ClientError,
  createHttpDeps,
  PaymentDeclinedError,
  PaymentInDoubtError,
  ProviderUnavailableError,
  TransientServiceError,
} from "../src";
import { HttpSettingError } from "../src/http-call";
import { hostileAnswer, hostileBody, HttpWorld, type Route } from "./http-world";

/**
 * The real dependencies against a provider on 127.0.0.1 that keeps its own record of every request it got
 * (method, path, idempotency key, body), and answers what the test scripts.
 */
type Reply = { status: number; body?: unknown } | "hang";
async function provider(replies: Reply[]) {
  const received: Array<{ method: string; path: string; key: string | undefined; body: unknown }> = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      received.push({
        method: request.method!,
        path: request.url!,
        key: request.headers["idempotency-key"] as string | undefined,
        body: text ? JSON.parse(text) : undefined,
      });
      const reply = replies.shift() ?? { status: 500 };
      if (reply === "hang") return; // never answers: the client's timeout fires
      response.writeHead(reply.status, { "content-type": "application/json" });
      response.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const deps = createHttpDeps(() => ({
    paymentsUrl: url,
    warehouseUrl: url,
    ordersUrl: url,
    alertsUrl: url,
    callbackTable: "callbacks",
    timeoutMs: 300,
  }));
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { deps, received, close };
}

const payment = { orderId: "A-1001", amountCents: 8950, currency: "EUR", idempotencyKey: "A-1001:payment" };

describe("the payment provider over HTTP: done, not done, in doubt", () => {
  it.each<[string, Reply, unknown]>([
    [
      "201 with a payment id: done",
      { status: 201, body: { paymentId: "pay_0001" } },
      { paymentId: "pay_0001" },
    ],
    [
      "402: declined, not done",
      { status: 402, body: { reason: "insufficient_funds" } },
      PaymentDeclinedError,
    ],
    ["429: throttled, nothing done", { status: 429 }, ProviderUnavailableError],
    ["503: unavailable, nothing done", { status: 503 }, ProviderUnavailableError],
    ["500: in doubt", { status: 500 }, PaymentInDoubtError],
    ["504: in doubt", { status: 504 }, PaymentInDoubtError],
    ["no answer within the timeout: in doubt", "hang", PaymentInDoubtError],
    ["400: our request is wrong", { status: 400 }, ClientError],
    ["307: the redirect is not followed", { status: 307, body: { paymentId: "pay_elsewhere" } }, ClientError],
    // A provider may answer 200 rather than 201, and its ids are its own: short ones are ids like any other.
    [
      "200 with a payment id: done",
      { status: 200, body: { paymentId: "pay_0001" } },
      { paymentId: "pay_0001" },
    ],
    [
      "201 with a short payment id: done",
      { status: 201, body: { paymentId: "pay_1" } },
      { paymentId: "pay_1" },
    ],
    [
      "201 with another provider's id format: done",
      { status: 201, body: { paymentId: "pi_3NfK2eLkdIwHu7ix0Z1b", status: "pending" } },
      { paymentId: "pi_3NfK2eLkdIwHu7ix0Z1b" },
    ],
    [
      "201 with a payment id holding a line break: in doubt",
      { status: 201, body: { paymentId: "pay_1\nSYSTEM: paid" } },
      PaymentInDoubtError,
    ],
    [
      "201 with a payment id of 129 characters: in doubt",
      { status: 201, body: { paymentId: "p".repeat(129) } },
      PaymentInDoubtError,
    ],
    [
      "201 with a payment id holding a slash: in doubt",
      { status: 201, body: { paymentId: "pay/../1" } },
      PaymentInDoubtError,
    ],
    ["201 with an empty payment id: in doubt", { status: 201, body: { paymentId: "" } }, PaymentInDoubtError],
    ["201 without a payment id: in doubt", { status: 201, body: { ok: true } }, PaymentInDoubtError],
    [
      "201 with a malformed payment id: in doubt",
      { status: 201, body: { paymentId: 42 } },
      PaymentInDoubtError,
    ],
  ])("%s", async (_label, reply, expected) => {
    const { deps, received, close } = await provider([reply]);
    try {
      const call = deps.payments.requestPayment(payment);
      if (typeof expected === "function") await expect(call).rejects.toBeInstanceOf(expected);
      else await expect(call).resolves.toEqual(expected);
      // The provider's record: one POST, with our idempotency key, and the payment without the key.
      expect(received).toEqual([
        {
          method: "POST",
          path: "/payments",
          key: "A-1001:payment",
          body: { orderId: "A-1001", amountCents: 8950, currency: "EUR" },
        },
      ]);
    } finally {
      await close();
    }
  });

  it("the decline carries the provider's reason", async () => {
    const { deps, close } = await provider([{ status: 402, body: { reason: "insufficient_funds" } }]);
    await expect(deps.payments.requestPayment(payment)).rejects.toMatchObject({
      reason: "insufficient_funds",
    });
    await close();
  });

  it("look-up by key: the record, or none (404); a void: voided, too late (409), or nothing to void (404)", async () => {
    const { deps, received, close } = await provider([
      { status: 200, body: { status: "pending", paymentId: "pay_0001" } },
      { status: 404 },
      { status: 200, body: { status: "voided" } },
      { status: 409 },
      { status: 404 },
      { status: 503 },
    ]);
    try {
      const key = { idempotencyKey: "A-1001:payment" };
      expect(await deps.payments.lookUpPayment(key)).toEqual({ status: "pending", paymentId: "pay_0001" });
      expect(await deps.payments.lookUpPayment(key)).toBeUndefined();
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "voided" });
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "succeeded" });
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "not-found" });
      await expect(deps.payments.voidPayment(key)).rejects.toBeInstanceOf(ProviderUnavailableError);
      expect(received.map(({ method, path, key: sent }) => `${method} ${path} ${sent ?? "-"}`)).toEqual([
        "GET /payments/by-key/A-1001%3Apayment -",
        "GET /payments/by-key/A-1001%3Apayment -",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
      ]);
    } finally {
      await close();
    }
  });

  it.each<[string, { status: number; body?: unknown }, unknown]>([
    ["200 voided", { status: 200, body: { status: "voided" } }, { status: "voided" }],
    ["200 captured meanwhile", { status: 200, body: { status: "succeeded" } }, { status: "succeeded" }],
    ["200 nothing to void", { status: 200, body: { status: "not-found" } }, { status: "not-found" }],
    ["200 {}", { status: 200, body: {} }, PaymentInDoubtError],
    ["200 a JSON string", { status: 200, body: "garbage" }, PaymentInDoubtError],
    ["200 another status", { status: 200, body: { status: "cancelled" } }, PaymentInDoubtError],
    ["204 with no body", { status: 204 }, PaymentInDoubtError],
  ])(
    "a void answered %s: the body says what the void did, a 2xx alone does not",
    async (_label, reply, expected) => {
      const { deps, received, close } = await provider([reply]);
      try {
        const call = deps.payments.voidPayment({ idempotencyKey: "A-1001:payment" });
        if (typeof expected === "function") await expect(call).rejects.toBeInstanceOf(expected);
        else await expect(call).resolves.toEqual(expected);
        expect(received.map(({ method, path, key }) => `${method} ${path} ${key}`)).toEqual([
          "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        ]);
      } finally {
        await close();
      }
    },
  );

  it("a void answered 200 with an HTML page (a proxy's error page): in doubt, its text bounded in the error", async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end(`<html><body>Service temporarily unavailable${"<p>x</p>".repeat(10_000)}</body></html>`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/psp`;
    const deps = createHttpDeps(() => ({
      paymentsUrl: url,
      warehouseUrl: url,
      ordersUrl: url,
      alertsUrl: url,
      callbackTable: "callbacks",
      timeoutMs: 1_000,
    }));
    try {
      const error = (await deps.payments.voidPayment({ idempotencyKey: "A-1001:payment" }).then(
        () => undefined,
        (caught: unknown) => caught,
      )) as Error;
      expect(error).toBeInstanceOf(PaymentInDoubtError);
      expect(error.message).toContain("payment void");
      expect(error.message).toContain("not JSON: <html><body>Service temporarily unavailable");
      expect(error.message.length).toBeLessThan(500);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("a look-up that is not a payment record is neither paid nor not paid; a shipment without an id is retried", async () => {
    const { deps, close } = await provider([
      { status: 200, body: { status: "captured-ish", paymentId: "pay_0001" } },
      { status: 200, body: "ok" },
      { status: 201, body: {} },
    ]);
    try {
      await expect(deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" })).rejects.toBeInstanceOf(
        PaymentInDoubtError,
      );
      await expect(deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" })).rejects.toBeInstanceOf(
        PaymentInDoubtError,
      );
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" }),
      ).rejects.toBeInstanceOf(TransientServiceError);
    } finally {
      await close();
    }
  });

  it("the warehouse and the order store: 5xx and 429 are transient, 4xx is not", async () => {
    const { deps, received, close } = await provider([
      { status: 201, body: { shipmentId: "shp_1" } },
      { status: 502 },
      { status: 204 },
      { status: 422 },
    ]);
    try {
      const items = [{ sku: "KETTLE-01", quantity: 1 }];
      expect(await deps.warehouse.ship({ orderId: "A-1001", items, idempotencyKey: "A-1001:ship" })).toEqual({
        shipmentId: "shp_1",
      });
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items, idempotencyKey: "A-1001:ship" }),
      ).rejects.toBeInstanceOf(TransientServiceError);
      await deps.orders.cancel({ orderId: "A-1001", reason: "declined", idempotencyKey: "A-1001:cancel" });
      await expect(
        deps.orders.cancel({ orderId: "A-1001", reason: "declined", idempotencyKey: "A-1001:cancel" }),
      ).rejects.toBeInstanceOf(ClientError);
      expect(received.map(({ path, key }) => `${path} ${key}`)).toEqual([
        "/shipments A-1001:ship",
        "/shipments A-1001:ship",
        "/orders/A-1001/cancel A-1001:cancel",
        "/orders/A-1001/cancel A-1001:cancel",
      ]);
    } finally {
      await close();
    }
  });

  it("an alert is posted with its key; a 5xx from the alerting endpoint is transient", async () => {
    const { deps, received, close } = await provider([{ status: 202 }, { status: 503 }]);
    try {
      const alert = {
        orderId: "A-1001",
        kind: "PaidNotShippedError",
        problem: "paid, not shipped",
        idempotencyKey: "A-1001:alert",
      };
      await deps.alerts.raise(alert);
      await expect(deps.alerts.raise(alert)).rejects.toBeInstanceOf(TransientServiceError);
      expect(received[0]).toEqual({
        method: "POST",
        path: "/alerts",
        key: "A-1001:alert",
        body: { orderId: "A-1001", kind: "PaidNotShippedError", problem: "paid, not shipped" },
      });
    } finally {
      await close();
    }
  });

  it("a missing URL is a clear error, not a request to nowhere", async () => {
    const deps = createHttpDeps(() => ({
      paymentsUrl: "",
      warehouseUrl: "",
      ordersUrl: "",
      alertsUrl: "",
      callbackTable: "",
    }));
    const failure = deps.payments.requestPayment(payment);
    await expect(failure).rejects.toThrow("No paymentsUrl configured (PAYMENTS_API_URL)");
    // A setting, not a refusal by the provider: never retried, and nothing was sent (see secrets.test.ts).
    await expect(failure).rejects.toBeInstanceOf(HttpSettingError);
  });
});

describe("every path stays under the configured base URL's path", () => {
  it.each([
    ["without a trailing slash", false],
    ["with a trailing slash", true],
  ])("base URLs %s", async (_label, trailingSlash) => {
    const world = await new HttpWorld().start();
    try {
      const deps = world.deps(trailingSlash);
      const { paymentId } = await deps.payments.requestPayment(payment);
      expect(await deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" })).toEqual({
        status: "pending",
        paymentId,
      });
      expect(await deps.payments.voidPayment({ idempotencyKey: "A-1001:payment" })).toEqual({
        status: "voided",
      });
      const items = [{ sku: "KETTLE-01", quantity: 1 }];
      expect(await deps.warehouse.ship({ orderId: "A-1001", items, idempotencyKey: "A-1001:ship" })).toEqual({
        shipmentId: "shp_1",
      });
      await deps.orders.cancel({ orderId: "A-1001", reason: "test", idempotencyKey: "A-1001:cancel" });
      await deps.alerts.raise({ orderId: "A-1001", kind: "k", problem: "p", idempotencyKey: "A-1001:alert" });

      // What the server received: each path under its service's base path, each with its idempotency key.
      expect(
        world.received.map(({ method, path, route, key }) => `${method} ${path} ${route} ${key}`),
      ).toEqual([
        "POST /psp/v2/payments pay A-1001:payment",
        "GET /psp/v2/payments/by-key/A-1001%3Apayment look-up undefined",
        "POST /psp/v2/payments/by-key/A-1001%3Apayment/void void A-1001:payment:void",
        "POST /warehouse/shipments ship A-1001:ship",
        "POST /shop/api/orders/A-1001/cancel cancel A-1001:cancel",
        "POST /ops/events/alerts alert A-1001:alert",
      ]);
      // And what the services did: the payment voided, one shipment, the cancellation and the alert recorded.
      expect(world.payments.get("A-1001:payment")!.status).toBe("voided");
      expect(world.shipments.size).toBe(1);
      expect(world.cancellations.get("A-1001:cancel")).toEqual({ orderId: "A-1001", reason: "test" });
      expect(world.alerts.get("A-1001:alert")).toEqual({ orderId: "A-1001", kind: "k", problem: "p" });
    } finally {
      await world.stop();
    }
  });

  // Changed from "keeps its path and drops the query": since the shared http-call (c59106b) a query or fragment
  // under a path is refused instead of dropped without a word (a key in it, `?code=...`, lost or misplaced).
  it.each([
    ["a query", "?tenant=eu"],
    ["a fragment", "#eu"],
  ])(
    "a base URL with %s is refused before anything is sent, naming WAREHOUSE_API_URL, never its value",
    async (_label, suffix) => {
      const world = await new HttpWorld().start();
      try {
        const config = world.config(false);
        const deps = createHttpDeps(() => ({ ...config, warehouseUrl: `${config.warehouseUrl}${suffix}` }));
        const failure = deps.warehouse
          .ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        const error = (await failure) as Error;
        expect(error).toBeInstanceOf(HttpSettingError);
        expect(error.message).toBe(
          "WAREHOUSE_API_URL: the service's base URL must not have a query or fragment: put credentials in the " +
            "token setting",
        );
        expect(error.message).not.toContain(suffix.slice(1));
        // The warehouse's record: nothing arrived, nothing shipped.
        expect(world.received).toEqual([]);
        expect(world.shipments.size).toBe(0);
      } finally {
        await world.stop();
      }
    },
  );
});

describe("what never reached the service, and what was lost on the way back", () => {
  /** A port nothing listens on: the connection is refused, so the request never left. */
  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  it("connection refused: not sent, so the payment is not done (ProviderUnavailableError, retried), the others transient", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/psp`;
    const deps = createHttpDeps(() => ({
      paymentsUrl: url,
      warehouseUrl: url,
      ordersUrl: url,
      alertsUrl: url,
      callbackTable: "callbacks",
      timeoutMs: 1_000,
    }));
    const request = deps.payments.requestPayment(payment);
    await expect(request).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(request).rejects.toThrow(
      `payment request (POST ${url}/payments) was not sent (ECONNREFUSED)`,
    );
    await expect(
      deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" }),
    ).rejects.toBeInstanceOf(TransientServiceError);
  });

  it("the connection dropped after the request arrived: in doubt (the provider acted), transient for the others", async () => {
    const world = await new HttpWorld().start();
    const hangUp = ({ act, res }: { act: () => unknown; res: ServerResponse }) => {
      act();
      res.socket?.destroy();
    };
    world.faults = { pay: [hangUp], ship: [hangUp] };
    try {
      const deps = world.deps();
      await expect(deps.payments.requestPayment(payment)).rejects.toBeInstanceOf(PaymentInDoubtError);
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" }),
      ).rejects.toBeInstanceOf(TransientServiceError);
      // The services acted: the retry with the same key finds the payment and the shipment, and makes no second.
      const { paymentId } = await deps.payments.requestPayment(payment);
      expect(paymentId).toBe(world.payments.get("A-1001:payment")!.paymentId);
      await deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" });
      expect([world.payments.size, world.shipments.size]).toEqual([1, 1]);
    } finally {
      await world.stop();
    }
  });

  it("a 2xx body larger than the bound is not read on: in doubt", async () => {
    const { deps, close } = await provider([
      { status: 201, body: { paymentId: "pay_0001", pad: "x".repeat(1_100_000) } },
    ]);
    try {
      const failure = deps.payments.requestPayment(payment);
      await expect(failure).rejects.toBeInstanceOf(PaymentInDoubtError);
      await expect(failure).rejects.toThrow("more than the 1048576 bytes accepted");
    } finally {
      await close();
    }
  });
});

describe("a provider's 1 MB error body, with newlines, ANSI escapes and our token echoed back", () => {
  const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout-api-token-AbCdEf";
  const TOKEN = "tok_live_7fG2kQ9xLm";
  const secretsManager = mockClient(SecretsManagerClient);
  beforeEach(() => {
    secretsManager.reset();
    clearCaches();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    process.env.CHECKOUT_API_TOKEN_SECRET_ARN = TOKEN_ARN;
  });
  afterEach(() => delete process.env.CHECKOUT_API_TOKEN_SECRET_ARN);
  afterAll(() => secretsManager.restore());

  /** What may reach a step's error, a checkpoint, a log line: a few hundred characters, one line, no token. */
  function expectSafe(text: string, max = 500) {
    expect(text.length).toBeLessThanOrEqual(max);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(text).not.toContain(TOKEN);
  }

  it.each<[string, Route, number, new (...args: never[]) => Error]>([
    ["payment request, 500", "pay", 500, PaymentInDoubtError],
    ["payment request, 503", "pay", 503, ProviderUnavailableError],
    ["payment look-up, 502", "look-up", 502, PaymentInDoubtError],
    ["warehouse, 500", "ship", 500, TransientServiceError],
    ["order store, 400", "cancel", 400, ClientError],
    ["alerts, 503", "alert", 503, TransientServiceError],
  ])(
    "%s: the error says what happened in a few hundred characters, on one line, without the token",
    async (_label, route, status, expected) => {
      const world = await new HttpWorld().start();
      world.faults[route] = [hostileAnswer(status, TOKEN)];
      try {
        const deps = world.deps();
        const calls: Record<Route, () => Promise<unknown>> = {
          pay: () => deps.payments.requestPayment(payment),
          "look-up": () => deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" }),
          void: () => deps.payments.voidPayment({ idempotencyKey: "A-1001:payment" }),
          ship: () => deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" }),
          cancel: () =>
            deps.orders.cancel({ orderId: "A-1001", reason: "r", idempotencyKey: "A-1001:cancel" }),
          alert: () =>
            deps.alerts.raise({ orderId: "A-1001", kind: "k", problem: "p", idempotencyKey: "A-1001:alert" }),
        };
        const error = await calls[route]().then(
          () => {
            throw new Error("expected a failure");
          },
          (caught: Error) => caught,
        );
        expect(error).toBeInstanceOf(expected);
        expect(error.message).toContain(`answered ${status}: upstream error`);
        expect(error.message).toContain("[redacted]");
        expectSafe(error.message);
        // The request did carry the token: it is the echo that was cut out.
        expect(world.received[0]!.authorization).toBe(`Bearer ${TOKEN}`);
      } finally {
        await world.stop();
      }
    },
  );

  it("402: the decline's reason (it reaches the customer) is bounded, on one line, without the token; a 1 MB one is not read", async () => {
    // Within the bytes read of an error answer: the reason is kept, made safe. 1 MB: not read, so not parsed.
    const reason = `card refused\n\u001b[31myou sent ${TOKEN}\u001b[0m ${"x".repeat(600)}`;
    const { deps, close } = await provider([
      { status: 402, body: { reason } },
      { status: 402, body: { reason: hostileBody(TOKEN) } },
    ]);
    try {
      const declined = async () =>
        deps.payments.requestPayment(payment).then(
          () => {
            throw new Error("expected a decline");
          },
          (caught: PaymentDeclinedError) => caught,
        );
      const first = await declined();
      expect(first).toBeInstanceOf(PaymentDeclinedError);
      expect(first.reason).toMatch(
        /^card refused \[31myou sent \[redacted\] \[0m x+… \(\d+ more characters\)$/,
      );
      expectSafe(first.reason, 250);
      expectSafe(first.message, 300);
      const second = await declined();
      expect(second).toBeInstanceOf(PaymentDeclinedError);
      expect(second.reason).toBe("declined");
    } finally {
      await close();
    }
  });
});
