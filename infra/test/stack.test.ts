import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { CALLBACK_ACTIONS } from "../lib/cookbook-stack";
import { REPO_ROOT } from "../lib/discover";
import { functionKey, pascalCase, PATTERNS, SECRET_PLACEHOLDER, secretOutputKey } from "../lib/patterns";
import { render, synthFixture } from "./helpers";

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call,
   @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument
   -- these tests walk the synthesized CloudFormation template, which is untyped JSON */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const { stack, template, logicalId } = synthFixture();
const resources = template.toJSON().Resources as Record<string, Json>;
const outputs = template.toJSON().Outputs as Record<string, Json>;

/** Every statement of every inline policy attached to a role, and of every managed policy. */
function statementsOfRole(roleId: string): Json[] {
  return Object.values(resources)
    .filter(
      (r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((role: Json) => role.Ref === roleId),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
}
const actionsOf = (statement: Json): string[] => [statement.Action].flat();
const executionsOf = (functionId: string) => ({
  "Fn::Join": ["", [{ "Fn::GetAtt": [functionId, "Arn"] }, ":*"]],
});

const allFunctions = PATTERNS.flatMap((pattern) =>
  pattern.functions.map((definition) => ({
    pattern: pattern.name,
    definition,
    key: functionKey(pattern.name, definition.handlerExport),
  })),
);

/** What each role may do beyond logging to its own log group and checkpointing its own executions. */
const EXTRA_ACTIONS: Record<string, string[]> = {
  StepsHandler: ["secretsmanager:GetSecretValue"],
  WaitCallbackHandler: Array(2).fill("secretsmanager:GetSecretValue"),
  MapParallelHandler: ["s3:PutObject", ...Array(7).fill("secretsmanager:GetSecretValue")],
  SagaHandler: [
    "lambda:InvokeFunction",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "secretsmanager:GetSecretValue",
  ],
  SagaPaymentHandler: ["secretsmanager:GetSecretValue"],
  AgentLoopHandler: ["bedrock:InvokeModel", "secretsmanager:GetSecretValue"],
  EntryPointsHandler: ["dynamodb:PutItem", "secretsmanager:GetSecretValue"],
};

/** The secret settings each function reads, from the brief of issue 17 (not from patterns.ts). */
const SECRET_SETTINGS: Record<string, string[]> = {
  StepsHandler: ["ORDER_API_TOKEN"],
  WaitCallbackHandler: ["PURCHASING_API_TOKEN", "APPROVAL_CHAT_WEBHOOK_URL"],
  MapParallelHandler: [
    "CRM_API_TOKEN",
    "LEDGER_API_TOKEN",
    "TAX_REGISTRY_API_TOKEN",
    "INVOICING_API_TOKEN",
    "FX_ATLAS_TOKEN",
    "FX_BEACON_TOKEN",
    "FX_CEDAR_TOKEN",
  ],
  SagaHandler: ["TRIP_API_TOKEN"],
  SagaPaymentHandler: ["PAYMENT_GATEWAY_TOKEN"],
  AgentLoopHandler: ["BACK_OFFICE_TOKEN"],
  EntryPointsHandler: ["CHECKOUT_API_TOKEN"],
};

it("deploys every defined handler, and only those", () => {
  expect(allFunctions.map((fn) => fn.key).sort()).toEqual(Object.keys(EXTRA_ACTIONS).sort());
  // + the bucket auto-delete provider, + entry-points' three front-door functions
  template.resourceCountIs("AWS::Lambda::Function", allFunctions.length + 1 + 3);
  template.resourceCountIs("AWS::Lambda::Alias", allFunctions.length);
  template.resourceCountIs("AWS::Lambda::Version", allFunctions.length);
});

describe.each(allFunctions)("$key", ({ pattern, definition, key }) => {
  const fn = stack.functions.get(key)!;
  const functionId = logicalId(fn.function);
  const roleId = logicalId(fn.role);
  const logsId = logicalId(fn.logGroup);

  it("is a durable nodejs24.x arm64 function with the pattern's execution timeout and retention", () => {
    expect(resources[functionId]!.Properties).toMatchObject({
      Handler: `index.${definition.handlerExport}`,
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      DurableConfig: {
        ExecutionTimeout: definition.durable.executionTimeout.toSeconds(),
        RetentionPeriodInDays: definition.durable.retentionPeriod.toDays(),
      },
      LoggingConfig: { LogGroup: { Ref: logsId } },
      Role: { "Fn::GetAtt": [roleId, "Arn"] },
      Environment: {
        Variables: expect.objectContaining({ COOKBOOK_STAGE: "dev", NODE_OPTIONS: "--enable-source-maps" }),
      },
    });
  });

  it("publishes a version and points the alias live at it", () => {
    const alias = resources[logicalId(fn.alias)]!;
    expect(alias.Properties).toEqual({
      FunctionName: { Ref: functionId },
      Name: "live",
      FunctionVersion: { "Fn::GetAtt": [logicalId(fn.function.currentVersion), "Version"] },
    });
    // Old versions stay: executions started on them keep replaying there.
    expect(resources[logicalId(fn.function.currentVersion)]!.DeletionPolicy).toBe("Retain");
  });

  it("has its own log group with a retention, deleted with the stack outside prod", () => {
    expect(resources[logsId]).toMatchObject({
      Properties: {
        LogGroupName: `/durable-cookbook/dev/${pattern}/${definition.handlerExport}`,
        RetentionInDays: 14,
      },
      DeletionPolicy: "Delete",
    });
  });

  it("gets the durable execution permissions scoped to itself, no managed policy, nothing else but its grants", () => {
    expect(resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOfRole(roleId);
    expect(statements).toContainEqual({
      Sid: "CheckpointOwnExecutions",
      Effect: "Allow",
      Action: ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"],
      Resource: executionsOf(functionId),
    });
    expect(statements).toContainEqual({
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: { "Fn::GetAtt": [logsId, "Arn"] },
    });
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        "lambda:CheckpointDurableExecution",
        "lambda:GetDurableExecutionState",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        ...EXTRA_ACTIONS[key]!,
      ].sort(),
    );
  });

  it("outputs the alias ARN and the log group", () => {
    expect(outputs[`${key}AliasArn`]!.Value).toEqual({ Ref: logicalId(fn.alias) });
    expect(outputs[`${key}LogGroup`]!.Value).toEqual({ Ref: logsId });
  });
});

describe("least privilege", () => {
  const policies = Object.values(resources).filter((r) =>
    ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"].includes(r.Type),
  );
  const ourStatements = policies
    .filter((r) => !JSON.stringify(r.Properties.Roles ?? "").includes("CustomS3AutoDeleteObjects"))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);

  it("no statement allows every resource or a wildcard action", () => {
    expect(ourStatements.length).toBeGreaterThan(allFunctions.length * 2);
    for (const statement of ourStatements) {
      expect(statement.Effect).toBe("Allow");
      expect([statement.Resource].flat()).not.toContain("*");
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
    }
  });

  it("saga's orchestrator may invoke only the payment function's alias and version, whose alias ARN it is given", () => {
    const orchestrator = stack.functions.get("SagaHandler")!;
    const payment = stack.functions.get("SagaPaymentHandler")!;
    const invokes = statementsOfRole(logicalId(orchestrator.role)).filter((s) =>
      actionsOf(s).includes("lambda:InvokeFunction"),
    );
    expect(invokes).toEqual([
      {
        Sid: "InvokeOnlyTheTarget",
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        Resource: [{ Ref: logicalId(payment.alias) }, { Ref: logicalId(payment.function.currentVersion) }],
      },
    ]);
    expect(
      resources[logicalId(orchestrator.function)]!.Properties.Environment.Variables.PAYMENT_FUNCTION_ARN,
    ).toEqual({
      Ref: logicalId(payment.alias),
    });
    // No other role may invoke anything.
    const invokers = [...stack.functions.entries()]
      .filter(([, fn]) =>
        statementsOfRole(logicalId(fn.role)).some((s) => actionsOf(s).includes("lambda:InvokeFunction")),
      )
      .map(([key]) => key);
    expect(invokers).toEqual(["SagaHandler"]);
  });

  it("agent-loop may call only the configured model, whose id it is given", () => {
    const agent = stack.functions.get("AgentLoopHandler")!;
    const bedrock = statementsOfRole(logicalId(agent.role)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("bedrock:")),
    );
    expect(render(bedrock)).toEqual([
      {
        Sid: "ConverseWithConfiguredModel",
        Effect: "Allow",
        Action: "bedrock:InvokeModel",
        Resource: "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
      },
    ]);
    expect(resources[logicalId(agent.function)]!.Properties.Environment.Variables.BEDROCK_MODEL_ID).toBe(
      "amazon.nova-lite-v1:0",
    );
  });

  it("map-parallel may only put objects into its own private, SSL-only bucket, whose name it is given", () => {
    const billing = stack.functions.get("MapParallelHandler")!;
    const [bucketId] = Object.entries(resources).find(([, r]) => r.Type === "AWS::S3::Bucket")!;
    const s3 = statementsOfRole(logicalId(billing.role)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("s3:")),
    );
    expect(s3).toEqual([
      {
        Sid: "WriteDocuments",
        Effect: "Allow",
        Action: "s3:PutObject",
        Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/*"]] },
      },
    ]);
    expect(resources[logicalId(billing.function)]!.Properties.Environment.Variables.INVOICE_BUCKET).toEqual({
      Ref: bucketId,
    });
    expect(resources[bucketId]!.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("saga's orchestrator reads and writes single items of its own breaker table, whose name it is given", () => {
    const orchestrator = stack.functions.get("SagaHandler")!;
    const [tableId, table] = Object.entries(resources).find(([, r]) => r.Type === "AWS::DynamoDB::Table")!;
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "circuit", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "circuit", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.DeletionPolicy).toBe("Delete");
    const dynamo = statementsOfRole(logicalId(orchestrator.role)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamo).toEqual([
      {
        Sid: "ReadWriteItems",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
        Resource: { "Fn::GetAtt": [tableId, "Arn"] },
      },
    ]);
    expect(
      resources[logicalId(orchestrator.function)]!.Properties.Environment.Variables.BREAKER_TABLE_NAME,
    ).toEqual({ Ref: tableId });
    // The payment function has no business with the breaker.
    const payment = stack.functions.get("SagaPaymentHandler")!;
    expect(
      resources[logicalId(payment.function)]!.Properties.Environment.Variables.BREAKER_TABLE_NAME,
    ).toBeUndefined();
  });

  it("one approver policy per pattern that waits for callbacks, on exactly that pattern's functions", () => {
    const waiting = ["WaitCallbackHandler", "AgentLoopHandler"];
    expect(allFunctions.filter((fn) => fn.definition.acceptsCallbacks).map((fn) => fn.key)).toEqual(waiting);
    expect([...stack.approverPolicies.keys()]).toEqual(["wait-callback", "agent-loop"]);
    for (const [pattern, key, output] of [
      ["wait-callback", "WaitCallbackHandler", "WaitCallbackApproverPolicyArn"],
      ["agent-loop", "AgentLoopHandler", "AgentLoopApproverPolicyArn"],
    ] as const) {
      const approver = stack.approverPolicies.get(pattern)!;
      const policy = resources[logicalId(approver)]!;
      // A purchase approver (wait-callback) cannot answer a refund approval (agent-loop), nor the reverse.
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        {
          Sid: "AnswerCallbacks",
          Effect: "Allow",
          Action: [
            "lambda:SendDurableExecutionCallbackSuccess",
            "lambda:SendDurableExecutionCallbackFailure",
            "lambda:SendDurableExecutionCallbackHeartbeat",
          ],
          Resource: executionsOf(logicalId(stack.functions.get(key)!.function)),
        },
      ]);
      expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
      expect(outputs[output]!.Value).toEqual({ Ref: logicalId(approver) });
    }
  });

  it("the cloud-test policy starts the functions the tools start, reads every history, answers only callbacks that are waited for", () => {
    const fns = [...stack.functions.values()];
    const started = [...stack.functions.entries()].filter(([key]) => key !== "SagaPaymentHandler");
    const waiting = ["WaitCallbackHandler", "AgentLoopHandler"].map((key) => stack.functions.get(key)!);
    expect(resources[logicalId(stack.cloudTestPolicy!)]!.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: "StartThroughAlias",
        Effect: "Allow",
        Action: "lambda:InvokeFunction",
        // Not saga's payment function: only the saga starts it, through context.invoke.
        Resource: started.map(([, fn]) => ({ Ref: logicalId(fn.alias) })),
      },
      {
        Sid: "FindExecutionsByName",
        Effect: "Allow",
        Action: "lambda:ListDurableExecutionsByFunction",
        Resource: fns.flatMap((fn) => [
          { "Fn::GetAtt": [logicalId(fn.function), "Arn"] },
          executionsOf(logicalId(fn.function)),
        ]),
      },
      {
        Sid: "ReadHistory",
        Effect: "Allow",
        Action: "lambda:GetDurableExecutionHistory",
        Resource: fns.map((fn) => executionsOf(logicalId(fn.function))),
      },
      {
        Sid: "AnswerCallbacks",
        Effect: "Allow",
        Action: CALLBACK_ACTIONS,
        Resource: waiting.map((fn) => executionsOf(logicalId(fn.function))),
      },
    ]);
  });
});

describe("secrets", () => {
  const secretResources = Object.entries(resources).filter(
    ([, r]) => r.Type === "AWS::SecretsManager::Secret",
  );

  it("one secret per declared setting (and the front door's signing secret), each holding the placeholder", () => {
    const declared = Object.values(SECRET_SETTINGS).flat();
    expect(declared).toHaveLength(14);
    expect(secretResources).toHaveLength(declared.length + 1);
    const placeholders = secretResources.filter(([, r]) => r.Properties.SecretString === SECRET_PLACEHOLDER);
    expect(placeholders).toHaveLength(declared.length);
    expect(stack.secrets.size).toBe(declared.length);
  });

  describe.each(Object.entries(SECRET_SETTINGS))("%s", (key, settings) => {
    const fn = stack.functions.get(key)!;
    const pattern = allFunctions.find((candidate) => candidate.key === key)!.pattern;

    it.each(settings)(
      "%s: its ARN in <SETTING>_SECRET_ARN, GetSecretValue on exactly that secret, the ARN output",
      (setting) => {
        const secret = stack.secrets.get(`${pattern}/${setting}`)!;
        const secretId = logicalId(secret);
        expect(resources[secretId]).toMatchObject({
          Type: "AWS::SecretsManager::Secret",
          Properties: { SecretString: SECRET_PLACEHOLDER },
          DeletionPolicy: "Delete",
        });
        const variables = resources[logicalId(fn.function)]!.Properties.Environment.Variables as Json;
        expect(variables[`${setting}_SECRET_ARN`]).toEqual({ Ref: secretId });
        expect(variables[setting]).toBeUndefined();
        const reads = statementsOfRole(logicalId(fn.role)).filter((s) =>
          actionsOf(s).includes("secretsmanager:GetSecretValue"),
        );
        expect(reads).toContainEqual({
          Sid: `Read${pascalCase(setting)}`,
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: { Ref: secretId },
        });
        const output = outputs[secretOutputKey(pattern, setting)]!;
        expect(output.Value).toEqual({ Ref: secretId });
        expect(output.Description).toContain("aws secretsmanager put-secret-value --secret-id");
      },
    );

    it("reads no other secret", () => {
      const reads = statementsOfRole(logicalId(fn.role))
        .filter((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))
        .flatMap((s) => [s.Resource].flat());
      expect(reads).toEqual(
        settings.map((setting) => ({ Ref: logicalId(stack.secrets.get(`${pattern}/${setting}`)!) })),
      );
    });
  });

  it("the output names: <Pattern><Setting>SecretArn", () => {
    expect(secretOutputKey("map-parallel", "FX_ATLAS_TOKEN")).toBe("MapParallelFxAtlasTokenSecretArn");
    expect(secretOutputKey("saga", "PAYMENT_GATEWAY_TOKEN")).toBe("SagaPaymentGatewayTokenSecretArn");
  });

  it("the placeholder is the patterns' own SECRET_PLACEHOLDER, in every pattern that reads secrets", () => {
    for (const pattern of PATTERNS) {
      const file = path.join(REPO_ROOT, "patterns", pattern.name, "src", "secret-setting.ts");
      const match = /export const SECRET_PLACEHOLDER = "([^"]*)";/.exec(readFileSync(file, "utf8"));
      expect(match?.[1]).toBe(SECRET_PLACEHOLDER);
    }
  });

  it("prod keeps the secrets on destroy", () => {
    const prod = synthFixture({ stage: "prod", patterns: "steps" }).template.toJSON().Resources as Record<
      string,
      Json
    >;
    const secrets = Object.values(prod).filter((r) => r.Type === "AWS::SecretsManager::Secret");
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.DeletionPolicy).toBe("Retain");
  });
});

it("has exactly these outputs", () => {
  expect(Object.keys(outputs).sort()).toEqual(
    [
      ...Object.keys(EXTRA_ACTIONS).flatMap((key) => [`${key}AliasArn`, `${key}LogGroup`]),
      "WaitCallbackApproverPolicyArn",
      "AgentLoopApproverPolicyArn",
      "CloudTestPolicyArn",
      ...Object.entries(SECRET_SETTINGS).flatMap(([key, settings]) =>
        settings.map((setting) =>
          secretOutputKey(allFunctions.find((fn) => fn.key === key)!.pattern, setting),
        ),
      ),
      "MapParallelDocumentsBucket",
      "SagaTableName",
      "EntryPointsTableName",
      "EntryPointsApiUrl",
      "EntryPointsApiClientPolicyArn",
      "EntryPointsWebhookUrl",
      "EntryPointsWebhookSecretArn",
      "EntryPointsQueueUrl",
      "EntryPointsDeadLetterQueueUrl",
      "Stage",
    ].sort(),
  );
});

describe("configuration from context, not code", () => {
  it("stage prod: its own stack name and log group names, and logs and documents kept on destroy", () => {
    const prod = synthFixture({ stage: "prod" });
    expect(prod.stack.stackName).toBe("DurableCookbook-prod");
    const all = prod.template.toJSON().Resources as Record<string, Json>;
    const logGroups = Object.values(all).filter((r) => r.Type === "AWS::Logs::LogGroup");
    expect(logGroups).toHaveLength(allFunctions.length + 3); // + entry-points' front door
    for (const group of logGroups) {
      expect(group.DeletionPolicy).toBe("Retain");
      expect(group.Properties.LogGroupName).toMatch(/^\/durable-cookbook\/prod\//);
    }
    const [bucket] = Object.values(all).filter((r) => r.Type === "AWS::S3::Bucket");
    expect(bucket!.DeletionPolicy).toBe("Retain");
    const [table] = Object.values(all).filter((r) => r.Type === "AWS::DynamoDB::Table");
    expect(table!.DeletionPolicy).toBe("Retain");
    expect(Object.values(all).some((r) => r.Type === "Custom::S3AutoDeleteObjects")).toBe(false);
  });

  it("an inference profile as the model: the profile, and that one model in any Region the profile routes to", () => {
    const { stack: s, template: t } = synthFixture({
      bedrockModelId: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
      patterns: "agent-loop",
      logRetentionDays: "30",
    });
    const statements = Object.values(t.findResources("AWS::IAM::Policy")).flatMap(
      (r) => r.Properties.PolicyDocument.Statement as Json[],
    );
    expect(render(statements.filter((statement) => statement.Sid === "ConverseWithConfiguredModel"))).toEqual(
      [
        {
          Sid: "ConverseWithConfiguredModel",
          Effect: "Allow",
          Action: "bedrock:InvokeModel",
          Resource: [
            "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
          ],
        },
      ],
    );
    expect([...s.functions.keys()]).toEqual(["AgentLoopHandler"]);
    t.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("patternEnvironment adds plain configuration to one pattern's functions", () => {
    const { template: t } = synthFixture({
      patterns: "steps,saga",
      patternEnvironment: JSON.stringify({ steps: { INVENTORY_API_URL: "https://inventory.example.com/" } }),
    });
    t.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      Environment: { Variables: Match.objectLike({ INVENTORY_API_URL: "https://inventory.example.com/" }) },
    });
    const withUrl = Object.values(t.findResources("AWS::Lambda::Function")).filter(
      (r) => r.Properties.Environment.Variables.INVENTORY_API_URL,
    );
    expect(withUrl).toHaveLength(1);
    // Neither steps nor saga waits for callbacks: no approver policy to hand out.
    expect(Object.keys(t.toJSON().Outputs).filter((key) => key.includes("Approver"))).toEqual([]);
  });

  it("rejects an unknown pattern name with the known ones", () => {
    expect(() => synthFixture({ patterns: "steps,sagas" })).toThrow(
      "Unknown pattern(s) sagas; known: steps, wait-callback, map-parallel, saga, agent-loop",
    );
  });
});
