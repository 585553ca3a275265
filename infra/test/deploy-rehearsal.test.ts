/**
 * The deploy rehearsal: the closest this machine comes to `cdk deploy`. The stack is synthesized with bundling on;
 * each durable function's asset is taken from the cloud assembly exactly as it would be uploaded and loaded in a
 * fresh Node 24 process with the environment the template gives it (the services' URLs through
 * `patternEnvironment`, as a user configures them; secrets by ARN), and its happy path runs through
 * LocalDurableTestRunner against local servers: the providers over HTTP, Secrets Manager and Bedrock stand-ins,
 * DynamoDB (dynalite) and S3 (s3rver). It proves the handler paths, the bundling, the environment names and the
 * real deps together. What it cannot prove: IAM (see the policy tests), and the real services' behaviour.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { secretsManager } from "./rehearsal/aws-stand-ins";
import { localDynamoDb, localS3 } from "./rehearsal/local-aws";
import { providers } from "./rehearsal/providers";
import { synthesize, type DeployedFunction, type Synthesized } from "./rehearsal/synthesized";
import { mapParallelWorld, sagaWorld, stepsWorld, type World } from "./rehearsal/worlds";

jest.setTimeout(240_000);

const CHILD = path.join(__dirname, "rehearsal", "child.mjs");
const TOKEN = "rehearsal-token-7f3a";

interface Job {
  function: DeployedFunction;
  registered?: (DeployedFunction & { name: string })[];
  input: unknown;
  callbacks?: { operation: string; answer: unknown }[];
}

interface Outcome {
  node: string;
  status: string;
  result: unknown;
  error: unknown;
  operations: string[];
}

/** Runs one job in a fresh Node process (Node 24: the runtime the stack deploys), with only the given env. */
function rehearse(job: Job, env: Record<string, string>): Promise<Outcome> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "rehearsal-job-")), "job.json");
  writeFileSync(file, JSON.stringify(job));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file], {
      cwd: path.dirname(CHILD),
      env: { PATH: process.env.PATH ?? "", AWS_LAMBDA_LOG_LEVEL: "WARN", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as Outcome);
      } catch {
        reject(new Error(`the rehearsal of ${job.function.logicalId} exited ${code}:\n${stdout}\n${stderr}`));
      }
    });
  });
}

type Providers = Awaited<ReturnType<typeof providers>>;

