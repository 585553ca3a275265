/**
 * The deploy rehearsal: the closest this machine comes to `cdk deploy`. The stack is synthesized with bundling on;
 * each durable function's asset is taken from the cloud assembly exactly as it would be uploaded and loaded in a
 * fresh Node 24 process with the environment the template gives it (the services' URLs through
 * `patternEnvironment`, as a user configures them; secrets by ARN), and its happy path runs through
 * LocalDurableTestRunner against local servers: the providers over HTTP, Secrets Manager, Bedrock and Lambda
 * stand-ins, DynamoDB (dynalite) and S3 (s3rver). The front door's plain functions run from their own bundle the
 * same way, called with the events Lambda would give them. It proves the handler paths, the bundling, the
 * environment names and the real deps together. What it cannot prove: IAM (see the policy tests), the real
 * services' behaviour, and Lambda's own start semantics (an Event invoke here is recorded, not run).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createHmac } from "node:crypto";
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { bedrockConverse, lambdaApi, secretsManager, toolResultsSentBack } from "./rehearsal/aws-stand-ins";
import { localDynamoDb, localS3 } from "./rehearsal/local-aws";
import { providers } from "./rehearsal/providers";
import { synthesize, type DeployedFunction, type Synthesized } from "./rehearsal/synthesized";
import {
  agentLoopWorld,
  entryPointsWorld,
  GATEWAY_TOKEN,
  mapParallelWorld,
  paymentIdOf,
  sagaWorld,
  stepsWorld,
  supportModelReply,
  waitCallbackWorld,
  WEBHOOK_SECRET,
  type World,
} from "./rehearsal/worlds";

jest.setTimeout(240_000);

const CHILD = path.join(__dirname, "rehearsal", "child.cjs");
const TOKEN = "rehearsal-token-7f3a";

/** A durable function's happy path through LocalDurableTestRunner (child.cjs, durable mode). */
interface DurableJob {
  mode?: "durable";
  function: DeployedFunction;
  /** Invoked by name (context.invoke), each with its own environment (`env`: the template's, set by `run`). */
  registered?: (DeployedFunction & { name: string; env?: Record<string, string> })[];
  input: unknown;
  /** Answered once the callback exists and, with `after`, once that operation (the one sending its id) completed. */
  callbacks?: {
    operation: string;
    after?: string;
    /** The answer as a string of JSON, or, with `deliveredBy`, what a front door sent Lambda for the callback. */
    answer?: unknown;
    deliveredBy?: string;
  }[];
  timeoutMs?: number;
}

/** A plain handler called with each event in turn, in one sandbox (child.cjs, plain mode). */
interface PlainJob {
  mode: "plain";
  function: DeployedFunction;
  events: unknown[];
  timeoutMs?: number;
}

interface Outcome {
  node: string;
  status: string;
  result?: unknown;
  error?: unknown;
  operations?: string[];
  answered?: string[];
  /** Plain mode: what the handler returned (or threw) for each event. */
  results?: ({ returned: unknown } | { threw: { name?: string; message?: string } })[];
}

/** How long one function may take before the child reports what it was waiting for. */
const RUN_TIMEOUT_MS = 45_000;

/** Runs one job in a fresh Node process (Node 24: the runtime the stack deploys), with only the given env. */
function rehearse(job: DurableJob | PlainJob, env: Record<string, string>): Promise<Outcome> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "rehearsal-job-")), "job.json");
  writeFileSync(file, JSON.stringify({ timeoutMs: RUN_TIMEOUT_MS, ...job }));
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
    // The child reports a hang itself; this is for a child that cannot even do that.
    const killer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS + 15_000);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as Outcome);
      } catch {
        const tail = (text: string) => text.split("\n").slice(-30).join("\n");
        reject(
          new Error(
            `the rehearsal of ${job.function.logicalId} exited ${signal ?? code} without an outcome:\n` +
              `${tail(stdout)}\n${tail(stderr)}`,
          ),
        );
      }
    });
  });
}

