import { ArnFormat, CfnOutput, RemovalPolicy, SecretValue, Stack, type StackProps } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import type { CookbookConfig } from "./config";
import { REPO_ROOT, type DiscoveredPattern } from "./discover";
import { DurablePatternFunction } from "./durable-function";
import { FrontDoor } from "./front-door";
import { acknowledge, EXECUTIONS_WILDCARD_REASON, wildcardResourceFinding } from "./nag";
import {
  functionKey,
  pascalCase,
  SECRET_PLACEHOLDER,
  secretOutputKey,
  type Grant,
  type PatternDefinition,
} from "./patterns";

export interface CookbookStackProps extends StackProps {
  config: CookbookConfig;
  patterns: DiscoveredPattern[];
  /** The repository root (default: this checkout). */
  root?: string;
}

/** The actions an outside system needs to answer a durable callback (the callback id names the execution). */
export const CALLBACK_ACTIONS = [
  "lambda:SendDurableExecutionCallbackSuccess",
  "lambda:SendDurableExecutionCallbackFailure",
  "lambda:SendDurableExecutionCallbackHeartbeat",
];

/**
 * Every pattern's durable functions in one stack. Outputs, per function, the alias ARN that tests and
 * callers use (`<Pattern><Export>AliasArn`, e.g. `StepsHandlerAliasArn`) and its log group.
 */
export class CookbookStack extends Stack {
  /** By functionKey: "StepsHandler", "SagaPaymentHandler"... */
  readonly functions = new Map<string, DurablePatternFunction>();
  /** By pattern: the approver policy of each pattern whose functions wait for callbacks. */
  readonly approverPolicies = new Map<string, iam.ManagedPolicy>();
  readonly cloudTestPolicy?: iam.ManagedPolicy;
  /** The secrets of the secret grants, by pattern and setting ("steps/ORDER_API_TOKEN"). */
  readonly secrets = new Map<string, secretsmanager.Secret>();
  /** The document buckets of patterns that have a bucket-write grant, by pattern. */
  private readonly buckets = new Map<string, s3.Bucket>();
  /** The tables of patterns that have a table-read-write or table-write grant, by pattern. */
  private readonly tables = new Map<string, dynamodb.Table>();
  /** The front doors of patterns that have one (entry-points), by pattern. */
  readonly frontDoors = new Map<string, FrontDoor>();

