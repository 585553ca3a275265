import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import {
  checkSendSettings,
  ConfigurationError,
  createHandler,
  createRealDeps,
  ProviderHttpError,
  type BillingRunResult,
  type RealDepsConfig,
} from "../src";
import { quickConfig, sampleBatch, simulatedWorld } from "../src/demo";
import { SECRET_PLACEHOLDER, SecretSettingError } from "../src/secret-setting";
import { secretsManager, type SecretsManagerWorld } from "./secrets";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// What check-settings checks (BillingDeps.checkSettings of the real deps), and what a service that was sent no
// token answers. The workflow's side (the run fails before any render, on the providers' records) is in
// test/production-review.test.ts and test/real-deps.test.ts.

const good: RealDepsConfig = {
  documentBucket: "invoices-bucket",
  crmUrl: "http://127.0.0.1:9/crm",
  ledgerUrl: "http://127.0.0.1:9/ledger",
  taxRegistryUrl: "http://127.0.0.1:9/tax",
  invoicingUrl: "https://invoicing.example/api/v1",
  fxUrls: { atlas: "http://127.0.0.1:9/fx" },
};

let secrets: SecretsManagerWorld;
beforeEach(() => (secrets = secretsManager()));
afterEach(() => secrets.restore());

describe("checkSendSettings", () => {
  it("passes for usable settings, reading the invoicing token once and returning nothing", async () => {
    secrets.holds("INVOICING_API_TOKEN", "inv-token-1");
    await expect(checkSendSettings(good)).resolves.toBeUndefined();
    expect(secrets.reads("INVOICING_API_TOKEN")).toHaveLength(1);
    // Only the sends' token: the lookups proved theirs before this step, and a quote is reporting only.
    expect(secrets.reads()).toEqual([secrets.arnOf("INVOICING_API_TOKEN")]);
  });

  it.each([
    ["no INVOICING_API_TOKEN_SECRET_ARN: a provider that takes no token", () => undefined],
    [
      "the secret still holds the stack's placeholder",
      () => secrets.holds("INVOICING_API_TOKEN", `  ${SECRET_PLACEHOLDER}\n`),
    ],
  ])("passes when the optional token is not set (%s): no token will be sent", async (_, configure) => {
    configure();
    await expect(checkSendSettings(good)).resolves.toBeUndefined();
  });

  it.each([
    ["INVOICE_BUCKET unset", { documentBucket: "" }, "INVOICE_BUCKET is not set"],
    ["INVOICING_API_URL unset", { invoicingUrl: "" }, "INVOICING_API_URL is not set"],
    ["INVOICING_API_URL not a URL", { invoicingUrl: "invoicing.example" }, "INVOICING_API_URL is not a URL"],
    ["ftp://", { invoicingUrl: "ftp://invoicing.example/" }, "INVOICING_API_URL must be an http(s) URL"],
    [
      "user:password@",
      { invoicingUrl: "https://billing:pa55Secret77@invoicing.example/api" },
      "INVOICING_API_URL must not contain credentials (user:password@): put the service's token in the secret " +
        "named by INVOICING_API_TOKEN_SECRET_ARN",
    ],
    [
      "a key in the query",
      { invoicingUrl: "https://invoicing.example/api?code=QrySecret42" },
      "INVOICING_API_URL must not have a query or fragment (?... or #...): put a credential in the secret named " +
        "by INVOICING_API_TOKEN_SECRET_ARN",
    ],
    [
      "a fragment",
      { invoicingUrl: "https://invoicing.example/api#frag" },
      "INVOICING_API_URL must not have a query or fragment",
    ],
  ])(
    "refuses %s with a ConfigurationError naming the setting, never its value",
    async (_, change, message) => {
      const failure = (await checkSendSettings({ ...good, ...change }).catch(
        (error: unknown) => error,
      )) as Error;
      expect(failure).toBeInstanceOf(ConfigurationError);
      expect(failure.message).toContain(message);
      expect(failure.message).not.toMatch(/pa55Secret77|QrySecret42|invoicing\.example/);
    },
  );

  it.each([
    [
      "missing",
      () => secrets.missing("INVOICING_API_TOKEN"),
      /could not be read .*ResourceNotFoundException/,
    ],
    ["unreadable", () => secrets.denied("INVOICING_API_TOKEN"), /could not be read .*AccessDeniedException/],
    [
      "a line break inside",
      () => secrets.holds("INVOICING_API_TOKEN", "tokA1\r\nX-Injected: evilB2"),
      /cannot carry/,
    ],
    [
      "a key/value JSON object",
      () => secrets.holds("INVOICING_API_TOKEN", '{"INVOICING_API_TOKEN":"x"}'),
      /JSON/,
    ],
  ])(
    "refuses an invoicing token secret %s: a SecretSettingError naming it, not retryable",
    async (_, configure, why) => {
      configure();
      const failure = (await checkSendSettings(good).catch((error: unknown) => error)) as SecretSettingError;
      expect(failure).toBeInstanceOf(SecretSettingError);
      expect(failure.setting).toBe("INVOICING_API_TOKEN");
      expect(failure.retryable).toBe(false);
      expect(failure.message).toMatch(/INVOICING_API_TOKEN/);
      expect(failure.message).toMatch(why);
      expect(failure.message).not.toContain("evilB2");
    },
  );

  it("names every problem at once, so one fix-and-rerun is enough", async () => {
    secrets.missing("INVOICING_API_TOKEN");
    const failure = (await checkSendSettings({
      ...good,
      documentBucket: "",
      invoicingUrl: "https://u:p@invoicing.example/",
    }).catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect(failure.message).toContain("INVOICE_BUCKET is not set");
    expect(failure.message).toContain("INVOICING_API_URL must not contain credentials");
    expect(failure.message).toMatch(/INVOICING_API_TOKEN could not be read .*ResourceNotFoundException/);
  });

  it("Secrets Manager throttling is the only problem: thrown retryable, so the step tries again", async () => {
    const mock = mockClient(SecretsManagerClient);
    try {
      process.env.INVOICING_API_TOKEN_SECRET_ARN = secrets.arnOf("INVOICING_API_TOKEN");
      mock.on(GetSecretValueCommand).rejects(
        new SecretsManagerServiceException({
          name: "ThrottlingException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
          message: "Rate exceeded",
        }),
      );
      const failure = (await checkSendSettings(good).catch((error: unknown) => error)) as SecretSettingError;
      expect(failure).toBeInstanceOf(SecretSettingError);
      expect(failure.retryable).toBe(true);
      // With a setting that will not fix itself beside it, the whole is not retried.
      const both = await checkSendSettings({ ...good, documentBucket: "" }).catch((error: unknown) => error);
      expect(both).toBeInstanceOf(ConfigurationError);
    } finally {
      delete process.env.INVOICING_API_TOKEN_SECRET_ARN;
      mock.restore();
    }
  });

  it("is what the real deps' checkSettings runs, on the configuration they resolve", async () => {
    const deps = createRealDeps(() => ({ ...good, documentBucket: "" }));
    await expect(deps.checkSettings?.()).rejects.toThrow("INVOICE_BUCKET is not set");
  });
});

describe("a service that refuses for want of a token it was not sent", () => {
  let server: Server;
  let requests: IncomingHttpHeaders[];
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers);
      req.resume();
      const status = req.headers.authorization ? 200 : req.url?.includes("accounts") ? 403 : 401;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(
        status === 200
          ? JSON.stringify({
              customerId: "acme",
              legalName: "Acme",
              billingEmail: "a@acme.example",
              country: "DE",
            })
          : `{"error":"missing credentials","page":"${"x".repeat(2000)}"}`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (requests = []));

  const deps = () => createRealDeps(() => ({ ...good, crmUrl: base, ledgerUrl: base, invoicingUrl: base }));

  it.each([
    ["a 401 from the CRM, its ARN unset", "crm", undefined],
    ["a 401 from the CRM, its secret the placeholder", "crm", SECRET_PLACEHOLDER],
    ["a 403 from the ledger", "ledger", undefined],
    ["a 401 from the invoicing provider", "invoicing", undefined],
  ] as const)(
    "%s names the <SETTING>_SECRET_ARN to set, whatever the length of the page",
    async (_, service, value) => {
      const setting = { crm: "CRM_API_TOKEN", ledger: "LEDGER_API_TOKEN", invoicing: "INVOICING_API_TOKEN" }[
        service
      ];
      if (value !== undefined) secrets.holds(setting, value);
      const call = {
        crm: () => deps().crm.getCustomer("acme"),
        ledger: () => deps().ledger.getAccount("acme"),
        invoicing: () =>
          deps().sender.send({
            invoiceId: "INV-1",
            to: "a@acme.example",
            documentKey: "k",
            amountCents: 1,
            currency: "EUR",
            idempotencyKey: "B:INV-1",
          }),
      }[service];
      const failure = (await call().catch((error: unknown) => error)) as ProviderHttpError;
      expect(requests).toHaveLength(1);
      expect(requests[0]!.authorization).toBeUndefined();
      expect(failure).toBeInstanceOf(ProviderHttpError);
      expect([401, 403]).toContain(failure.status);
      // First in the message, so no bound on an error message can cut it off.
      expect(failure.message.slice(0, 250)).toContain(
        `was sent no token: ${setting}_SECRET_ARN is not set, or its secret still holds the stack's placeholder`,
      );
      expect(failure.message.length).toBeLessThan(700);
    },
  );

  it("a service that answers once a token is sent gets it, and says nothing about settings", async () => {
    secrets.holds("CRM_API_TOKEN", "crm-tok-1");
    await expect(deps().crm.getCustomer("acme")).resolves.toMatchObject({ customerId: "acme" });
    expect(requests.map((headers) => headers.authorization)).toEqual(["Bearer crm-tok-1"]);
  });
});