/** The execution succeeded, or the test fails with what the execution said (its error, the operations it ran). */
function succeeded(fn: DeployedFunction, outcome: Outcome): unknown {
  if (outcome.status !== "SUCCEEDED") {
    throw new Error(
      `${fn.logicalId} ended ${outcome.status}: ${JSON.stringify(outcome.error)}\n` +
        `operations: ${(outcome.operations ?? []).join(", ") || "none"}; callbacks answered: ${(outcome.answered ?? []).join(", ") || "none"}`,
    );
  }
  return outcome.result;
}

/** What a plain handler returned for each event; a handler that threw fails the test with its error. */
function returned(fn: DeployedFunction, outcome: Outcome): unknown[] {
  if (outcome.status !== "RETURNED")
    throw new Error(`${fn.logicalId} ${outcome.status}: ${JSON.stringify(outcome.error)}`);
  return (outcome.results ?? []).map((result, index) => {
    if ("threw" in result)
      throw new Error(`${fn.logicalId} threw on event ${index + 1}: ${JSON.stringify(result.threw)}`);
    return result.returned;
  });
}

/** A Function URL event (payload 2.0), as Lambda hands it to the front door. */
const urlEvent = (method: string, rawPath: string, body?: string, headers: Record<string, string> = {}) => ({
  version: "2.0",
  routeKey: "$default",
  rawPath,
  rawQueryString: "",
  headers: { "content-type": "application/json", ...headers },
  requestContext: { http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1" } },
  ...(body === undefined ? {} : { body }),
  isBase64Encoded: false,
});

/**
 * Functions in the template whose code is not a bundle of this repository, so nothing here can rehearse them,
 * each with the reason.
 */
const NOT_OURS: Record<string, string> = {
  CustomS3AutoDeleteObjectsCustomResourceProvider:
    "aws-cdk-lib's own custom resource provider that empties map-parallel's bucket when the stack is deleted " +
    "(autoDeleteObjects): its code is an asset of aws-cdk-lib, not a bundle of ours, and it runs only on delete",
};

/** The patterns this run synthesizes (REHEARSE_ONLY=steps,saga narrows it while iterating). */
const ONLY = process.env.REHEARSE_ONLY?.split(",").map((name) => name.trim());
/** Which story rehearses which functions (logical id prefixes), as the stories declare it. */
const claims: { story: string; functions: string[] }[] = [];
/**
 * One story per pattern, naming the functions it runs from their bundle; a pattern left out by REHEARSE_ONLY is
 * skipped, not failed.
 */
const story = (pattern: string, functions: string[], title: string, body: () => Promise<void>) => {
  claims.push({ story: pattern, functions });
  (ONLY && !ONLY.includes(pattern) ? it.skip : it)(`${pattern}: ${title}`, body);
};

type Providers = Awaited<ReturnType<typeof providers>>;

describe("deploy rehearsal", () => {
  let synthesized: Synthesized;
  let secrets: Awaited<ReturnType<typeof secretsManager>>;
  let bedrock: Awaited<ReturnType<typeof bedrockConverse>>;
  let lambda: Awaited<ReturnType<typeof lambdaApi>>;
  let dynamodb: Awaited<ReturnType<typeof localDynamoDb>>;
  let s3: Awaited<ReturnType<typeof localS3>>;
  const worlds: Record<string, World> = {
    steps: stepsWorld,
    saga: sagaWorld,
    "map-parallel": mapParallelWorld,
    "wait-callback": waitCallbackWorld,
    "agent-loop": agentLoopWorld,
    "entry-points": entryPointsWorld,
  };
  const services: Record<string, Providers> = {};
  const secretValues = new Map<string, string>();
  /** The logical ids the stories ran from their bundle, each with the Node version its process reported. */
  const ran = new Map<string, string>();
  const record = async (ids: string[], running: Promise<Outcome>) => {
    for (const id of ids) ran.set(id, "no outcome");
    const outcome = await running;
    for (const id of ids) ran.set(id, outcome.node);
    return outcome;
  };

  /** What the AWS SDK clients in the bundle need to reach the local services instead of AWS. */
  const awsEnv = (): Record<string, string> => ({
    AWS_REGION: "us-east-1",
    // s3rver's own credentials; the other local services accept any.
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
  });
  const fn = (logicalIdPrefix: string): DeployedFunction => {
    const found = synthesized.functions.find((candidate) => candidate.logicalId.startsWith(logicalIdPrefix));
    if (!found) throw new Error(`no function ${logicalIdPrefix} in the template`);
    return found;
  };
  const ours = () =>
    synthesized.functions.filter(
      (f) => !Object.keys(NOT_OURS).some((prefix) => f.logicalId.startsWith(prefix)),
    );
  const resourcesOfType = (type: string) =>
    Object.entries(synthesized.template.Resources).filter(([, resource]) => resource.Type === type);
  const dynamoClient = () =>
    new DynamoDBClient({
      endpoint: dynamodb.url,
      region: "us-east-1",
      credentials: { accessKeyId: "r", secretAccessKey: "r" },
    });

  /**
   * The callback id a running checkout registered for an order, read from the stack's table as the webhook reads
   * it; if the checkout ends first, or registers nothing within 20 s, the error says what it did instead.
   */
  const registeredCallback = async (
    checkout: DeployedFunction,
    orderId: string,
    running: Promise<Outcome>,
  ) => {
    let ended: Outcome | undefined;
    running.then((outcome) => (ended = outcome)).catch(() => undefined);
    const client = dynamoClient();
    try {
      for (let poll = 0; poll < 200 && !ended; poll += 1) {
        const { Item } = await client.send(
          new GetItemCommand({
            TableName: checkout.environment.CALLBACK_TABLE_NAME,
            Key: { orderId: { S: orderId } },
            ConsistentRead: true,
          }),
        );
        const callbackId = Item?.callbackId?.S;
        if (callbackId) return callbackId;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.destroy();
    }
    if (ended) succeeded(checkout, ended);
    throw new Error(
      `${checkout.logicalId} registered no callback for ${orderId}${ended ? "" : " within 20 s"}`,
    );
  };

  beforeAll(async () => {
    secrets = await secretsManager(secretValues);
    bedrock = await bedrockConverse(supportModelReply);
    lambda = await lambdaApi();
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
    for (const [pattern, world] of Object.entries(worlds)) {
      for (const [setting, value] of Object.entries(world.secrets?.(services[pattern]!.url) ?? {})) {
        for (const f of synthesized.functions) {
          const arn = f.environment[`${setting}_SECRET_ARN`];
          if (arn) secretValues.set(arn, value);
        }
      }
    }
    const client = dynamoClient();
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
      bedrock?.close(),
      lambda?.close(),
      dynamodb?.close(),
      s3?.close(),
      ...Object.values(services).map((p) => p.close()),
    ]);
  });

  const run = (handler: DeployedFunction, job: Omit<DurableJob, "function">) => {
    const registered = job.registered?.map((sibling) => ({
      ...sibling,
      env: {
        PATH: process.env.PATH ?? "",
        AWS_LAMBDA_LOG_LEVEL: "WARN",
        ...sibling.environment,
        ...awsEnv(),
      },
    }));
    return record(
      [handler.logicalId, ...(job.registered ?? []).map((sibling) => sibling.logicalId)],
      rehearse(
        { function: handler, ...job, ...(registered ? { registered } : {}) },
        { ...handler.environment, ...awsEnv() },
      ),
    );
  };
  /** A plain function of the front door: the Lambda API it calls is the stand-in (only here: the durable runs
   * checkpoint through the local runner, not through Lambda's endpoint). */
  const runPlain = (handler: DeployedFunction, events: unknown[]) => {
    return record(
      [handler.logicalId],
      rehearse(
        { mode: "plain", function: handler, events },
        { ...handler.environment, ...awsEnv(), AWS_ENDPOINT_URL_LAMBDA: lambda.url },
      ),
    );
  };

  /** Every request a pattern's providers received carried the token put in the secret. */
  const expectTokenFromSecret = (
    received: { method: string; path: string; authorization?: string }[],
    token = TOKEN,
  ) => {
    expect(received.length).toBeGreaterThan(0);
    const without = received.filter((r) => r.authorization !== `Bearer ${token}`);
    // Named by route, so a failure says which call went without the token (or with another).
    expect(without.map((r) => `${r.method} ${r.path}: ${r.authorization ?? "no Authorization"}`)).toEqual([]);
  };

  it("deploys every function of ours on Node 24, each one rehearsed by a story below", () => {
    expect(ours().length).toBeGreaterThanOrEqual(ONLY ? 1 : 10);
    for (const f of ours()) expect(`${f.logicalId} ${f.runtime}`).toBe(`${f.logicalId} nodejs24.x`);
    // Every function of ours in the template is claimed by a story (the last test checks each claimed one ran).
    const unclaimed = ours().filter(
      (f) => !claims.some((claim) => claim.functions.some((prefix) => f.logicalId.startsWith(prefix))),
    );
    expect(unclaimed.map((f) => f.logicalId)).toEqual([]);
    // What is excluded is in the template for the reason given, not a function of ours hiding behind a name.
    for (const f of synthesized.functions.filter((candidate) => !ours().includes(candidate)))
      expect(f.environment.COOKBOOK_STAGE).toBeUndefined();
  });

  story(
    "steps",
    ["StepsHandlerFunction"],
    "the bundled handler fulfils an order against the services over HTTP",
    async () => {
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
      expect(succeeded(handler, outcome)).toMatchObject({ status: "FULFILLED" });
      // The providers' own records: one of each, under the configured base paths, with the token from the secret.
      const steps = services.steps!;
      expect(steps.to("POST", "/inventory/reservations")).toHaveLength(1);
      expect(steps.to("POST", "/payments/charges")).toHaveLength(1);
      expect(steps.to("POST", "/shipping/shipments")).toHaveLength(1);
      expect(steps.to("POST", "/notifications/messages").length).toBeGreaterThanOrEqual(1);
      expectTokenFromSecret(steps.received);
      expect(secrets.reads).toContain(handler.environment.ORDER_API_TOKEN_SECRET_ARN);
    },
  );

  story(
    "saga",
    ["SagaHandlerFunction", "SagaPaymentHandlerFunction"],
    "the orchestrator books a trip, the payment function charging from its own bundle",
    async () => {
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
      // The breaker's state lives in the stack's table (dynalite here): the bundled DynamoDB client read it (a
      // table it could not read would be a side-work failure) and, the circuit closed, wrote nothing.
      expect(succeeded(orchestrator, outcome)).toMatchObject({ status: "CONFIRMED", sideWorkFailures: [] });
      const client = dynamoClient();
      const { Items } = await client.send(
        new ScanCommand({ TableName: orchestrator.environment.BREAKER_TABLE_NAME }),
      );
      client.destroy();
      expect(Items).toEqual([]);
      const saga = services.saga!;
      for (const service of ["flights", "hotels", "cars"])
        expect(saga.to("POST", `/${service}/reservations`)).toHaveLength(1);
      expect(saga.to("POST", "/gateway/charges")).toHaveLength(1);
      expect(saga.to("POST", "/itineraries/itineraries")).toHaveLength(1);
      // The trip services get the orchestrator's token; the gateway only the payment function's own, read from
      // the secret in its own environment (PAYMENT_GATEWAY_TOKEN_SECRET_ARN is not in the orchestrator's).
      expectTokenFromSecret(saga.received.filter((r) => !r.path.startsWith("/gateway/")));
      expectTokenFromSecret(
        saga.received.filter((r) => r.path.startsWith("/gateway/")),
        GATEWAY_TOKEN,
      );
      expect(orchestrator.environment.PAYMENT_GATEWAY_TOKEN_SECRET_ARN).toBeUndefined();
      expect(secrets.reads).toEqual(
        expect.arrayContaining([
          orchestrator.environment.TRIP_API_TOKEN_SECRET_ARN,
          payment.environment.PAYMENT_GATEWAY_TOKEN_SECRET_ARN,
        ]),
      );
    },
  );

  story(
    "map-parallel",
    ["MapParallelHandlerFunction"],
    "the bundled handler sends a batch, its documents stored in the stack's bucket",
    async () => {
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
      const result = succeeded(handler, outcome) as { outcome?: string };
      if (result.outcome !== "ALL_SENT")
        throw new Error(`${handler.logicalId}: not ALL_SENT: ${JSON.stringify(result).slice(0, 1500)}`);
      const billing = services["map-parallel"]!;
      const sent = billing
        .to("POST", "/invoicing/invoices")
        .map((r) => (r.body as { invoiceId: string }).invoiceId);
      expect(new Set(sent)).toEqual(new Set(invoices.map((invoice) => invoice.invoiceId)));
      expectTokenFromSecret(billing.received);
      // s3rver's own record: one document per invoice in the bucket the template names.
      expect(await s3.keys(handler.environment.INVOICE_BUCKET!)).toHaveLength(invoices.length);
    },
  );

  story(
    "wait-callback",
    ["WaitCallbackHandlerFunction"],
    "the bundled handler asks the manager over the chat webhook, and her answer orders the desk",
    async () => {
      const handler = fn("WaitCallbackHandlerFunction");
      const outcome = await run(handler, {
        input: {
          requestId: "PR-2042",
          requester: { id: "u-ada", name: "Ada", email: "ada@example.com" },
          item: { description: "Standing desk", supplier: "acme-office", quantity: 2 },
          amountCents: 129_900,
          currency: "EUR",
          approvers: { manager: { id: "u-dana", name: "Dana" }, director: { id: "u-sam", name: "Sam" } },
        },
        // Dana answers once the chat message with her links went out.
        callbacks: [
          {
            operation: "ask-manager",
            after: "notify-manager",
            answer: { decision: "approve", decidedBy: "u-dana" },
          },
        ],
      });
      expect(succeeded(handler, outcome)).toMatchObject({ status: "SHIPPED" });
      const purchasing = services["wait-callback"]!;
      expect(purchasing.to("POST", "/chat/hooks/T0K3N-in-the-path")).toHaveLength(1);
      expect(purchasing.to("POST", "/supplier/orders")).toHaveLength(1);
      // The bearer token goes to the two APIs; the chat webhook authenticates by its URL.
      expectTokenFromSecret(purchasing.received.filter((r) => !r.path.startsWith("/chat/")));
    },
  );

  story(
    "agent-loop",
    ["AgentLoopHandlerFunction"],
    "the bundled agent talks to Bedrock's Converse API, and a person's approval pays one refund",
    async () => {
      const handler = fn("AgentLoopHandlerFunction");
      const outcome = await run(handler, {
        input: {
          customerId: "cust-7",
          orderId: "order-1042",
          question: "Both mugs from order-1042 arrived cracked. Can I get my money back?",
        },
        // The deployed handler's approver (defaultConfig.refundApprover), answering once the request reached them.
        callbacks: [
          {
            operation: "approve-refund-order-1042",
            after: "request-approval-order-1042",
            answer: { approved: true, approver: "support-lead", note: "Photo shows both mugs cracked" },
          },
        ],
      });
      expect(succeeded(handler, outcome)).toMatchObject({ status: "ANSWERED", turns: 4 });
      // The back office's own records: one refund, under the key of the order's first refund, for what was paid.
      const office = services["agent-loop"]!;
      const refunds = office.to("POST", "/back-office/refunds");
      expect(refunds).toHaveLength(1);
      expect(refunds[0]).toMatchObject({
        idempotencyKey: "order-1042:refund-1",
        body: { orderId: "order-1042", amountCents: 2500, currency: "EUR", reason: "damaged" },
      });
      const approvals = office.to("POST", "/back-office/approvals");
      expect(approvals).toHaveLength(1);
      expect(approvals[0]!.body).toMatchObject({ approver: "support-lead", amountCents: 2500 });
      expectTokenFromSecret(office.received);
      // The stand-in's record: every turn asked the model the template names, and got the tool results back.
      expect(bedrock.requests.map((r) => r.modelId)).toEqual(
        Array(4).fill(handler.environment.BEDROCK_MODEL_ID),
      );
      // What the function sent back with each turn (the results of the tools the model asked for before it).
      const refundId = `re-${office.received.indexOf(refunds[0]!) + 1}`; // the back office's id for the refund
      const success = (toolUseId: string, facts: object) => [
        { toolUseId, status: "success", content: [{ json: expect.objectContaining(facts) as unknown }] },
      ];
      expect(bedrock.requests.map(toolResultsSentBack)).toEqual([
        [],
        success("tooluse-1-1", { orderId: "order-1042", totalCents: 2500 }),
        success("tooluse-2-1", { eligible: true, refundableNowCents: 2500 }),
        success("tooluse-3-1", { refundId, amountCents: 2500, approvedBy: "support-lead" }),
      ]);
      expect(bedrock.requests[0]!.body.toolConfig?.tools?.map((tool) => tool.toolSpec?.name)).toEqual([
        "lookup_order",
        "check_refund_policy",
        "issue_refund",
      ]);
    },
  );

  story(
    "entry-points",
    [
      "EntryPointsHandlerFunction",
      "EntryPointsFrontDoorapiFunction",
      "EntryPointsFrontDoorwebhookFunction",
      "EntryPointsFrontDoorstarterFunction",
    ],
    "the checkout waits for the signed webhook; the API, the webhook and the queue start and resume it",
    async () => {
      const checkout = fn("EntryPointsHandlerFunction");
      const order = (orderId: string) => ({
        orderId,
        customerId: "cust-7",
        items: [{ sku: "MUG-BLUE", quantity: 2 }],
        amountCents: 4900,
        currency: "EUR",
      });
      const paymentEvent = (orderId: string) => ({
        id: `evt_${orderId.replace(/[^A-Za-z0-9]/g, "")}`,
        type: "payment.succeeded",
        data: {
          paymentId: paymentIdOf(orderId),
          merchantReference: orderId,
          amountCents: 4900,
          currency: "EUR",
        },
      });

      // 1. The durable checkout starts: it registers its callback in the stack's table and asks for the payment,
      // then waits for whatever the front door's webhook sends Lambda for its callback id.
      const checkoutRun = run(checkout, {
        input: order("A-1001"),
        callbacks: [
          { operation: "payment-webhook", after: "request-payment", deliveredBy: lambda.deliveries },
        ],
      });
      checkoutRun.catch(() => undefined); // awaited below; a failure before then must not go unhandled
      // dynalite's record: the bundled DynamoDB client wrote the callback id under the order id.
      const callbackId = await registeredCallback(checkout, "A-1001", checkoutRun);

      // 2. The API starts an order through the alias in CHECKOUT_FUNCTION_ARN (Event, named by the order), then reads it.
      const api = fn("EntryPointsFrontDoorapiFunction");
      const [started, read] = returned(
        api,
        await runPlain(api, [
          urlEvent("POST", "/orders", JSON.stringify(order("A-1002"))),
          urlEvent("GET", "/orders/A-1002"),
        ]),
      ) as { statusCode: number; body: string }[];
      expect({ ...started!, body: JSON.parse(started!.body) as unknown }).toMatchObject({
        statusCode: 202,
        body: { orderId: "A-1002", status: "RUNNING", statusUrl: "/orders/A-1002" },
      });
      expect({ ...read!, body: JSON.parse(read!.body) as unknown }).toMatchObject({
        statusCode: 200,
        body: { orderId: "A-1002", status: "RUNNING" },
      });
      const [aliasFunction, alias] = api.environment.CHECKOUT_FUNCTION_ARN!.split(":").slice(-2);
      expect(lambda.invocations).toEqual([
        {
          functionName: aliasFunction,
          qualifier: alias,
          invocationType: "Event",
          executionName: "order-A-1002",
          payload: order("A-1002"),
        },
      ]);
      expect(aliasFunction).toBe(checkout.logicalId);

      // 3. The webhook: a forged delivery is refused and completes nothing; a signed one completes the callback the
      // registry holds for the order, with the verified bytes, and those bytes resume the waiting checkout.
      const webhook = fn("EntryPointsFrontDoorwebhookFunction");
      const body = JSON.stringify(paymentEvent("A-1001"));
      const now = Math.floor(Date.now() / 1000);
      const sign = (secret: string) =>
        `v1=${createHmac("sha256", secret).update(`${now}.${body}`).digest("hex")}`;
      const delivery = (signature: string) =>
        urlEvent("POST", "/", body, { "x-payment-signature": signature, "x-payment-timestamp": String(now) });
      const [forged, signed] = returned(
        webhook,
        await runPlain(webhook, [
          delivery(sign("not-the-provider's-secret")),
          delivery(sign(WEBHOOK_SECRET)),
        ]),
      ) as { statusCode: number; body: string }[];
      expect(forged!.statusCode).toBe(401);
      expect(signed).toMatchObject({ statusCode: 200 });
      expect(JSON.parse(signed!.body)).toMatchObject({ action: "resumed the checkout" });
      // Lambda's record: one completion (the signed delivery's), for the registered id, with the signed bytes.
      expect(lambda.callbacks).toEqual([{ callbackId, result: body }]);
      expect(secrets.reads).toContain(webhook.environment.WEBHOOK_SECRET_ARN);

      const outcome = await checkoutRun;
      expect(succeeded(checkout, outcome)).toMatchObject({
        status: "FULFILLED",
        paymentId: paymentIdOf("A-1001"),
        confirmedBy: "webhook",
      });
      const shop = services["entry-points"]!;
      expect(shop.to("POST", "/payments/payments")).toMatchObject([{ idempotencyKey: "A-1001:payment" }]);
      expect(shop.to("POST", "/warehouse/shipments")).toMatchObject([{ idempotencyKey: "A-1001:ship" }]);
      expectTokenFromSecret(shop.received);

      // 4. The queue's starter starts one named execution per message and reports no failure.
      const starter = fn("EntryPointsFrontDoorstarterFunction");
      const [batch] = returned(
        starter,
        await runPlain(starter, [
          {
            Records: [
              {
                messageId: "m-1",
                receiptHandle: "r-1",
                body: JSON.stringify(order("A-1003")),
                attributes: {},
                messageAttributes: {},
                md5OfBody: "",
                eventSource: "aws:sqs",
                eventSourceARN: "arn:aws:sqs:us-east-1:111111111111:checkout",
                awsRegion: "us-east-1",
              },
            ],
          },
        ]),
      );
      expect(batch).toEqual({ batchItemFailures: [] });
      expect(lambda.invocations.map((i) => i.executionName)).toEqual(["order-A-1002", "order-A-1003"]);
    },
  );

  it("ran every function of ours from its bundle, on Node 24", () => {
    const notRun = ours()
      .map((f) => f.logicalId)
      .filter((id) => !ran.has(id));
    expect(notRun).toEqual([]);
    // The runtime the template names, in the process that ran each bundle (not the jest process's Node).
    const notOn24 = [...ran].filter(([, node]) => node.split(".")[0] !== "24");
    expect(notOn24.map(([id, node]) => `${id}: ${node}`)).toEqual([]);
  });
});