  constructor(scope: Construct, id: string, props: CookbookStackProps) {
    super(scope, id, props);
    const { config } = props;

    for (const { definition: pattern, entryPath } of props.patterns) {
      for (const definition of pattern.functions) {
        const key = functionKey(pattern.name, definition.handlerExport);
        const fn = new DurablePatternFunction(this, key, {
          pattern: pattern.name,
          definition,
          entryPath,
          config,
          root: props.root ?? REPO_ROOT,
          environment: {
            COOKBOOK_STAGE: config.stage,
            ...definition.environment,
            ...config.patternEnvironment[pattern.name],
          },
        });
        this.functions.set(key, fn);
      }
    }

    // Grants run after every function exists, since one may name a sibling (saga's payment function).
    for (const { definition: pattern } of props.patterns) {
      for (const definition of pattern.functions) {
        const fn = this.functions.get(functionKey(pattern.name, definition.handlerExport))!;
        for (const grant of definition.grants ?? []) this.applyGrant(pattern.name, fn, grant, config);
      }
    }

    for (const { definition: pattern, frontDoorPath } of props.patterns) {
      if (!pattern.frontDoor || !frontDoorPath) continue;
      const table = this.tables.get(pattern.name);
      if (!table)
        throw new Error(
          `${pattern.name}: a front door needs the table its workflow writes (a table-write grant)`,
        );
      this.frontDoors.set(
        pattern.name,
        new FrontDoor(this, `${functionKey(pattern.name, "")}FrontDoor`, {
          pattern: pattern.name,
          frontDoor: pattern.frontDoor,
          entryPath: frontDoorPath,
          target: this.functions.get(functionKey(pattern.name, "handler"))!,
          callbackTable: table,
          config,
          root: props.root ?? REPO_ROOT,
        }),
      );
    }

    // One approver policy per pattern whose functions wait for callbacks: a purchase approver cannot answer a
    // refund approval.
    for (const { definition: pattern } of props.patterns) {
      const waiting = this.callbackTargets(pattern);
      if (waiting.length === 0) continue;
      const id = `${pascalCase(pattern.name)}ApproverPolicy`;
      const policy = new iam.ManagedPolicy(this, id, {
        description: `Lets an outside system (an approver) answer the callbacks of the durable cookbook's ${pattern.name} functions (${config.stage})`,
        statements: [
          new iam.PolicyStatement({
            sid: "AnswerCallbacks",
            actions: CALLBACK_ACTIONS,
            resources: waiting.map((fn) => fn.executionsArn),
          }),
        ],
      });
      for (const fn of waiting) {
        acknowledge(policy, wildcardResourceFinding(fn.function, ":*"), EXECUTIONS_WILDCARD_REASON);
      }
      this.approverPolicies.set(pattern.name, policy);
      new CfnOutput(this, `${id}Arn`, {
        value: policy.managedPolicyArn,
        description: `Attach to the role or user of the system that answers the ${pattern.name} pattern's callbacks (approvals)`,
      });
    }

    const all = [...this.functions.values()];
    if (all.length > 0) {
      // Functions that only other functions start (saga's payment, through context.invoke): no tool invokes them.
      const invokedByOthers = new Set(
        props.patterns.flatMap(({ definition: pattern }) =>
          pattern.functions.flatMap((definition) =>
            (definition.grants ?? []).flatMap((grant) =>
              grant.kind === "invoke" ? [functionKey(pattern.name, grant.handlerExport)] : [],
            ),
          ),
        ),
      );
      const started = [...this.functions.entries()]
        .filter(([key]) => !invokedByOthers.has(key))
        .map(([, fn]) => fn);
      const answered = props.patterns.flatMap(({ definition: pattern }) => this.callbackTargets(pattern));
      // Exactly what `pnpm test:cloud` (CloudDurableTestRunner), `pnpm demo <pattern> --cloud` and
      // `pnpm run doctor` send (infra/test/tool-actions.test.ts collects it from their clients). Attach it to a
      // CI role or a person instead of administrator credentials.
      const statements = [
        new iam.PolicyStatement({
          sid: "StartThroughAlias",
          actions: ["lambda:InvokeFunction"],
          resources: started.map((fn) => fn.alias.functionArn),
        }),
        new iam.PolicyStatement({
          sid: "FindExecutionsByName",
          actions: ["lambda:ListDurableExecutionsByFunction"],
          // The doctor names the function and a qualifier (name:live): the unqualified function ARN and the
          // qualified ones, so the call is allowed whichever of the two Lambda authorizes it against.
          resources: all.flatMap((fn) => [fn.function.functionArn, fn.executionsArn]),
        }),
        new iam.PolicyStatement({
          sid: "ReadHistory",
          actions: ["lambda:GetDurableExecutionHistory"],
          resources: all.map((fn) => fn.executionsArn),
        }),
      ];
      if (answered.length > 0) {
        statements.push(
          new iam.PolicyStatement({
            sid: "AnswerCallbacks",
            actions: CALLBACK_ACTIONS,
            resources: answered.map((fn) => fn.executionsArn),
          }),
        );
      }
      this.cloudTestPolicy = new iam.ManagedPolicy(this, "CloudTestPolicy", {
        description: `Lets the cookbook's cloud tests, cloud demo and doctor run and read the ${config.stage} durable functions`,
        statements,
      });
      for (const fn of all) {
        acknowledge(
          this.cloudTestPolicy,
          wildcardResourceFinding(fn.function, ":*"),
          EXECUTIONS_WILDCARD_REASON,
        );
      }
      new CfnOutput(this, "CloudTestPolicyArn", {
        value: this.cloudTestPolicy.managedPolicyArn,
        description:
          "Attach to the role or user that runs `pnpm test:cloud`, `pnpm demo <pattern> --cloud` or `pnpm run doctor`",
      });
    }

    for (const [key, fn] of this.functions) {
      new CfnOutput(this, `${key}AliasArn`, {
        value: fn.alias.functionArn,
        description: `Invoke this qualified ARN (alias live) to start a durable execution`,
      });
      new CfnOutput(this, `${key}LogGroup`, { value: fn.logGroup.logGroupName });
    }
    new CfnOutput(this, "Stage", { value: config.stage });
  }

  private callbackTargets(pattern: PatternDefinition): DurablePatternFunction[] {
    return pattern.functions
      .filter((definition) => definition.acceptsCallbacks)
      .map((definition) => this.functions.get(functionKey(pattern.name, definition.handlerExport))!);
  }

