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
