// Tests of test/target.ts, the local/cloud switch. Identical in every pattern: copy it with target.ts.
import {
  CloudDurableTestRunner,
  InvocationType,
  LocalDurableTestRunner,
} from "@aws/durable-execution-sdk-js-testing";
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  aliasArnFromOutputs,
  cloudRunnerParameters,
  createRunner,
  DEFAULT_OUTPUTS_FILE,
  regionOf,
  selectTarget,
} from "./target";

const ARN =
  "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-StepsHandlerFunction-AbC123:live";
const outputs = (stacks: object) => (file: string) => {
  if (file !== DEFAULT_OUTPUTS_FILE && file !== "/tmp/outputs.json") throw new Error(`ENOENT ${file}`);
  return JSON.stringify(stacks);
};

describe("selectTarget", () => {
  it.each([
    [undefined, "local"],
    ["", "local"],
    ["local", "local"],
    ["cloud", "cloud"],
    [" Cloud ", "cloud"],
  ])("DURABLE_TEST_TARGET=%p selects %s", (value, expected) => {
    expect(selectTarget({ DURABLE_TEST_TARGET: value })).toBe(expected);
  });

  it("refuses anything else rather than silently testing locally", () => {
    expect(() => selectTarget({ DURABLE_TEST_TARGET: "aws" })).toThrow(
      'DURABLE_TEST_TARGET must be "local" (the default) or "cloud", not "aws"',
    );
  });
});

describe("aliasArnFromOutputs", () => {
  it("reads the output from infra/cdk-outputs.json by default", () => {
    expect(DEFAULT_OUTPUTS_FILE).toMatch(/[/\\]infra[/\\]cdk-outputs\.json$/);
    const readFile = outputs({ "DurableCookbook-dev": { StepsHandlerAliasArn: ARN, Stage: "dev" } });
    expect(aliasArnFromOutputs("StepsHandlerAliasArn", { env: {}, readFile })).toBe(ARN);
  });

  it("reads another file named by DURABLE_TEST_OUTPUTS", () => {
    const readFile = outputs({ MyStack: { StepsHandlerAliasArn: ARN } });
    const env = { DURABLE_TEST_OUTPUTS: "/tmp/outputs.json" };
    expect(aliasArnFromOutputs("StepsHandlerAliasArn", { env, readFile })).toBe(ARN);
  });

  it("prefers an environment variable named like the output", () => {
    const other = ARN.replace(":live", ":7");
    const readFile = outputs({ "DurableCookbook-dev": { StepsHandlerAliasArn: ARN } });
    expect(
      aliasArnFromOutputs("StepsHandlerAliasArn", { env: { StepsHandlerAliasArn: other }, readFile }),
    ).toBe(other);
  });

  it("explains how to deploy when there is no outputs file", () => {
    const readFile = () => {
      throw new Error("ENOENT");
    };
    expect(() => aliasArnFromOutputs("StepsHandlerAliasArn", { env: {}, readFile })).toThrow(
      /^No deployment outputs at .*cdk-outputs\.json\. Deploy first \(`pnpm run deploy`/,
    );
  });

  it("lists what the file has when the output is missing", () => {
    const readFile = outputs({ "DurableCookbook-dev": { SagaHandlerAliasArn: ARN, Stage: "dev" } });
    expect(() => aliasArnFromOutputs("StepsHandlerAliasArn", { env: {}, readFile })).toThrow(
      "has no output StepsHandlerAliasArn (DurableCookbook-dev: SagaHandlerAliasArn, Stage). Was this pattern deployed?",
    );
  });

  it("asks which stack when two stages were deployed into one file", () => {
    const readFile = outputs({
      "DurableCookbook-dev": { StepsHandlerAliasArn: ARN },
      "DurableCookbook-test": { StepsHandlerAliasArn: ARN.replace("dev", "test") },
    });
    expect(() => aliasArnFromOutputs("StepsHandlerAliasArn", { env: {}, readFile })).toThrow(
      "in DurableCookbook-dev and DurableCookbook-test: set DURABLE_TEST_STACK to choose one",
    );
    const env = { DURABLE_TEST_STACK: "DurableCookbook-test" };
    expect(aliasArnFromOutputs("StepsHandlerAliasArn", { env, readFile })).toBe(ARN.replace("dev", "test"));
  });

  it.each([
    ["an unqualified ARN", ARN.replace(":live", "")],
    ["a function name", "StepsHandler"],
  ])("rejects %s: durable executions start only through a version or an alias", (_label, value) => {
    expect(() =>
      aliasArnFromOutputs("StepsHandlerAliasArn", { env: { StepsHandlerAliasArn: value } }),
    ).toThrow("is not a qualified Lambda function ARN");
  });
});

describe("the runners", () => {
  const handler = withDurableExecution(async () => "ok");

  beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
  afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

  it("locally, runs the handler it is given, with the durable functions it invokes", async () => {
    const caller = withDurableExecution(async (_event: unknown, context) => {
      const answer = await context.invoke<{ n: number }, number>("double", "double-fn:live", { n: 21 });
      return `answer ${answer}`;
    });
    const double = withDurableExecution(async (event: { n: number }) => event.n * 2);
    const runner = createRunner<string>(
      {
        handler: caller,
        cloudOutput: "StepsHandlerAliasArn",
        durableFunctions: { "double-fn:live": double },
      },
      "local",
    );
    expect(runner).toBeInstanceOf(LocalDurableTestRunner);
    const result = await runner.run({ payload: {} });
    expect(result.getResult()).toBe("answer 42");
    expect(createRunner({ handler, cloudOutput: "StepsHandlerAliasArn" }, "local")).toBeInstanceOf(
      LocalDurableTestRunner,
    );
  });

  it("in the cloud, invokes the alias; synchronously, or as an event when the test answers callbacks", () => {
    const env = { StepsHandlerAliasArn: ARN };
    expect(cloudRunnerParameters({ cloudOutput: "StepsHandlerAliasArn" }, { env })).toEqual({
      functionName: ARN,
      config: { invocationType: InvocationType.RequestResponse, pollInterval: 1000 },
    });
    expect(
      cloudRunnerParameters({ cloudOutput: "StepsHandlerAliasArn", callbacks: true }, { env }).config,
    ).toEqual({
      invocationType: InvocationType.Event,
      pollInterval: 1000,
    });
    expect(regionOf(ARN)).toBe("eu-west-1");
  });

  it("in the cloud, builds a CloudDurableTestRunner in the function's Region (nothing is called yet)", () => {
    const saved = { ...process.env };
    try {
      process.env.StepsHandlerAliasArn = ARN;
      const runner = createRunner({ handler, cloudOutput: "StepsHandlerAliasArn" }, "cloud");
      expect(runner).toBeInstanceOf(CloudDurableTestRunner);
      expect(process.env.AWS_REGION).toBe("eu-west-1");
    } finally {
      process.env = saved;
    }
  });
});
