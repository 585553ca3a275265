import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import {
  classifyRead,
  classifySend,
  createHandler,
  createRealDeps,
  deliveryFailure,
  type BillingDeps,
  type BillingRunResult,
  type RealDepsConfig,
  type WorkflowConfig,
} from "../src";
import { quickConfig, sampleBatch } from "../src/demo";
import { HttpSettingError } from "../src/http-call";
import { SecretSettingError } from "../src/secret-setting";
import { startHttpWorld, type Route } from "./http-world";
import { secretsManager, type SecretsManagerWorld } from "./secrets";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

/**
 * The real deps' HTTP calls (src/http-call.ts) and their secrets (src/secret-setting.ts), against servers on
 * 127.0.0.1 that record what they received, and Secrets Manager mocked on SecretsManagerClient
 * (test/secrets.ts). Local only: the providers are local servers.
 */
jest.setTimeout(60_000);
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

let secrets: SecretsManagerWorld;
beforeEach(() => (secrets = secretsManager()));
afterEach(() => secrets.restore());

/** The seven token settings, each holding a token of its own. */
const TOKENS = {
  CRM_API_TOKEN: "crm-token-0001",
  LEDGER_API_TOKEN: "ledger-token-0002",
  TAX_REGISTRY_API_TOKEN: "tax-token-0003",
  INVOICING_API_TOKEN: "sk_live_invoicing_0004",
  FX_ATLAS_TOKEN: "fx-atlas-token-0005",
  FX_BEACON_TOKEN: "fx-beacon-token-0006",
  FX_CEDAR_TOKEN: "fx-cedar-token-0007",
};

/** A server that records the path and headers of every request and answers `{}`. */
async function recordingServer() {
  const received: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body,
      });
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeLocal("every call keeps the configured base URL's path", () => {
  it.each([
    ["without a trailing slash", ""],
    ["with a trailing slash", "/"],
  ])("base URLs %s: each path lands under its base, with its own token only", async (_, slash) => {
    for (const [setting, token] of Object.entries(TOKENS)) secrets.holds(setting, token);
    const server = await recordingServer();
    try {
      const base = (name: string) => `${server.url}/${name}/v1${slash}`;
      const config: RealDepsConfig = {
        documentBucket: "invoices-bucket",
        crmUrl: base("crm"),
        ledgerUrl: base("ledger"),
        taxRegistryUrl: base("tax"),
        invoicingUrl: base("invoicing"),
        fxUrls: { atlas: base("atlas"), beacon: base("beacon"), cedar: base("cedar") },
      };
      const deps = createRealDeps(() => config);
      await deps.crm.getCustomer("acme co/1");
      await deps.ledger.getAccount("acme");
      await deps.taxRegistry.checkVatNumber("GB123456789");
      for (const provider of deps.fxProviders) {
        await provider.getRate({ requestId: "b-1:GBP-EUR", from: "GBP", to: "EUR" });
      }
      await deps.sender.send({
        invoiceId: "INV-1001",
        to: "billing@acme.example.com",
        documentKey: "invoices/b-1/INV-1001/abc",
        amountCents: 1000,
        currency: "GBP",
        idempotencyKey: "b-1:INV-1001",
      });

      expect(
        server.received.map(({ method, path, headers }) => [method, path, headers.authorization]),
      ).toEqual([
        ["GET", "/crm/v1/customers/acme%20co%2F1", `Bearer ${TOKENS.CRM_API_TOKEN}`],
        ["GET", "/ledger/v1/accounts/acme", `Bearer ${TOKENS.LEDGER_API_TOKEN}`],
        ["GET", "/tax/v1/vat/GB123456789", `Bearer ${TOKENS.TAX_REGISTRY_API_TOKEN}`],
        ["GET", "/atlas/v1/rates/GBP/EUR", `Bearer ${TOKENS.FX_ATLAS_TOKEN}`],
        ["GET", "/beacon/v1/rates/GBP/EUR", `Bearer ${TOKENS.FX_BEACON_TOKEN}`],
        ["GET", "/cedar/v1/rates/GBP/EUR", `Bearer ${TOKENS.FX_CEDAR_TOKEN}`],
        ["POST", "/invoicing/v1/invoices", `Bearer ${TOKENS.INVOICING_API_TOKEN}`],
      ]);
      // The other headers each call needs, and only there.
      const [crm, , , atlas, , , invoicing] = server.received;
      expect(crm!.headers).toMatchObject({ accept: "application/json" });
      expect(crm!.headers["idempotency-key"]).toBeUndefined();
      expect(atlas!.headers["x-request-id"]).toBe("b-1:GBP-EUR");
      expect(invoicing!.headers).toMatchObject({
        "idempotency-key": "b-1:INV-1001",
        "content-type": "application/json",
      });
      expect(JSON.parse(invoicing!.body)).toEqual({
        invoiceId: "INV-1001",
        to: "billing@acme.example.com",
        documentKey: "invoices/b-1/INV-1001/abc",
        amountCents: 1000,
        currency: "GBP",
      });
      // No token went anywhere but to its own service.
      for (const request of server.received) {
        const others = Object.values(TOKENS).filter(
          (token) => request.headers.authorization !== `Bearer ${token}`,
        );
        const leaked = others.filter(
          (token) => JSON.stringify(request.headers).includes(token) || request.body.includes(token),
        );
        expect({ path: request.path, leaked }).toEqual({ path: request.path, leaked: [] });
      }
    } finally {
      await server.close();
    }
  });
});

