import * as path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, type BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { CookbookConfig } from "./config";
import { acknowledge, EXECUTIONS_WILDCARD_REASON, wildcardResourceFinding } from "./nag";
import type { DurableFunctionDefinition } from "./patterns";

/** How every handler of the stack is bundled: esbuild, locally, as the bench measures it. */
export const HANDLER_BUNDLING: BundlingOptions = {
  format: OutputFormat.CJS,
  target: "node24",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The durable SDK loads @aws-sdk/client-lambda on its first checkpoint, and the front door calls the durable
  // APIs: both need 3.1014 or later, so bundle the versions the tests ran against instead of the runtime's.
  bundleAwsSDK: true,
};

export interface DurablePatternFunctionProps {
  pattern: string;
  definition: DurableFunctionDefinition;
  entryPath: string;
  config: CookbookConfig;
  environment: Record<string, string>;
  /** The repository root: where pnpm-lock.yaml is and where CDK runs esbuild. */
  root: string;
}

/**
 * One durable handler of a pattern: the function (bundled locally by esbuild), its own role, its log
 * group, a version and the alias `live`. Durable executions must be started through a qualified name,
 * so the alias is what callers, tests and outputs use.
 */
export class DurablePatternFunction extends Construct {
  readonly function: NodejsFunction;
  readonly alias: lambda.Alias;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /**
   * `<function ARN>:*`. A durable execution's ARN is `<function ARN>:<version>/durable-execution/<name>/<id>`:
   * always a version (never the alias), and unqualified function ARNs never match it. This is the
   * narrowest resource that covers the executions of every version this stack publishes.
   */
  readonly executionsArn: string;

  constructor(scope: Construct, id: string, props: DurablePatternFunctionProps) {
    super(scope, id);
    const { pattern, definition, config } = props;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.logGroup = new logs.LogGroup(this, "Logs", {
      logGroupName: `/durable-cookbook/${config.stage}/${pattern}/${definition.handlerExport}`,
      retention: config.logRetention,
      removalPolicy,
    });

    // Our own role instead of the AWS managed AWSLambdaBasicDurableExecutionRolePolicy (which the L2
    // attaches by default): the same permissions, scoped to this function and this log group.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of the ${pattern} pattern's ${definition.handlerExport} durable function`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "WriteOwnLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, "Function", {
      entry: props.entryPath,
      handler: definition.handlerExport,
      description: definition.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: definition.memorySize ?? 256,
      timeout: definition.timeout ?? Duration.minutes(1),
      role: this.role,
      logGroup: this.logGroup,
      durableConfig: {
        executionTimeout: definition.durable.executionTimeout,
        retentionPeriod: definition.durable.retentionPeriod,
      },
      environment: { NODE_OPTIONS: "--enable-source-maps", ...props.environment },
      // esbuild runs locally (it is a root devDependency), never in Docker. projectRoot is the directory
      // of pnpm-lock.yaml, where CDK runs `pnpm exec esbuild`.
      projectRoot: props.root,
      depsLockFilePath: path.join(props.root, "pnpm-lock.yaml"),
      bundling: HANDLER_BUNDLING,
      // Old versions stay (the default): an execution keeps replaying on the version that started it.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });

    this.alias = new lambda.Alias(this, "Live", { aliasName: "live", version: this.function.currentVersion });
    this.executionsArn = `${this.function.functionArn}:*`;

    // A separate policy, not the role's default one: the function depends on its role, so a statement
    // naming the function's own ARN inside the role would be a circular dependency.
    const durablePolicy = new iam.Policy(this, "DurableExecutionPolicy", {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: "CheckpointOwnExecutions",
          actions: ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"],
          resources: [this.executionsArn],
        }),
      ],
    });
    acknowledge(durablePolicy, wildcardResourceFinding(this.function, ":*"), EXECUTIONS_WILDCARD_REASON);
  }

  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPolicy(statement);
  }
}
