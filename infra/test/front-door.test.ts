import { Match } from "aws-cdk-lib/assertions";
import { MAX_RECEIVES } from "../lib/front-door";
import { synthFixture } from "./helpers";

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call,
   @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument
   -- these tests walk the synthesized CloudFormation template, which is untyped JSON */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const { stack, template, logicalId } = synthFixture();
const resources = template.toJSON().Resources as Record<string, Json>;
const outputs = template.toJSON().Outputs as Record<string, Json>;
const door = stack.frontDoors.get("entry-points")!;
const checkout = stack.functions.get("EntryPointsHandler")!;
const checkoutId = logicalId(checkout.function);
const aliasRef = { Ref: logicalId(checkout.alias) };
const executions = { "Fn::Join": ["", [{ "Fn::GetAtt": [checkoutId, "Arn"] }, ":*"]] };
const tableId = Object.entries(resources).find(
  ([, r]) => r.Type === "AWS::DynamoDB::Table" && r.Properties.KeySchema[0].AttributeName === "orderId",
)![0];

function statementsOfRole(roleId: string): Json[] {
  return Object.values(resources)
    .filter(
      (r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((role: Json) => role.Ref === roleId),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
}
/** Everything a role may do, as "action on resource" lines, logs left out (each writes only its own group). */
const grantsOf = (role: keyof typeof door.roles) =>
  statementsOfRole(logicalId(door.roles[role]))
    .filter((statement) => statement.Sid !== "WriteOwnLogs")
    .map((statement) => ({
      actions: [statement.Action].flat().sort(),
      resources: [statement.Resource].flat(),
    }));

describe("entry-points: the durable checkout", () => {
  it("is a durable function with its alias, and may only put items into the callback registry", () => {
    expect(resources[checkoutId]!.Properties.DurableConfig).toEqual({
      ExecutionTimeout: 86400,
      RetentionPeriodInDays: 14,
    });
    const dynamo = statementsOfRole(logicalId(checkout.role)).filter((s) =>
      `${s.Action}`.startsWith("dynamodb:"),
    );
    expect(dynamo).toEqual([
      {
        Sid: "PutItems",
        Effect: "Allow",
        Action: "dynamodb:PutItem",
        Resource: { "Fn::GetAtt": [tableId, "Arn"] },
      },
    ]);
    expect(resources[checkoutId]!.Properties.Environment.Variables.CALLBACK_TABLE_NAME).toEqual({
      Ref: tableId,
    });
  });

  it("the registry expires entries by TTL and is billed per request", () => {
    expect(resources[tableId]!.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "orderId", KeyType: "HASH" }],
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
    });
  });
});

