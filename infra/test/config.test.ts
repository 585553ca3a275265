import { Duration } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { InvalidConfigError, readConfig } from "../lib/config";

const noContext = () => undefined;
const context = (values: Record<string, unknown>) => (key: string) => values[key];

describe("readConfig", () => {
  it("has defaults that deploy a dev stage", () => {
    expect(readConfig(noContext, {})).toEqual({
      stage: "dev",
      bedrockModelId: "amazon.nova-lite-v1:0",
      logRetention: RetentionDays.TWO_WEEKS,
      retainData: false,
      patternEnvironment: {},
      only: undefined,
    });
  });

  it("takes CDK context first, then the environment", () => {
    const env = {
      COOKBOOK_STAGE: "test",
      BEDROCK_MODEL_ID: "anthropic.claude-3-haiku-20240307-v1:0",
      COOKBOOK_PATTERNS: "steps",
    };
    expect(readConfig(noContext, env)).toMatchObject({
      stage: "test",
      bedrockModelId: "anthropic.claude-3-haiku-20240307-v1:0",
      only: ["steps"],
    });
    expect(readConfig(context({ stage: "alice", patterns: "steps, saga" }), env)).toMatchObject({
      stage: "alice",
      only: ["steps", "saga"],
    });
  });

  it("keeps data on destroy for prod unless told otherwise", () => {
    expect(readConfig(context({ stage: "prod" }), {}).retainData).toBe(true);
    expect(readConfig(context({ stage: "prod", retainData: "false" }), {}).retainData).toBe(false);
    expect(readConfig(noContext, { COOKBOOK_RETAIN_DATA: "true" }).retainData).toBe(true);
  });

  it("reads patternEnvironment as JSON from -c or the environment, or as an object from cdk.json", () => {
    const value = { steps: { INVENTORY_API_URL: "https://inventory.example.com/" } };
    expect(readConfig(context({ patternEnvironment: JSON.stringify(value) }), {}).patternEnvironment).toEqual(
      value,
    );
    expect(readConfig(context({ patternEnvironment: value }), {}).patternEnvironment).toEqual(value);
    expect(
      readConfig(noContext, { COOKBOOK_PATTERN_ENVIRONMENT: JSON.stringify(value) }).patternEnvironment,
    ).toEqual(value);
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      readConfig(
        context({
          stage: "Prod_1",
          bedrockModelId: "claude",
          logRetentionDays: "10",
          retainData: "yes",
          patternEnvironment: { steps: { AWS_REGION: "x", PORT: 8080 } },
        }),
        {},
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).problems).toEqual([
      'stage "Prod_1" must be 1-20 lower-case letters, digits or dashes, starting with a letter',
      'bedrockModelId "claude" does not look like a Bedrock model id (vendor.model-name:version)',
      'logRetentionDays "10" must be one of CloudWatch\'s retention periods (1, 3, 5, 7, 14, 30, 60, 90, ...)',
      'retainData "yes" must be true or false',
      "patternEnvironment.steps.AWS_REGION is not a usable environment variable name",
      "patternEnvironment.steps.PORT must be a string",
    ]);
  });

  it.each([
    ["not JSON", "{steps:", "patternEnvironment must be JSON"],
    ["an array", "[]", "patternEnvironment must be an object"],
    ["a pattern that is not an object", '{"steps": "x"}', "patternEnvironment.steps must be an object"],
  ])("rejects a patternEnvironment that is %s", (_label, value, problem) => {
    expect(() => readConfig(context({ patternEnvironment: value }), {})).toThrow(problem);
  });
});

describe("patternEnvironment is plain text: it refuses secrets, naming the key and never the value", () => {
  const problemsOf = (patternEnvironment: unknown): string[] => {
    try {
      readConfig(context({ patternEnvironment }), {});
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      return (error as InvalidConfigError).problems;
    }
    return [];
  };

  it.each([
    ["steps", "ORDER_API_TOKEN", "StepsOrderApiTokenSecretArn"],
    ["wait-callback", "APPROVAL_CHAT_WEBHOOK_URL", "WaitCallbackApprovalChatWebhookUrlSecretArn"],
    ["saga", "PAYMENT_GATEWAY_TOKEN", "SagaPaymentGatewayTokenSecretArn"],
  ])("%s.%s, a declared secret setting: points to its secret's output", (pattern, name, output) => {
    const problems = problemsOf({ [pattern]: { [name]: "tok_live_0123456789" } });
    expect(problems).toEqual([
      `patternEnvironment.${pattern}.${name} is a secret setting: the stack creates a Secrets Manager secret for it; put the value there (aws secretsmanager put-secret-value --secret-id <the ${output} output> --secret-string '...'), not in patternEnvironment, which is plain text`,
    ]);
    expect(problems.join(" ")).not.toContain("tok_live_0123456789");
  });

  it.each([
    "SHIPPING_TOKEN",
    "DB_PASSWORD",
    "client_secret",
    "MY_SECRET_ARN",
    "MAPS_API_KEY",
    "ALERTS_WEBHOOK_URL",
  ])("%s, a name that looks like a secret's (not declared anywhere)", (name) => {
    expect(problemsOf({ steps: { [name]: "x" } })).toEqual([
      `patternEnvironment.steps.${name} looks like a secret (by its name) and patternEnvironment is plain text in the template: declare it as a secret grant of the pattern in infra/lib/patterns.ts`,
    ]);
  });

  it.each([
    "https://alice:hunter2@inventory.example.com/v1",
    "https://user@inventory.example.com/",
    "https://inventory.example.com/v1?token=abc",
    "https://inventory.example.com/v1?api_key=abc",
    "https://inventory.example.com/v1?X-Amz-Signature=abc&X-Amz-Credential=x",
    "https://inventory.example.com/v1?sig=abc",
  ])("a URL that carries a credential: %s", (url) => {
    const problems = problemsOf({ steps: { INVENTORY_API_URL: url } });
    expect(problems).toEqual([
      "patternEnvironment.steps.INVENTORY_API_URL is a URL that carries a credential (user:password@, or a token, key or signature in its query) and patternEnvironment is plain text in the template: give the URL without it and the credential as a secret setting",
    ]);
    expect(problems.join(" ")).not.toContain("abc");
    expect(problems.join(" ")).not.toContain("hunter2");
  });

  it("takes plain URLs, with paths and harmless queries, and plain names", () => {
    expect(
      problemsOf({
        steps: {
          INVENTORY_API_URL: "https://inventory.example.com/v1/",
          SHIPPING_API_URL: "https://shipping.example.com/api?region=eu",
          PAYMENTS_API_URL: "not a URL at all",
        },
      }),
    ).toEqual([]);
  });

  it("refuses a declared secret of the definitions it is given, whatever its name", () => {
    const definitions = [
      {
        name: "custom",
        entry: "src/index.ts",
        functions: [
          {
            handlerExport: "handler",
            description: "d",
            durable: { executionTimeout: Duration.hours(1), retentionPeriod: Duration.days(1) },
            grants: [{ kind: "secret" as const, setting: "PARTNER_CREDENTIAL", description: "d" }],
          },
        ],
      },
    ];
    expect(() =>
      readConfig(context({ patternEnvironment: { custom: { PARTNER_CREDENTIAL: "x" } } }), {}, definitions),
    ).toThrow("patternEnvironment.custom.PARTNER_CREDENTIAL is a secret setting");
    // The default definitions do not know it.
    expect(problemsOf({ custom: { PARTNER_CREDENTIAL: "x" } })).toEqual([]);
  });
});
