/**
 * Where this pattern's tests run. This file is identical in every pattern: copy it as is.
 *
 *   (default)                   LocalDurableTestRunner: the handler runs in this process, with the simulated world.
 *   DURABLE_TEST_TARGET=cloud   CloudDurableTestRunner: the deployed function, through its alias `live`.
 *
 * In the cloud, the alias ARN comes from the outputs file that `pnpm run deploy` writes (infra/cdk-outputs.json
 * in the cookbook; elsewhere point DURABLE_TEST_OUTPUTS at the file `cdk deploy --outputs-file` wrote), or from
 * an environment variable named like the output (`StepsHandlerAliasArn=arn:...`), which wins.
 *
 * The deployed handler talks to its real services, not to the simulated world, so a test that reads the
 * world (calls counted in the fakes, a handler wrapped by the test) is declared with `itLocal` or
 * `describeLocal`: it runs locally and is reported as skipped in the cloud.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import {
  CloudDurableTestRunner,
  InvocationType,
  LocalDurableTestRunner,
  type CloudDurableTestRunnerParameters,
} from "@aws/durable-execution-sdk-js-testing";

export type TargetName = "local" | "cloud";
type Env = Record<string, string | undefined>;

export function selectTarget(env: Env = process.env): TargetName {
  const value = (env.DURABLE_TEST_TARGET ?? "").trim().toLowerCase();
  if (value === "" || value === "local") return "local";
  if (value === "cloud") return "cloud";
  throw new Error(
    `DURABLE_TEST_TARGET must be "local" (the default) or "cloud", not "${env.DURABLE_TEST_TARGET}"`,
  );
}

export const target: TargetName = selectTarget();
export const isCloud = target === "cloud";

/** A test that reads the simulated world: it runs locally, and is skipped in the cloud. */
export const itLocal: jest.It = isCloud ? it.skip : it;
export const describeLocal: jest.Describe = isCloud ? describe.skip : describe;

// A deployed execution takes seconds (cold starts, polling its history every second), not milliseconds.
if (isCloud) jest.setTimeout(Number(process.env.DURABLE_TEST_TIMEOUT_MS ?? 300_000));

/** The local runner's checkpoint server (and fake clock, with skipTime). Nothing to start in the cloud. */
export async function setupTestEnvironment(params: { skipTime?: boolean } = {}): Promise<void> {
  if (!isCloud) await LocalDurableTestRunner.setupTestEnvironment(params);
}

export async function teardownTestEnvironment(): Promise<void> {
  if (!isCloud) await LocalDurableTestRunner.teardownTestEnvironment();
}

export interface RunnerOptions {
  /** What the local runner runs: the handler built with the simulated world. */
  handler: DurableLambdaHandler;
  /** The stack output with the deployed alias ARN: `<Pattern><Export>AliasArn`, e.g. "StepsHandlerAliasArn". */
  cloudOutput: string;
  /** The test answers callbacks: in the cloud the execution must start asynchronously for waitForData to work. */
  callbacks?: boolean;
  /**
   * Durable functions the handler calls with context.invoke, by the name it calls them with. Locally they run
   * in the runner; in the cloud the deployed function invokes the deployed ones (the stack passes their ARNs).
   */
  durableFunctions?: Record<string, DurableLambdaHandler>;
}

export type TestRunner<T> = LocalDurableTestRunner<T> | CloudDurableTestRunner<T>;

/** A runner for the selected target. Select operations by name: `getOperation(name)`, `getOperationByNameAndIndex`. */
export function createRunner<T = unknown>(
  options: RunnerOptions,
  targetName: TargetName = target,
): TestRunner<T> {
  if (targetName === "local") {
    const runner = new LocalDurableTestRunner<T>({ handlerFunction: options.handler });
    for (const [name, handler] of Object.entries(options.durableFunctions ?? {})) {
      runner.registerDurableFunction(name, handler);
    }
    return runner;
  }
  const parameters = cloudRunnerParameters(options);
  // The default LambdaClient takes its Region from the environment: use the function's own.
  process.env.AWS_REGION = regionOf(parameters.functionName);
  return new CloudDurableTestRunner<T>(parameters);
}

export interface OutputsSource {
  env?: Env;
  readFile?: (file: string) => string;
}

export function cloudRunnerParameters(
  options: Pick<RunnerOptions, "cloudOutput" | "callbacks">,
  source: OutputsSource = {},
): CloudDurableTestRunnerParameters & { functionName: string } {
  return {
    functionName: aliasArnFromOutputs(options.cloudOutput, source),
    config: {
      invocationType: options.callbacks ? InvocationType.Event : InvocationType.RequestResponse,
      pollInterval: 1000,
    },
  };
}

/** infra/cdk-outputs.json of the cookbook, seen from <pattern>/test/. */
export const DEFAULT_OUTPUTS_FILE = path.resolve(__dirname, "..", "..", "..", "infra", "cdk-outputs.json");

const QUALIFIED_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/;

export function aliasArnFromOutputs(output: string, source: OutputsSource = {}): string {
  const env = source.env ?? process.env;
  const readFile = source.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  const fromEnv = env[output];
  if (fromEnv) return checkedArn(fromEnv, `the environment variable ${output}`);

  const file = env.DURABLE_TEST_OUTPUTS || DEFAULT_OUTPUTS_FILE;
  let text: string;
  try {
    text = readFile(file);
  } catch {
    throw new Error(
      `No deployment outputs at ${file}. Deploy first (\`pnpm run deploy\` at the cookbook's root writes ` +
        `infra/cdk-outputs.json), or set DURABLE_TEST_OUTPUTS to the file \`cdk deploy --outputs-file\` wrote, ` +
        `or set ${output} to the function's qualified ARN.`,
    );
  }
  let stacks: Record<string, Record<string, unknown>>;
  try {
    stacks = JSON.parse(text) as Record<string, Record<string, unknown>>;
  } catch {
    throw new Error(`${file} is not JSON: expected { "<stack>": { "<output>": "<value>" } }`);
  }
  const wanted = env.DURABLE_TEST_STACK;
  const matches = Object.entries(stacks).filter(
    ([stack, outputs]) => (!wanted || stack === wanted) && typeof outputs?.[output] === "string",
  );
  if (matches.length === 0) {
    const available = Object.entries(stacks)
      .map(([stack, outputs]) => `${stack}: ${Object.keys(outputs ?? {}).join(", ")}`)
      .join("; ");
    throw new Error(
      `${file} has no output ${output}${wanted ? ` in stack ${wanted}` : ""} (${available || "no stacks"}). ` +
        `Was this pattern deployed? Run \`pnpm run deploy\` again.`,
    );
  }
  if (matches.length > 1) {
    throw new Error(
      `${file} has ${output} in ${matches.map(([stack]) => stack).join(" and ")}: set DURABLE_TEST_STACK to choose one.`,
    );
  }
  const [stack, outputs] = matches[0]!;
  return checkedArn(outputs[output] as string, `${file} (${stack}.${output})`);
}

function checkedArn(arn: string, where: string): string {
  if (!QUALIFIED_FUNCTION_ARN.test(arn)) {
    throw new Error(
      `${where} holds "${arn}", which is not a qualified Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>:<alias or version>). ` +
        `Durable executions start only through a version or an alias.`,
    );
  }
  return arn;
}

export function regionOf(functionArn: string): string {
  return QUALIFIED_FUNCTION_ARN.exec(functionArn)![1]!;
}
