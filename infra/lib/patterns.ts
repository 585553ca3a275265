import { Duration } from "aws-cdk-lib";

/**
 * What the stack deploys: one entry per pattern. Adding a pattern to the cloud is adding an entry here;
 * the stack picks it up once its entry file exists (see discover.ts).
 */
export interface PatternDefinition {
  /** The folder under patterns/, also the prefix of its outputs and log groups. */
  name: string;
  /** The file that exports the handlers, relative to the pattern folder. */
  entry: string;
  functions: DurableFunctionDefinition[];
  /**
   * Plain (not durable) functions in front of the pattern's `handler`: an HTTP API and a webhook behind
   * Function URLs, and a starter fed by an SQS queue (see front-door.ts). Each names its export in `entry`.
   */
  frontDoor?: { entry: string; api: string; webhook: string; starter: string };
}

export interface DurableFunctionDefinition {
  /** The handler's export name in the entry file. */
  handlerExport: string;
  description: string;
  /**
   * How long one execution may run in total, waits included, and how long Lambda keeps its history
   * after it ends (1-90 days). The execution timeout must cover the pattern's longest wait or callback.
   */
  durable: { executionTimeout: Duration; retentionPeriod: Duration };
  /** One invocation (between two suspensions). Default 1 minute. */
  timeout?: Duration;
  /** Default 256 MB. */
  memorySize?: number;
  /** Plain configuration the handler reads (the stack adds whatever the grants below wire). */
  environment?: Record<string, string>;
  /** Other resources this function uses, each granted as narrowly as the service allows. */
  grants?: Grant[];
  /** The function waits for callbacks that an outside system (an approver) sends. */
  acceptsCallbacks?: boolean;
}

export type Grant =
  /** Invoke another function of the same pattern (context.invoke): its alias ARN is put in `env`. */
  | { kind: "invoke"; handlerExport: string; env: string }
  /** Converse with the configured Bedrock model: its id is put in `env`. */
  | { kind: "bedrock-model"; env: string }
  /** Write objects to a bucket the stack creates for this pattern: its name is put in `env`. */
  | { kind: "bucket-write"; env: string }
  /** Read and write items of a table the stack creates for this pattern (string partition key): its name is put in `env`. */
  | { kind: "table-read-write"; env: string; partitionKey: string }
  /** Put items into a table the stack creates for this pattern (string partition key, TTL attribute `expiresAt`). */
  | { kind: "table-write"; env: string; partitionKey: string }
  /**
   * A setting that must not be plain text (a token, a webhook URL that is its own credential): the stack creates
   * a Secrets Manager secret holding SECRET_PLACEHOLDER, puts its ARN in `<setting>_SECRET_ARN`, lets this function
   * read exactly that secret, and outputs the ARN as `<Pattern><Setting>SecretArn` for you to put the real value.
   */
  | { kind: "secret"; setting: string; description: string };

/**
 * What every secret the stack creates holds until you put the real value. It must equal SECRET_PLACEHOLDER of
 * the patterns' src/secret-setting.ts (a test reads it there): a pattern treats an optional setting that still
 * holds it as not set, and refuses a required one with an error naming the setting.
 */
export const SECRET_PLACEHOLDER = "set-me: put the real value of this setting here";

/** "ORDER_API_TOKEN" -> "OrderApiToken". */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1).toLowerCase())
    .join("");
}

/** The stack output holding the ARN of a pattern's secret: ("steps", "ORDER_API_TOKEN") -> "StepsOrderApiTokenSecretArn". */
export function secretOutputKey(pattern: string, setting: string): string {
  return `${pascalCase(pattern)}${pascalCase(setting)}SecretArn`;
}

/** Every secret setting a pattern's functions declare. */
export function secretSettings(pattern: PatternDefinition): string[] {
  return [
    ...new Set(
      pattern.functions.flatMap((fn) =>
        (fn.grants ?? []).flatMap((grant) => (grant.kind === "secret" ? [grant.setting] : [])),
      ),
    ),
  ];
}

