import * as path from "node:path";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { CookbookConfig } from "./config";
import { HANDLER_BUNDLING, type DurablePatternFunction } from "./durable-function";
import { acknowledge, EXECUTIONS_WILDCARD_REASON, wildcardResourceFinding } from "./nag";
import type { PatternDefinition } from "./patterns";

export interface FrontDoorProps {
  pattern: string;
  frontDoor: NonNullable<PatternDefinition["frontDoor"]>;
  entryPath: string;
  /** The durable function the front door starts, reads and resumes. */
  target: DurablePatternFunction;
  /** The registry of callback ids the workflow writes and the webhook reads. */
  callbackTable: dynamodb.ITable;
  config: CookbookConfig;
  root: string;
}

/** A poison message is received this many times, then the queue moves it to the dead-letter queue. */
export const MAX_RECEIVES = 3;

/**
 * The plain Lambda functions in front of a durable function (the entry-points pattern):
 *
 * - api: `POST /orders`, `GET /orders/{id}` behind a Function URL with AWS_IAM auth. Starts executions on the
 *   alias (asynchronously, named) and reads them.
 * - webhook: the payment provider's signed deliveries, behind a public Function URL: the HMAC signature, with
 *   the secret from Secrets Manager, is its authentication. Reads the callback registry, completes callbacks.
 * - starter: fed by an SQS queue (partial batch failures, a dead-letter queue); starts executions
 *   asynchronously, so no execution is bound by the event source mapping's synchronous 15 minutes.
 *
 * Each has its own role with exactly the calls it makes.
 */