describeLocal("tokens from Secrets Manager", () => {
  it("a token is read once per sandbox within its max age: two calls, one GetSecretValue, the token sent both times", async () => {
    secrets.holds("CRM_API_TOKEN", TOKENS.CRM_API_TOKEN);
    const server = await recordingServer();
    try {
      const deps = createRealDeps(() => ({
        documentBucket: "invoices-bucket",
        crmUrl: `${server.url}/crm`,
        ledgerUrl: "",
        taxRegistryUrl: "",
        invoicingUrl: "",
        fxUrls: {},
      }));
      await deps.crm.getCustomer("acme");
      await deps.crm.getCustomer("globex");
      expect(secrets.reads("CRM_API_TOKEN")).toEqual([secrets.arnOf("CRM_API_TOKEN")]);
      expect(server.received.map((request) => request.headers.authorization)).toEqual([
        `Bearer ${TOKENS.CRM_API_TOKEN}`,
        `Bearer ${TOKENS.CRM_API_TOKEN}`,
      ]);
    } finally {
      await server.close();
    }
  });

  async function runBatch(
    world: Awaited<ReturnType<typeof startHttpWorld>>,
    config: Partial<WorkflowConfig> = {},
    change: (deps: BillingDeps) => BillingDeps = (deps) => deps,
  ) {
    const deps = change(createRealDeps(() => world.config(), world.s3));
    const runner = new LocalDurableTestRunner<BillingRunResult>({
      handlerFunction: createHandler(deps, { ...quickConfig, ...config }),
    });
    const execution = await runner.run({ payload: sampleBatch(3) });
    return { runner, execution };
  }

  it.each([
    [
      "missing (ResourceNotFoundException)",
      "CRM_API_TOKEN",
      "load-crm-record",
      (setting: string) => secrets.missing(setting),
      "CRM_API_TOKEN could not be read from the secret in CRM_API_TOKEN_SECRET_ARN (ResourceNotFoundException: no such secret, or it has no current value)",
    ],
    [
      "unreadable (AccessDeniedException)",
      "LEDGER_API_TOKEN",
      "load-ledger-account",
      (setting: string) => secrets.denied(setting),
      "LEDGER_API_TOKEN could not be read from the secret in LEDGER_API_TOKEN_SECRET_ARN (AccessDeniedException: the function's role may not read it)",
    ],
  ])(
    "a secret %s fails the run with an error naming the setting, once, before the service is called",
    async (_, setting, step, configure, message) => {
      configure(setting);
      const world = await startHttpWorld();
      try {
        const { runner, execution } = await runBatch(world);
        expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
        expect(execution.getError()?.errorMessage).toContain(message);
        // Not an outage: one attempt, one read of the secret, and the service received nothing.
        expect(runner.getOperation(step).getStepDetails()?.attempt).toBe(1);
        expect(secrets.reads(setting)).toHaveLength(1);
        const route: Route = setting === "CRM_API_TOKEN" ? "crm" : "ledger";
        expect(world.requestsTo(route)).toEqual([]);
        expect(world.requestsTo("invoicing")).toEqual([]);
        expect(world.emails).toEqual([]);
        expect(await world.storedKeys()).toEqual([]);
      } finally {
        await world.close();
      }
    },
  );

  it("the invoicing token unreadable: the run fails in check-settings naming it, before any render; the provider received nothing", async () => {
    // Changed when check-settings was added (after the review of map-parallel): this test expected the batch to
    // run and every invoice to fail "not sent". The sends' settings are now checked before the map, so the run
    // stops there, naming the setting; the send-time verdict is kept by the next test (deps without the check).
    secrets.denied("INVOICING_API_TOKEN");
    const world = await startHttpWorld();
    try {
      const { runner, execution } = await runBatch(world);
      expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(execution.getError()).toMatchObject({ errorType: "BatchNotStartedError" });
      expect(execution.getError()?.errorMessage).toMatch(
        /^No invoice of batch 2026-11-acme was rendered or sent: INVOICING_API_TOKEN could not be read .*AccessDeniedException/,
      );
      // Not an outage: one attempt, one read, and no render or delivery step at all.
      expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(1);
      expect(secrets.reads("INVOICING_API_TOKEN")).toHaveLength(1);
      const names = execution.getOperations().map((operation) => operation.getName() ?? "");
      expect(names.filter((name) => /^(render|deliver)-/.test(name))).toEqual([]);
      expect(names).not.toContain("send-invoices");
      expect(world.requestsTo("invoicing")).toEqual([]);
      expect(world.emails).toEqual([]);
      expect(await world.storedKeys()).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it("deps without checkSettings (a custom dep): the invoicing token unreadable at send time, every invoice fails as not sent (for certain), the provider received nothing", async () => {
    secrets.denied("INVOICING_API_TOKEN");
    const world = await startHttpWorld();
    try {
      // Every invoice runs to its verdict (the default policy would stop the pass at the first failure).
      const { runner, execution } = await runBatch(
        world,
        { completionPolicy: { toleratedFailurePercentage: 100 } },
        ({ checkSettings: _, ...deps }) => deps,
      );
      expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const outcome = execution.getResult()!;
      expect(outcome.sent).toEqual([]);
      expect(outcome.inDoubt).toEqual([]);
      expect(outcome.failed.map((entry) => entry.invoiceId).sort()).toEqual([
        "INV-1001",
        "INV-1002",
        "INV-1003",
      ]);
      for (const { error } of outcome.failed) {
        expect(error).toMatch(/^\[refused\] INVOICING_API_TOKEN could not be read .*AccessDeniedException/);
      }
      // Refused, so neither retried within its step nor sent again by a retry pass.
      expect(runner.getOperation("deliver-INV-1001").getStepDetails()?.attempt).toBe(1);
      expect(world.requestsTo("invoicing")).toEqual([]);
      expect(world.emails).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it("a token in the plain environment is refused, not used: the run fails naming it, and it is sent nowhere", async () => {
    process.env.CRM_API_TOKEN = "plain-text-token-in-env";
    const world = await startHttpWorld();
    try {
      const { runner, execution } = await runBatch(world);
      expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(execution.getError()?.errorMessage).toContain(
        "CRM_API_TOKEN is set in the plain environment, where the template and GetFunctionConfiguration show it: " +
          "put it in Secrets Manager and set CRM_API_TOKEN_SECRET_ARN to the secret's ARN",
      );
      expect(JSON.stringify(execution.getError())).not.toContain("plain-text-token-in-env");
      expect(runner.getOperation("load-crm-record").getStepDetails()?.attempt).toBe(1);
      expect(world.requestsTo("crm")).toEqual([]);
      expect(secrets.reads()).toEqual([]);
    } finally {
      delete process.env.CRM_API_TOKEN;
      await world.close();
    }
  });

  it("a setting error is not done and never retried; Secrets Manager failing for a while is retried, still not done", () => {
    const denied = new SecretSettingError("X_TOKEN could not be read", "X_TOKEN", false);
    const throttled = new SecretSettingError(
      "X_TOKEN could not be read (ThrottlingException)",
      "X_TOKEN",
      true,
    );
    const badUrl = new HttpSettingError("the service's base URL is not a URL");
    for (const error of [denied, badUrl]) {
      expect(classifyRead(error)).toMatchObject({ outcome: "not-done", retry: false });
      expect(classifySend(error)).toMatchObject({ outcome: "not-done", retry: false });
    }
    expect(classifyRead(throttled)).toMatchObject({ outcome: "not-done", retry: true });
    expect(classifySend(throttled)).toMatchObject({ outcome: "not-done", retry: true });
    // A delivery that failed before anything was sent is never in doubt.
    expect(deliveryFailure(denied).message).toMatch(/^\[refused\] X_TOKEN could not be read/);
    expect(deliveryFailure(throttled).message).toMatch(/^\[not sent\] X_TOKEN could not be read/);
  });
});

describeLocal("a 1 MB error page, with newlines, ANSI escapes and the token echoed back", () => {
  /** The page echoes the Authorization header it received, and the bare token in it. */
  const hostilePage = (authorization: string | undefined) => {
    const token = (authorization ?? "").replace(/^Bearer /, "");
    const line = `\u001b[31mERROR\u001b[0m\r\nauthorization: ${authorization}\n token=${token}\u2028\u0007\n`;
    return line.repeat(Math.ceil((1024 * 1024) / line.length));
  };
  const expectSafe = (text: string | undefined) => {
    expect(text).toBeDefined();
    expect(text!.length).toBeLessThan(600);
    // eslint-disable-next-line no-control-regex -- the point: no control character survives
    expect(text).not.toMatch(/[\u0000-\u001f\u007f\u2028]/);
    expect(text).not.toContain(TOKENS.INVOICING_API_TOKEN);
    expect(text).not.toContain(TOKENS.CRM_API_TOKEN);
    expect(text).toContain("ERROR");
  };

  it("from a lookup (400): the step error and the execution error are a few hundred characters, one line, no token", async () => {
    secrets.holds("CRM_API_TOKEN", TOKENS.CRM_API_TOKEN);
    const world = await startHttpWorld();
    try {
      world.override("crm", ({ request }) => ({
        status: 400,
        body: hostilePage(request.headers.authorization),
      }));
      const deps = createRealDeps(() => world.config(), world.s3);
      const runner = new LocalDurableTestRunner<BillingRunResult>({
        handlerFunction: createHandler(deps, quickConfig),
      });
      const execution = await runner.run({ payload: sampleBatch(2) });
      expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
      // The provider did receive the token (so the page really echoed it back).
      expect(world.requestsTo("crm").map((r) => r.headers.authorization)).toEqual([
        `Bearer ${TOKENS.CRM_API_TOKEN}`,
      ]);
      expectSafe(runner.getOperation("load-crm-record").getStepDetails()?.error?.errorMessage);
      expectSafe(execution.getError()?.errorMessage);
      expect(JSON.stringify(execution.getHistoryEvents())).not.toContain(TOKENS.CRM_API_TOKEN);
    } finally {
      await world.close();
    }
  });

  it("from the invoicing provider (422): the batch item's error is a few hundred characters, one line, no token", async () => {
    secrets.holds("INVOICING_API_TOKEN", TOKENS.INVOICING_API_TOKEN);
    const world = await startHttpWorld();
    try {
      world.override("invoicing", ({ request }) =>
        request.body.includes('"INV-1002"')
          ? { status: 422, send: false, body: hostilePage(request.headers.authorization) }
          : undefined,
      );
      const deps = createRealDeps(() => world.config(), world.s3);
      const runner = new LocalDurableTestRunner<BillingRunResult>({
        handlerFunction: createHandler(deps, {
          ...quickConfig,
          completionPolicy: { toleratedFailurePercentage: 50 },
        }),
      });
      const execution = await runner.run({ payload: sampleBatch(3) });
      expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const outcome = execution.getResult()!;
      expect(outcome.failed.map((entry) => entry.invoiceId)).toEqual(["INV-1002"]);
      expect(outcome.failed[0]!.error).toMatch(
        /^\[refused\] POST http:\/\/127\.0\.0\.1:\d+\/invoicing\/invoices answered 422: /,
      );
      expectSafe(outcome.failed[0]!.error);
      expectSafe(runner.getOperation("deliver-INV-1002").getStepDetails()?.error?.errorMessage);
      expect(world.emails.map((email) => email.invoiceId).sort()).toEqual(["INV-1001", "INV-1003"]);
      expect(JSON.stringify(execution.getOperations().map((o) => o.getOperationData()))).not.toContain(
        TOKENS.INVOICING_API_TOKEN,
      );
    } finally {
      await world.close();
    }
  });
});
