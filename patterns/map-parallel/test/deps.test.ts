import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ConfigurationError,
  createRealDeps,
  dueDate,
  ProviderHttpError,
  redact,
  renderInvoiceHtml,
  serviceUrl,
  settingsOf,
  type RealDepsConfig,
} from "../src";
import { sampleBatch } from "../src/demo";
import { secretsManager, type SecretsManagerWorld } from "./secrets";

// The real dependencies, against a local HTTP server and a mocked Secrets Manager: never the cloud.
const baseConfig: RealDepsConfig = {
  documentBucket: "invoices-bucket",
  crmUrl: "",
  ledgerUrl: "",
  taxRegistryUrl: "",
  invoicingUrl: "",
  fxUrls: {},
};

it("imports the deployed handler without any configuration", async () => {
  const module = await import("../src/index");
  expect(typeof module.handler).toBe("function");
});

// The S3 document store is tested against a real local S3 in test/document-store.test.ts.

let secrets: SecretsManagerWorld;
beforeEach(() => (secrets = secretsManager()));
afterEach(() => secrets.restore());

it("sends an invoice over HTTP with its idempotency key and the token from its secret, and reports a 503 as the status it is", async () => {
  secrets.holds("INVOICING_API_TOKEN", "t0k");
  const requests: Array<{ url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  let status = 200;
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      requests.push({ url: request.url, headers: request.headers, body });
      response.writeHead(status, { "content-type": "application/json" });
      response.end(
        JSON.stringify(status === 200 ? { invoiceId: "INV-1001", messageId: "m-1" } : { error: "down" }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  try {
    const deps = createRealDeps(() => ({ ...baseConfig, invoicingUrl: url }));
    const request = {
      invoiceId: "INV-1001",
      to: "billing@acme.example.com",
      documentKey: "invoices/b-1/INV-1001",
      amountCents: 1000,
      currency: "GBP",
      idempotencyKey: "b-1:INV-1001",
    };

    // The dep returns the answer as it came; the workflow's step parses it (test/answers.test.ts).
    await expect(deps.sender.send(request)).resolves.toEqual({ invoiceId: "INV-1001", messageId: "m-1" });
    expect(requests[0]).toMatchObject({ url: "/v1/invoices" });
    expect(requests[0]!.headers["idempotency-key"]).toBe("b-1:INV-1001");
    expect(requests[0]!.headers.authorization).toBe("Bearer t0k");
    expect(JSON.parse(requests[0]!.body)).toEqual({
      invoiceId: "INV-1001",
      to: "billing@acme.example.com",
      documentKey: "invoices/b-1/INV-1001",
      amountCents: 1000,
      currency: "GBP",
    });

    status = 503;
    await expect(deps.sender.send(request)).rejects.toMatchObject({ name: "ProviderHttpError", status: 503 });
    await expect(deps.sender.send(request)).rejects.toBeInstanceOf(ProviderHttpError);
  } finally {
    server.close();
  }
});

it("renders an HTML invoice with the due date from the payment terms", () => {
  const invoice = sampleBatch(1).invoices[0]!;
  const html = new TextDecoder().decode(
    renderInvoiceHtml(invoice, "GBP", {
      legalName: "Acme <Ltd>",
      country: "GB",
      vatNumber: "GB123456789",
      paymentTermsDays: 30,
    }),
  );
  expect(html).toContain("Acme &#60;Ltd&#62;");
  expect(html).toContain("by 2026-12-30");
  expect(html).toContain("VAT GB123456789");
  expect(dueDate("2026-11-30", 14)).toBe("2026-12-14");
});

describe("what the real deps report when no good answer comes", () => {
  it("a refused connection: never connected (nothing sent); a slow answer: a timeout (may have arrived)", async () => {
    const slow = createServer((_request, response) => {
      setTimeout(() => response.end("{}"), 500);
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    // A port nobody listens on: bind one, note it, and close it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const request = {
        invoiceId: "INV-1001",
        to: "billing@acme.example.com",
        documentKey: "invoices/b-1/INV-1001",
        amountCents: 1000,
        currency: "GBP",
        idempotencyKey: "b-1:INV-1001",
      };
      const refused = createRealDeps(() => ({ ...baseConfig, invoicingUrl: closedUrl }));
      await expect(refused.sender.send(request)).rejects.toMatchObject({
        name: "ProviderUnreachableError",
        phase: "connect",
      });
      const timedOut = createRealDeps(() => ({ ...baseConfig, invoicingUrl: slowUrl, timeoutMs: 100 }));
      await expect(timedOut.sender.send(request)).rejects.toMatchObject({
        name: "ProviderUnreachableError",
        phase: "timeout",
      });
      const unconfigured = createRealDeps(() => baseConfig);
      await expect(unconfigured.sender.send(request)).rejects.toMatchObject({ name: "ConfigurationError" });
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it("asks an FX provider with the request id it must repeat, and returns the answer unparsed", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      response.end(
        JSON.stringify({ requestId: "b-1:GBP-EUR", from: "GBP", to: "EUR", rate: 1.15, extra: 1 }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const deps = createRealDeps(() => ({ ...baseConfig, fxUrls: { atlas: url, beacon: url, cedar: url } }));
      const answer = await deps.fxProviders[0]!.getRate({ requestId: "b-1:GBP-EUR", from: "GBP", to: "EUR" });
      // The workflow's step parses it (fxQuote), and refuses the extra field there.
      expect(answer).toMatchObject({ rate: 1.15, extra: 1 });
      expect(seen[0]!["x-request-id"]).toBe("b-1:GBP-EUR");
    } finally {
      server.close();
    }
  });
});

describe("what the real deps let out of a provider's words, and into a URL", () => {
  it("cuts the token sent, and any bearer or basic credential, out of an error page; ordinary words stay", () => {
    expect(
      redact("echo: authorization: Bearer sk_live_123456789 and sk_live_123456789", "sk_live_123456789"),
    ).toBe("echo: authorization: Bearer [redacted] and [redacted]");
    expect(redact("Authorization: Basic c3ZjOmh1bnRlcjJwYXNz", undefined)).toBe(
      "Authorization: Basic [redacted]",
    );
    expect(redact("a basic plan is required", undefined)).toBe("a basic plan is required");
  });

  it.each([
    ["", "CRM_API_URL is not set"],
    ["not a url", "CRM_API_URL is not a URL"],
    [
      "https://svc-user:hunter2pass@crm.example.com/",
      "CRM_API_URL must not contain credentials (user:password@): put the service's token in the secret named " +
        "by CRM_API_TOKEN_SECRET_ARN",
    ],
    ["ftp://crm.example.com/", "CRM_API_URL must be an http(s) URL"],
  ])("refuses the CRM base URL %j, naming the setting, never the value", (url, message) => {
    expect(() => serviceUrl("crm", url)).toThrow(new ConfigurationError(message));
  });

  it("names each service's settings after it", () => {
    expect(settingsOf("tax-registry")).toEqual({
      url: "TAX_REGISTRY_API_URL",
      token: "TAX_REGISTRY_API_TOKEN",
    });
    expect(settingsOf("fx-atlas")).toEqual({ url: "FX_ATLAS_URL", token: "FX_ATLAS_TOKEN" });
    expect(serviceUrl("invoicing", "https://billing.example.com/v1").toString()).toBe(
      "https://billing.example.com/v1/",
    );
  });
});