describeLocal("the check-settings step in the workflow (custom deps: the simulated world)", () => {
  beforeAll(() => setupTestEnvironment({ skipTime: true }));
  afterAll(() => teardownTestEnvironment());

  const runWith = async (checkSettings?: () => Promise<void>) => {
    const world = simulatedWorld({ documentBytes: 1024 });
    const runner = new LocalDurableTestRunner<BillingRunResult>({
      handlerFunction: createHandler({ ...world.deps, checkSettings }, quickConfig),
    });
    const execution = await runner.run({ payload: sampleBatch(4) });
    const names = execution.getOperations().map((operation) => operation.getName());
    return { world, runner, execution, names };
  };

  it("runs after the lookups and before the map, checkpointing nothing, and the batch goes out", async () => {
    let checks = 0;
    const { world, runner, execution, names } = await runWith(async () => {
      checks += 1;
    });
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(checks).toBe(1);
    expect(names.indexOf("check-settings")).toBeGreaterThan(names.indexOf("check-vat-number"));
    expect(names.indexOf("check-settings")).toBeLessThan(names.indexOf("send-invoices"));
    expect(runner.getOperation("check-settings").getStepDetails()?.result).toBeUndefined();
    expect(world.accepted()).toHaveLength(4);
  });

  it("deps without checkSettings: the step still runs (the same history), and the batch goes out", async () => {
    const { world, execution, names } = await runWith(undefined);
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(names).toContain("check-settings");
    expect(world.accepted()).toHaveLength(4);
  });

  it("a setting that cannot be used: FAILED with BatchNotStartedError naming it, one attempt, nothing rendered, stored or sent", async () => {
    let checks = 0;
    const { world, runner, execution, names } = await runWith(async () => {
      checks += 1;
      throw new ConfigurationError("INVOICE_BUCKET is not set");
    });
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError()).toMatchObject({
      errorType: "BatchNotStartedError",
      errorMessage:
        "No invoice of batch 2026-11-acme was rendered or sent: INVOICE_BUCKET is not set. Fix the setting and " +
        "run the batch again (same batch id, same keys).",
    });
    expect(checks).toBe(1);
    expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(1);
    expect(names).not.toContain("send-invoices");
    expect(world.renders).toEqual([]);
    expect(world.documents.size).toBe(0);
    expect(world.deliveries).toEqual([]);
    expect(world.emails).toEqual([]);
  });

  it("Secrets Manager throttled once: the step tries again, and the batch goes out", async () => {
    let checks = 0;
    const { world, execution } = await runWith(async () => {
      checks += 1;
      if (checks === 1)
        throw new SecretSettingError("INVOICING_API_TOKEN could not be read (Throttling)", "X", true);
    });
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(checks).toBe(2);
    expect(world.accepted()).toHaveLength(4);
  });

  it("a custom check's 100 KB error is bounded in the execution's error", async () => {
    const { execution, world } = await runWith(async () => {
      throw new ConfigurationError(`X_URL is wrong: ${"z".repeat(100_000)}`);
    });
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(execution.getError()?.errorMessage?.length).toBeLessThan(1_300);
    expect(execution.getError()?.errorMessage).toContain("X_URL is wrong");
    expect(world.emails).toEqual([]);
  });
});
