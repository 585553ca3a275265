import { PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig } from "@aws-sdk/client-s3";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { classifyRead, ConfigurationError, createRealDeps, type RealDepsConfig } from "../src";
import { readRetry } from "../src/call-outcomes";
import { startLocalS3, type LocalS3 } from "./local-s3";

/**
 * The S3 document store of the real deps (src/deps.ts), against a real S3 implementation (s3rver on
 * 127.0.0.1, test/local-s3.ts) through the real S3Client; and, for what that server cannot produce (throttling,
 * S3's own 500, a timeout, S3's refusal of a conditional write), against aws-sdk-client-mock on S3Client.
 */
const config = (bucket = "invoices-bucket"): RealDepsConfig => ({
  documentBucket: bucket,
  crmUrl: "",
  ledgerUrl: "",
  taxRegistryUrl: "",
  invoicingUrl: "",
  fxUrls: {},
});

/** A document as the renderer makes them: hundreds of kilobytes, every byte value present. */
const documentOf = (size: number, seed = 0) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed + (i >> 8)) % 256);

describe("against a real local S3 (s3rver)", () => {
  let s3: LocalS3;
  beforeAll(async () => (s3 = await startLocalS3(["invoices-bucket"])));
  afterAll(() => s3.close());

  it("stores the document under its key, and S3 serves it back byte for byte with its content type", async () => {
    const deps = createRealDeps(() => config(), s3.client);
    const body = documentOf(300 * 1024);
    await deps.documents.put({ key: "invoices/b-1/INV-1001/abc", body, contentType: "application/pdf" });

    expect(await s3.keys()).toContain("invoices/b-1/INV-1001/abc");
    const stored = await s3.object("invoices/b-1/INV-1001/abc");
    expect(stored.contentType).toBe("application/pdf");
    expect(stored.body.byteLength).toBe(body.byteLength);
    expect(stored.body.equals(Buffer.from(body))).toBe(true);
  });

  it("a repeated put of the same document under the same key is harmless: one object, the same bytes", async () => {
    const deps = createRealDeps(() => config(), s3.client);
    const body = new TextEncoder().encode("<h1>Invoice INV-1002</h1>");
    const put = { key: "invoices/b-1/INV-1002/def", body, contentType: "text/html; charset=utf-8" };
    await deps.documents.put(put);
    await expect(deps.documents.put(put)).resolves.toBeUndefined();

    expect((await s3.keys()).filter((key) => key.startsWith("invoices/b-1/INV-1002/"))).toEqual([
      "invoices/b-1/INV-1002/def",
    ]);
    const stored = await s3.object("invoices/b-1/INV-1002/def");
    expect(stored).toEqual({ body: Buffer.from(body), contentType: "text/html; charset=utf-8" });
  });

  it("every put is create-only on the wire: If-None-Match: * (S3 refuses it with 412 when the key exists)", async () => {
    // s3rver 3.7.1 honours If-None-Match on GET only, so the refusal itself is proven against the mock below;
    // here, that the condition is on the request S3 receives.
    const client = s3.client();
    const sentHeaders: Array<Record<string, string>> = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        sentHeaders.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: "finalizeRequest", name: "recordSentHeaders" },
    );
    const deps = createRealDeps(
      () => config(),
      () => client,
    );
    await deps.documents.put({
      key: "invoices/b-1/INV-1003/aaa",
      body: documentOf(64),
      contentType: "text/html",
    });
    expect(sentHeaders).toHaveLength(1);
    expect(sentHeaders[0]!["if-none-match"]).toBe("*");
    expect(sentHeaders[0]!["content-type"]).toBe("text/html");
  });

  it("a bucket that does not exist: a configuration error naming INVOICE_BUCKET, never retried", async () => {
    const deps = createRealDeps(() => config("no-such-invoices-bucket"), s3.client);
    const failure = await deps.documents
      .put({ key: "invoices/b-1/INV-1004/abc", body: documentOf(16), contentType: "text/html" })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as Error).message).toBe(
      'INVOICE_BUCKET names bucket "no-such-invoices-bucket", which does not exist (NoSuchBucket): create it ' +
        "or correct the setting",
    );
    expect(classifyRead(failure)).toMatchObject({ outcome: "not-done", retry: false });
    expect(readRetry()(failure as Error, 1)).toEqual({ shouldRetry: false });
  });

  it("loads the S3 client module when the first document is stored, not at import, and makes one client per sandbox", async () => {
    // The real module, wrapped to count when it is evaluated and how many clients are made; the clients it
    // makes talk to the local S3, so the two puts are counted by S3 itself.
    const record = { evaluated: 0, clients: 0 };
    const endpoint = s3.endpoint;
    await jest
      .isolateModulesAsync(async () => {
        jest.doMock("@aws-sdk/client-s3", () => {
          record.evaluated += 1;
          const actual = jest.requireActual<typeof import("@aws-sdk/client-s3")>("@aws-sdk/client-s3");
          class CountedS3Client extends actual.S3Client {
            constructor(options: S3ClientConfig = {}) {
              super({
                ...options,
                endpoint,
                forcePathStyle: true,
                region: "us-east-1",
                credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
              });
              record.clients += 1;
            }
          }
          return { ...actual, S3Client: CountedS3Client };
        });
        const module = await import("../src/index");
        expect(typeof module.handler).toBe("function");
        expect(record.evaluated).toBe(0);

        const deps = module.createRealDeps(() => config());
        const body = new TextEncoder().encode("<h1>Invoice</h1>");
        await deps.documents.put({ key: "invoices/lazy/INV-1001", body, contentType: "text/html" });
        await deps.documents.put({ key: "invoices/lazy/INV-1002", body, contentType: "text/html" });
      })
      .finally(() => jest.dontMock("@aws-sdk/client-s3"));
    expect(record).toEqual({ evaluated: 1, clients: 1 });
    expect((await s3.keys()).filter((key) => key.startsWith("invoices/lazy/"))).toEqual([
      "invoices/lazy/INV-1001",
      "invoices/lazy/INV-1002",
    ]);
  });
});