describe("entry-points: the front door", () => {
  it.each([
    ["api", "apiHandler", 10],
    ["webhook", "webhookHandler", 10],
    ["starter", "starterHandler", 30],
  ] as const)(
    "%s: a plain (not durable) nodejs24.x function given the alias ARN, never an unqualified one",
    (name, handler, timeout) => {
      const fn = resources[logicalId(door[name])]!.Properties;
      expect(fn).toMatchObject({
        Handler: `index.${handler}`,
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Timeout: timeout,
      });
      expect(fn.DurableConfig).toBeUndefined();
      expect(fn.Environment.Variables.CHECKOUT_FUNCTION_ARN).toEqual(aliasRef);
      expect(resources[logicalId(door.roles[name])]!.Properties.ManagedPolicyArns).toBeUndefined();
    },
  );

  it("the api starts on the alias and reads executions: nothing else", () => {
    expect(grantsOf("api")).toEqual([
      { actions: ["lambda:InvokeFunction"], resources: [aliasRef] },
      {
        actions: ["lambda:ListDurableExecutionsByFunction"],
        resources: [{ "Fn::GetAtt": [checkoutId, "Arn"] }],
      },
      { actions: ["lambda:GetDurableExecution"], resources: [executions] },
    ]);
  });

  it("the starter the same, plus consuming its queue", () => {
    const grants = grantsOf("starter");
    expect(grants.slice(0, 3)).toEqual(grantsOf("api"));
    const queueId = logicalId(door.queue);
    expect(grants.slice(3)).toEqual([
      {
        actions: [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:ReceiveMessage",
        ],
        resources: [{ "Fn::GetAtt": [queueId, "Arn"] }],
      },
    ]);
  });

  it("the webhook reads the signing secret and the registry, and completes callbacks: it cannot start or read executions", () => {
    expect(grantsOf("webhook")).toEqual([
      { actions: ["secretsmanager:GetSecretValue"], resources: [{ Ref: logicalId(door.webhookSecret) }] },
      { actions: ["dynamodb:GetItem"], resources: [{ "Fn::GetAtt": [tableId, "Arn"] }] },
      { actions: ["lambda:SendDurableExecutionCallbackSuccess"], resources: [executions] },
    ]);
    const variables = resources[logicalId(door.webhook)]!.Properties.Environment.Variables;
    expect(variables.WEBHOOK_SECRET_ARN).toEqual({ Ref: logicalId(door.webhookSecret) });
    // The secret's value is never in the template or the environment, only its ARN.
    expect(Object.keys(variables)).not.toContain("WEBHOOK_SECRET");
  });

  it("the api's Function URL needs SigV4; the webhook's is public, its signature checked in code", () => {
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "AWS_IAM",
      TargetFunctionArn: { "Fn::GetAtt": [logicalId(door.api), "Arn"] },
    });
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: { "Fn::GetAtt": [logicalId(door.webhook), "Arn"] },
    });
    template.resourceCountIs("AWS::Lambda::Url", 2);
  });

  it(`the queue: encrypted, SSL only, partial batch failures, a dead-letter queue after ${MAX_RECEIVES} receives`, () => {
    expect(resources[logicalId(door.queue)]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [logicalId(door.deadLetterQueue), "Arn"] },
        maxReceiveCount: MAX_RECEIVES,
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalId(door.starter) },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    // The event source feeds the starter only: never the durable function, which it would invoke synchronously.
    const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping"));
    expect(mappings.map((m) => m.Properties.FunctionName)).toEqual([{ Ref: logicalId(door.starter) }]);
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("a managed policy, attached to nobody, lets a caller use the API's URL with SigV4, and nothing else", () => {
    const policy = resources[logicalId(door.apiClientPolicy)]!.Properties;
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: "CallTheApiUrl",
        Effect: "Allow",
        Action: "lambda:InvokeFunctionUrl",
        Resource: { "Fn::GetAtt": [logicalId(door.api), "Arn"] },
        Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
      },
    ]);
    expect(policy.Roles ?? policy.Users ?? policy.Groups).toBeUndefined();
    expect(outputs.EntryPointsApiClientPolicyArn!.Value).toEqual({ Ref: logicalId(door.apiClientPolicy) });
  });

  it("outputs the URLs, the secret's ARN and both queues", () => {
    expect(outputs.EntryPointsApiUrl!.Value).toEqual({
      "Fn::GetAtt": [logicalId(door.apiUrl), "FunctionUrl"],
    });
    expect(outputs.EntryPointsWebhookUrl!.Value).toEqual({
      "Fn::GetAtt": [logicalId(door.webhookUrl), "FunctionUrl"],
    });
    expect(outputs.EntryPointsWebhookSecretArn!.Value).toEqual({ Ref: logicalId(door.webhookSecret) });
    expect(outputs.EntryPointsQueueUrl!.Value).toEqual({ Ref: logicalId(door.queue) });
    expect(outputs.EntryPointsDeadLetterQueueUrl!.Value).toEqual({ Ref: logicalId(door.deadLetterQueue) });
  });

  it("comes only with its pattern", () => {
    const { stack: other } = synthFixture({ patterns: "steps" });
    expect(other.frontDoors.size).toBe(0);
  });
});