describe("deploy rehearsal", () => {
  let synthesized: Synthesized;
  let secrets: Awaited<ReturnType<typeof secretsManager>>;
  let dynamodb: Awaited<ReturnType<typeof localDynamoDb>>;
  let s3: Awaited<ReturnType<typeof localS3>>;
  const worlds: Record<string, World> = {
    steps: stepsWorld,
    saga: sagaWorld,
    "map-parallel": mapParallelWorld,
  };
  const services: Record<string, Providers> = {};
  const secretValues = new Map<string, string>();

  /** What the AWS SDK clients in the bundle need to reach the local services instead of AWS. */
  const awsEnv = (): Record<string, string> => ({
    AWS_REGION: "us-east-1",
    // s3rver's own credentials; the other local services accept any.
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
    AWS_ENDPOINT_URL_S3: s3.url,
  });
  const fn = (logicalIdPrefix: string): DeployedFunction => {
    const found = synthesized.functions.find((candidate) => candidate.logicalId.startsWith(logicalIdPrefix));
    if (!found) throw new Error(`no function ${logicalIdPrefix} in the template`);
    return found;
  };
  const resourcesOfType = (type: string) =>
    Object.entries(synthesized.template.Resources).filter(([, resource]) => resource.Type === type);

  beforeAll(async () => {
    secrets = await secretsManager(secretValues);
    [dynamodb, s3] = await Promise.all([localDynamoDb(), localS3()]);
    for (const [pattern, world] of Object.entries(worlds)) services[pattern] = await providers(world.answer);
    synthesized = synthesize({
      stage: "rehearsal",
      ...(process.env.REHEARSE_ONLY ? { patterns: process.env.REHEARSE_ONLY } : {}),
      patternEnvironment: Object.fromEntries(
        Object.entries(worlds).map(([pattern, world]) => [pattern, world.settings(services[pattern]!.url)]),
      ),
    });
    // After `cdk deploy`: every secret the stack created holds its value (aws secretsmanager put-secret-value),
    // and every table and bucket exists as the template defines it.
    for (const [logicalId] of resourcesOfType("AWS::SecretsManager::Secret")) {
      secretValues.set(synthesized.physicalValue(logicalId), TOKEN);
    }
    const client = new DynamoDBClient({
      endpoint: dynamodb.url,
      region: "us-east-1",
      credentials: { accessKeyId: "r", secretAccessKey: "r" },
    });
    for (const [logicalId, table] of resourcesOfType("AWS::DynamoDB::Table")) {
      const { KeySchema, AttributeDefinitions } = table.Properties as {
        KeySchema: never;
        AttributeDefinitions: never;
      };
      await client.send(
        new CreateTableCommand({
          TableName: synthesized.physicalValue(logicalId),
          KeySchema,
          AttributeDefinitions,
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
    }
    client.destroy();
    for (const [logicalId] of resourcesOfType("AWS::S3::Bucket"))
      await s3.createBucket(synthesized.physicalValue(logicalId));
  });

  afterAll(async () => {
    await Promise.all([
      secrets?.close(),
      dynamodb?.close(),
      s3?.close(),
      ...Object.values(services).map((p) => p.close()),
    ]);
  });

  const run = (handler: DeployedFunction, job: Omit<Job, "function">) =>
    rehearse({ function: handler, ...job }, { ...handler.environment, ...awsEnv() });

  /** Every request a pattern's providers received carried the token put in the secret, and nothing else. */
  const expectTokenFromSecret = (received: { authorization?: string }[]) => {
    expect(received.length).toBeGreaterThan(0);
    for (const request of received) expect(request.authorization).toBe(`Bearer ${TOKEN}`);
  };

  it("deploys every durable function on Node 24", () => {
    const durable = synthesized.functions.filter((f) => f.environment.COOKBOOK_STAGE !== undefined);
    expect(durable.length).toBeGreaterThanOrEqual(process.env.REHEARSE_ONLY ? 1 : 10);
    for (const f of durable) expect(f.runtime).toBe("nodejs24.x");
  });

  it("steps: the bundled handler fulfils an order against the services over HTTP", async () => {
    const handler = fn("StepsHandlerFunction");
    const outcome = await run(handler, {
      input: {
        orderId: "order-1042",
        customer: { id: "cust-7", email: "ada@example.com" },
        items: [{ sku: "MUG-BLUE", quantity: 2, unitPriceCents: 2450 }],
        currency: "EUR",
        shipTo: {
          name: "Ada Lovelace",
          line1: "12 St James's Sq",
          city: "London",
          postalCode: "SW1Y 4JH",
          country: "GB",
        },
      },
    });
    expect(outcome.node.split(".")[0]).toBe("24");
    if (outcome.status !== "SUCCEEDED") console.log(JSON.stringify(outcome.error));
    expect(outcome).toMatchObject({ status: "SUCCEEDED", result: { status: "FULFILLED" } });
    // The providers' own records: one of each, under the configured base paths, with the token from the secret.
    const steps = services.steps!;
    expect(steps.to("POST", "/inventory/reservations")).toHaveLength(1);
    expect(steps.to("POST", "/payments/charges")).toHaveLength(1);
    expect(steps.to("POST", "/shipping/shipments")).toHaveLength(1);
    expect(steps.to("POST", "/notifications/messages").length).toBeGreaterThanOrEqual(1);
    expectTokenFromSecret(steps.received);
    expect(secrets.reads).toContain(handler.environment.ORDER_API_TOKEN_SECRET_ARN);
  });

  it("saga: the orchestrator books a trip, the payment function charging from its own bundle", async () => {
    const orchestrator = fn("SagaHandlerFunction");
    const payment = fn("SagaPaymentHandlerFunction");
    const outcome = await run(orchestrator, {
      // context.invoke names the payment function by the alias ARN the template puts in PAYMENT_FUNCTION_ARN.
      registered: [{ ...payment, name: orchestrator.environment.PAYMENT_FUNCTION_ARN! }],
      input: {
        bookingId: "trip-2041",
        traveller: { customerId: "cust-88", email: "grace@example.com", party: 2 },
        flight: { from: "LHR", to: "JFK", departOn: "2027-05-03", returnOn: "2027-05-10" },
        hotel: { hotelId: "nyc-park-4411" },
        car: { category: "midsize" },
        price: { amountCents: 248_000, currency: "GBP" },
      },
    });
    expect(outcome).toMatchObject({ status: "SUCCEEDED", result: { status: "CONFIRMED" } });
    const saga = services.saga!;
    for (const service of ["flights", "hotels", "cars"])
      expect(saga.to("POST", `/${service}/reservations`)).toHaveLength(1);
    expect(saga.to("POST", "/gateway/charges")).toHaveLength(1);
    expect(saga.to("POST", "/itineraries/itineraries")).toHaveLength(1);
    expectTokenFromSecret(saga.received);
    // The breaker's state lives in the stack's table (dynalite here), written by the bundled DynamoDB client.
    const client = new DynamoDBClient({
      endpoint: dynamodb.url,
      region: "us-east-1",
      credentials: { accessKeyId: "r", secretAccessKey: "r" },
    });
    const { Items } = await client.send(
      new ScanCommand({ TableName: orchestrator.environment.BREAKER_TABLE_NAME }),
    );
    client.destroy();
    expect(Items?.length ?? 0).toBeGreaterThanOrEqual(0);
  });

  it("map-parallel: the bundled handler sends a batch, its documents stored in the stack's bucket", async () => {
    const handler = fn("MapParallelHandlerFunction");
    const invoices = Array.from({ length: 5 }, (_, index) => ({
      invoiceId: `INV-${1001 + index}`,
      amountCents: 10_000 + index * 100,
      issueDate: "2026-11-30",
      purchaseOrder: `PO-${5000 + index}`,
    }));
    const outcome = await run(handler, {
      input: {
        batchId: "2026-11-acme",
        customerId: "acme",
        vatNumber: "GB123456789",
        currency: "GBP",
        invoices,
      },
    });
    if ((outcome.result as { outcome?: string } | undefined)?.outcome !== "ALL_SENT")
      console.log(JSON.stringify(outcome.result).slice(0, 1500));
    expect(outcome).toMatchObject({ status: "SUCCEEDED", result: { outcome: "ALL_SENT" } });
    const billing = services["map-parallel"]!;
    const sent = billing
      .to("POST", "/invoicing/invoices")
      .map((r) => (r.body as { invoiceId: string }).invoiceId);
    expect(new Set(sent)).toEqual(new Set(invoices.map((invoice) => invoice.invoiceId)));
    expectTokenFromSecret(billing.received);
    // s3rver's own record: one document per invoice in the bucket the template names.
    expect(await s3.keys(handler.environment.INVOICE_BUCKET!)).toHaveLength(invoices.length);
  });
});