export const PATTERNS: PatternDefinition[] = [
  {
    name: "steps",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "Order fulfilment: retried steps, an at-most-once charge, a three-day wait",
        // The review request waits three days after shipping.
        durable: { executionTimeout: Duration.days(7), retentionPeriod: Duration.days(14) },
        grants: [
          {
            kind: "secret",
            setting: "ORDER_API_TOKEN",
            description: "the bearer token of the order services",
          },
        ],
      },
    ],
  },
  {
    name: "wait-callback",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "Waits, callbacks from outside systems, polling with waitForCondition",
        // Approvals may take days; reminders and escalation stretch it further.
        durable: { executionTimeout: Duration.days(30), retentionPeriod: Duration.days(30) },
        grants: [
          {
            kind: "secret",
            setting: "PURCHASING_API_TOKEN",
            description: "the bearer token of the purchasing API",
          },
          {
            kind: "secret",
            setting: "APPROVAL_CHAT_WEBHOOK_URL",
            description: "the chat's incoming webhook URL, which is its own credential",
          },
        ],
        acceptsCallbacks: true,
      },
    ],
  },
  {
    name: "map-parallel",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "A batch of invoices with context.map and enrichment with context.parallel",
        durable: { executionTimeout: Duration.hours(6), retentionPeriod: Duration.days(7) },
        timeout: Duration.minutes(5),
        memorySize: 512,
        grants: [
          { kind: "bucket-write", env: "INVOICE_BUCKET" },
          { kind: "secret", setting: "CRM_API_TOKEN", description: "the bearer token of the CRM" },
          { kind: "secret", setting: "LEDGER_API_TOKEN", description: "the bearer token of the ledger" },
          {
            kind: "secret",
            setting: "TAX_REGISTRY_API_TOKEN",
            description: "the bearer token of the tax registry",
          },
          {
            kind: "secret",
            setting: "INVOICING_API_TOKEN",
            description: "the bearer token of the invoicing API",
          },
          {
            kind: "secret",
            setting: "FX_ATLAS_TOKEN",
            description: "the token of the Atlas exchange-rate source",
          },
          {
            kind: "secret",
            setting: "FX_BEACON_TOKEN",
            description: "the token of the Beacon exchange-rate source",
          },
          {
            kind: "secret",
            setting: "FX_CEDAR_TOKEN",
            description: "the token of the Cedar exchange-rate source",
          },
        ],
      },
    ],
  },
  {
    name: "saga",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "Trip booking saga: compensations in reverse order",
        durable: { executionTimeout: Duration.days(1), retentionPeriod: Duration.days(14) },
        grants: [
          { kind: "invoke", handlerExport: "paymentHandler", env: "PAYMENT_FUNCTION_ARN" },
          // The circuit breaker's state, shared by every execution.
          { kind: "table-read-write", env: "BREAKER_TABLE_NAME", partitionKey: "circuit" },
          { kind: "secret", setting: "TRIP_API_TOKEN", description: "the bearer token of the trip services" },
        ],
      },
      {
        handlerExport: "paymentHandler",
        description: "Trip booking saga: the payment, its own durable function",
        durable: { executionTimeout: Duration.hours(1), retentionPeriod: Duration.days(14) },
        grants: [
          {
            kind: "secret",
            setting: "PAYMENT_GATEWAY_TOKEN",
            description: "the bearer token of the payment gateway",
          },
        ],
      },
    ],
  },
  {
    name: "agent-loop",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "A support agent: durable model calls and tools, human approval of refunds",
        // A refund approval may take days.
        durable: { executionTimeout: Duration.days(7), retentionPeriod: Duration.days(14) },
        // Model calls can take tens of seconds each.
        timeout: Duration.minutes(5),
        memorySize: 512,
        grants: [
          { kind: "bedrock-model", env: "BEDROCK_MODEL_ID" },
          {
            kind: "secret",
            setting: "BACK_OFFICE_TOKEN",
            description: "the bearer token of the back office",
          },
        ],
        acceptsCallbacks: true,
      },
    ],
  },
  {
    name: "entry-points",
    entry: "src/index.ts",
    functions: [
      {
        handlerExport: "handler",
        description: "Checkout behind a front door: waits for the payment provider's signed webhook",
        // The payment webhook may take 30 minutes, then the payment is settled with the provider.
        durable: { executionTimeout: Duration.days(1), retentionPeriod: Duration.days(14) },
        // Its callback id goes into the registry the webhook reads, and nowhere else.
        grants: [
          { kind: "table-write", env: "CALLBACK_TABLE_NAME", partitionKey: "orderId" },
          {
            kind: "secret",
            setting: "CHECKOUT_API_TOKEN",
            description: "the bearer token of the checkout services",
          },
        ],
      },
    ],
    frontDoor: {
      entry: "src/front-door/handlers.ts",
      api: "apiHandler",
      webhook: "webhookHandler",
      starter: "starterHandler",
    },
  },
];

/** "wait-callback" + "paymentHandler" -> "WaitCallbackPaymentHandler": the prefix of a function's outputs. */
export function functionKey(pattern: string, handlerExport: string): string {
  const pascal = (text: string) =>
    text
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((word) => word[0]!.toUpperCase() + word.slice(1))
      .join("");
  return pascal(pattern) + pascal(handlerExport);
}