  private applyGrant(
    pattern: string,
    fn: DurablePatternFunction,
    grant: Grant,
    config: CookbookConfig,
  ): void {
    switch (grant.kind) {
      case "invoke": {
        const target = this.functions.get(functionKey(pattern, grant.handlerExport));
        if (!target) throw new Error(`${pattern}: no function exported as ${grant.handlerExport} to invoke`);
        fn.function.addEnvironment(grant.env, target.alias.functionArn);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: "InvokeOnlyTheTarget",
            actions: ["lambda:InvokeFunction"],
            resources: [target.alias.functionArn, target.function.currentVersion.functionArn],
          }),
        );
        return;
      }
      case "bedrock-model": {
        fn.function.addEnvironment(grant.env, config.bedrockModelId);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: "ConverseWithConfiguredModel",
            // Converse and ConverseStream are authorized as InvokeModel and InvokeModelWithResponseStream.
            actions: ["bedrock:InvokeModel"],
            resources: bedrockModelResources(this, config.bedrockModelId),
          }),
        );
        return;
      }
      case "table-read-write": {
        const table = this.tableFor(pattern, grant.partitionKey, config);
        fn.function.addEnvironment(grant.env, table.tableName);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: "ReadWriteItems",
            // Strongly consistent reads and conditional writes of single items: no scans, no deletes.
            actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
            resources: [table.tableArn],
          }),
        );
        return;
      }
      case "table-write": {
        const table = this.tableFor(pattern, grant.partitionKey, config, "expiresAt");
        fn.function.addEnvironment(grant.env, table.tableName);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: "PutItems",
            actions: ["dynamodb:PutItem"],
            resources: [table.tableArn],
          }),
        );
        return;
      }
      case "secret": {
        const secret = this.secretFor(pattern, grant.setting, grant.description, config);
        fn.function.addEnvironment(`${grant.setting}_SECRET_ARN`, secret.secretArn);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: `Read${pascalCase(grant.setting)}`,
            actions: ["secretsmanager:GetSecretValue"],
            // The secret's full ARN, its random suffix included: this one secret, no wildcard.
            resources: [secret.secretArn],
          }),
        );
        return;
      }
      case "bucket-write": {
        const bucket = this.bucketFor(pattern, config);
        fn.function.addEnvironment(grant.env, bucket.bucketName);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: "WriteDocuments",
            actions: ["s3:PutObject"],
            resources: [bucket.arnForObjects("*")],
          }),
        );
        acknowledge(
          fn.role,
          wildcardResourceFinding(bucket, "/*"),
          "Object keys are made from batch and invoice ids at run time, so they cannot be listed in advance; " +
            "the statement allows s3:PutObject only, only in this pattern's own bucket.",
        );
        return;
      }
    }
  }

  private secretFor(
    pattern: string,
    setting: string,
    description: string,
    config: CookbookConfig,
  ): secretsmanager.Secret {
    const key = `${pattern}/${setting}`;
    let secret = this.secrets.get(key);
    if (!secret) {
      const outputKey = secretOutputKey(pattern, setting);
      secret = new secretsmanager.Secret(this, outputKey.replace(/Arn$/, ""), {
        description: `${setting} of the ${pattern} pattern (${config.stage}): ${description}`,
        // Not a secret: what the pattern reads as "not set yet" until you put the real value.
        secretStringValue: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
        removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      acknowledge(
        secret,
        "AwsSolutions::AwsSolutions-SMG4",
        `The provider of ${setting} issues this credential and rotates it on its side; a rotation Lambda of ours ` +
          "cannot mint a new one. Rotate it at the provider and put the new value here (put-secret-value): the " +
          "pattern reads it again within minutes, without a deployment.",
      );
      this.secrets.set(key, secret);
      new CfnOutput(this, outputKey, {
        value: secret.secretArn,
        description:
          `${setting} for ${pattern} (${description}). It holds a placeholder: put the real value with ` +
          `aws secretsmanager put-secret-value --secret-id <this ARN> --secret-string '<value>'`,
      });
    }
    return secret;
  }

  private tableFor(
    pattern: string,
    partitionKey: string,
    config: CookbookConfig,
    timeToLiveAttribute?: string,
  ): dynamodb.Table {
    let table = this.tables.get(pattern);
    if (!table) {
      table = new dynamodb.Table(this, `${functionKey(pattern, "")}Table`, {
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        ...(timeToLiveAttribute ? { timeToLiveAttribute } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      this.tables.set(pattern, table);
      new CfnOutput(this, `${functionKey(pattern, "")}TableName`, { value: table.tableName });
    }
    return table;
  }

  private bucketFor(pattern: string, config: CookbookConfig): s3.Bucket {
    let bucket = this.buckets.get(pattern);
    if (!bucket) {
      bucket = new s3.Bucket(this, `${functionKey(pattern, "")}Documents`, {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        autoDeleteObjects: !config.retainData,
      });
      acknowledge(
        bucket,
        "AwsSolutions::AwsSolutions-S1",
        "A private, SSL-only demo bucket whose objects the stack deletes with it; server access logs would need a " +
          "second bucket that outlives the stack. Turn on access logs or CloudTrail data events for real documents.",
      );
      this.buckets.set(pattern, bucket);
      new CfnOutput(this, `${functionKey(pattern, "")}DocumentsBucket`, { value: bucket.bucketName });
    }
    return bucket;
  }
}

/** Cross-Region inference profile ids start with a geography: `us.anthropic.claude-...`. */
const INFERENCE_PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;

/**
 * The resources bedrock:InvokeModel must allow for a model id. A foundation model: its ARN in this
 * Region. An inference profile: the profile, plus the foundation model in whichever Region the
 * profile routes the request to (hence the Region wildcard, on that one model only).
 */
export function bedrockModelResources(stack: Stack, modelId: string): string[] {
  const arn = (resource: string, resourceName: string, region = stack.region, account = stack.account) =>
    stack.formatArn({
      service: "bedrock",
      resource,
      resourceName,
      region,
      account,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  if (INFERENCE_PROFILE_PREFIX.test(modelId)) {
    return [
      arn("inference-profile", modelId),
      arn("foundation-model", modelId.replace(INFERENCE_PROFILE_PREFIX, ""), "*", ""),
    ];
  }
  return [arn("foundation-model", modelId, stack.region, "")];
}