describe("what the local S3 cannot produce (aws-sdk-client-mock on S3Client)", () => {
  // Made when this block starts, and restored after it: it replaces S3Client's send for every client.
  let s3Mock: AwsClientStub<S3Client>;
  beforeAll(() => (s3Mock = mockClient(S3Client)));
  afterEach(() => s3Mock.reset());
  afterAll(() => s3Mock.restore());

  const put = () =>
    createRealDeps(
      () => config(),
      () => new S3Client({ region: "us-east-1" }),
    )
      .documents.put({ key: "invoices/b-1/INV-1001/abc", body: documentOf(32), contentType: "text/html" })
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
  const s3Error = (name: string, status: number, message: string) =>
    new S3ServiceException({
      name,
      $fault: status >= 500 ? "server" : "client",
      $metadata: { httpStatusCode: status },
      message,
    });

  it("the key already there (S3's 412 PreconditionFailed): the same document, so the put succeeds and nothing is replaced", async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejects(s3Error("PreconditionFailed", 412, "At least one precondition failed"));
    await expect(put()).resolves.toBeUndefined();
    const calls = s3Mock.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toMatchObject({ Bucket: "invoices-bucket", IfNoneMatch: "*" });
  });

  it.each([
    ["SlowDown", 503, "Please reduce your request rate."],
    ["InternalError", 500, "We encountered an internal error. Please try again."],
  ])(
    "S3 answers %s (%i): reported as the status, retried by the render step",
    async (name, status, message) => {
      s3Mock.on(PutObjectCommand).rejects(s3Error(name, status, message));
      const failure = await put();
      expect(failure).toMatchObject({ name: "ProviderHttpError", status });
      expect(failure!.message).toBe(
        `S3 PutObject invoices/b-1/INV-1001/abc into invoices-bucket answered ${status}: ${name}: ${message}`,
      );
      expect(classifyRead(failure)).toMatchObject({ outcome: "not-done", retry: true });
      expect(readRetry()(failure!, 1).shouldRetry).toBe(true);
    },
  );

  it("no answer in time (the client's TimeoutError): a timeout, retried (the same bytes under the same key again are harmless)", async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error("Connection timed out after 30000 ms"), { name: "TimeoutError" }));
    const failure = await put();
    expect(failure).toMatchObject({ name: "ProviderUnreachableError", phase: "timeout" });
    expect(readRetry()(failure!, 1).shouldRetry).toBe(true);
  });

  it("AccessDenied (403): refused, not retried; a client error of 1 MB is kept to a few hundred characters, on one line", async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejects(s3Error("AccessDenied", 403, `Access Denied\n${"\u001b[31m\r\n".repeat(150_000)}`));
    const failure = await put();
    expect(failure).toMatchObject({ name: "ProviderHttpError", status: 403 });
    expect(failure!.message.length).toBeLessThan(400);
    expect(failure!.message).not.toMatch(/[\n\r]/);
    expect(readRetry()(failure!, 1)).toEqual({ shouldRetry: false });
  });
});