export class FrontDoor extends Construct {
  readonly api: NodejsFunction;
  readonly webhook: NodejsFunction;
  readonly starter: NodejsFunction;
  readonly roles: Record<"api" | "webhook" | "starter", iam.Role>;
  readonly apiUrl: lambda.FunctionUrl;
  readonly webhookUrl: lambda.FunctionUrl;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly webhookSecret: secretsmanager.Secret;
  /** For the callers of the API: its Function URL needs SigV4 and this permission. Attached to nobody. */
  readonly apiClientPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: FrontDoorProps) {
    super(scope, id);
    const { config, target, pattern, frontDoor } = props;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const make = (name: "api" | "webhook" | "starter", description: string, timeout: Duration) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        logGroupName: `/durable-cookbook/${config.stage}/${pattern}/${frontDoor[name]}`,
        retention: config.logRetention,
        removalPolicy,
      });
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: `Execution role of the ${pattern} pattern's ${frontDoor[name]} (front door)`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "WriteOwnLogs",
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [logGroup.logGroupArn],
        }),
      );
      const fn = new NodejsFunction(this, `${name}Function`, {
        entry: props.entryPath,
        handler: frontDoor[name],
        description,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout,
        role,
        logGroup,
        environment: {
          NODE_OPTIONS: "--enable-source-maps",
          COOKBOOK_STAGE: config.stage,
          // Qualified: durable executions start only through a version or an alias.
          CHECKOUT_FUNCTION_ARN: target.alias.functionArn,
        },
        projectRoot: props.root,
        depsLockFilePath: path.join(props.root, "pnpm-lock.yaml"),
        bundling: HANDLER_BUNDLING,
      });
      return { fn, role };
    };

    const api = make(
      "api",
      "Entry points: POST /orders starts a checkout, GET /orders/{id} reads it",
      Duration.seconds(10),
    );
    const webhook = make(
      "webhook",
      "Entry points: the payment provider's signed webhook",
      Duration.seconds(10),
    );
    const starter = make(
      "starter",
      "Entry points: starts a checkout per queue message",
      Duration.seconds(30),
    );
    this.api = api.fn;
    this.webhook = webhook.fn;
    this.starter = starter.fn;
    this.roles = { api: api.role, webhook: webhook.role, starter: starter.role };

    // Start on the alias only; read executions by name (list on the function, then get the execution).
    const startAndRead = (role: iam.Role) => {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "StartThroughAlias",
          actions: ["lambda:InvokeFunction"],
          resources: [target.alias.functionArn],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "FindExecutionsByName",
          actions: ["lambda:ListDurableExecutionsByFunction"],
          // By name across the function's versions: the call names the function, not a qualifier.
          resources: [target.function.functionArn],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: "ReadExecutions",
          actions: ["lambda:GetDurableExecution"],
          resources: [target.executionsArn],
        }),
      );
      acknowledge(role, wildcardResourceFinding(target.function, ":*"), EXECUTIONS_WILDCARD_REASON);
    };
    startAndRead(api.role);
    startAndRead(starter.role);

    this.webhookSecret = new secretsmanager.Secret(this, "WebhookSecret", {
      description: `The ${pattern} payment webhook's signing secret (${config.stage}): put the provider's secret here`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    acknowledge(
      this.webhookSecret,
      "AwsSolutions::AwsSolutions-SMG4",
      "The payment provider issues and rotates this signing secret; it cannot be rotated from our side by a " +
        "rotation Lambda. Rotate it at the provider and store the new value here: the webhook accepts several " +
        "v1= signatures, so deliveries signed with the old and the new secret both verify during the switch.",
    );
    webhook.fn.addEnvironment("WEBHOOK_SECRET_ARN", this.webhookSecret.secretArn);
    webhook.fn.addEnvironment("CALLBACK_TABLE_NAME", props.callbackTable.tableName);
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "ReadSigningSecret",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [this.webhookSecret.secretArn],
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "FindCallbackIds",
        actions: ["dynamodb:GetItem"],
        resources: [props.callbackTable.tableArn],
      }),
    );
    webhook.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "ResumeWaitingCheckouts",
        actions: ["lambda:SendDurableExecutionCallbackSuccess"],
        resources: [target.executionsArn],
      }),
    );
    acknowledge(webhook.role, wildcardResourceFinding(target.function, ":*"), EXECUTIONS_WILDCARD_REASON);

    // Clients sign requests with SigV4 (AWS_IAM); for browsers, put API Gateway and an authorizer in front.
    this.apiUrl = api.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    this.apiClientPolicy = new iam.ManagedPolicy(this, "ApiClientPolicy", {
      description: `Lets a client call the ${pattern} API (${config.stage}) through its Function URL, signed with SigV4`,
      statements: [
        new iam.PolicyStatement({
          sid: "CallTheApiUrl",
          actions: ["lambda:InvokeFunctionUrl"],
          resources: [api.fn.functionArn],
          conditions: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
        }),
      ],
    });
    // Public on purpose: the provider cannot sign with SigV4. The handler verifies the HMAC before anything.
    this.webhookUrl = webhook.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    // Messages that could not start a checkout after MAX_RECEIVES receives end here, for a person to look at.
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // At least six times the starter's timeout, as Lambda advises for SQS event sources.
      visibilityTimeout: Duration.seconds(180),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
      removalPolicy,
    });
    starter.fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }),
    );

    const prefix = target.node.id.replace(/Handler$/, "");
    new CfnOutput(scope, `${prefix}ApiUrl`, {
      value: this.apiUrl.url,
      description: "POST /orders, GET /orders/{id} (SigV4)",
    });
    new CfnOutput(scope, `${prefix}WebhookUrl`, {
      value: this.webhookUrl.url,
      description: "Give the payment provider this URL; it signs deliveries with the secret below",
    });
    new CfnOutput(scope, `${prefix}ApiClientPolicyArn`, {
      value: this.apiClientPolicy.managedPolicyArn,
      description: "Attach to the role or user that calls the API",
    });
    new CfnOutput(scope, `${prefix}WebhookSecretArn`, { value: this.webhookSecret.secretArn });
    new CfnOutput(scope, `${prefix}QueueUrl`, { value: this.queue.queueUrl });
    new CfnOutput(scope, `${prefix}DeadLetterQueueUrl`, { value: this.deadLetterQueue.queueUrl });
  }
}
