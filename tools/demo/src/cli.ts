import { readFileSync } from "node:fs";
import path from "node:path";
import { AwsProblem, lambdaFor, type Lambda } from "./aws";
import { executionNameFor, runInCloud } from "./cloud";
import { writeHtml } from "./html";
import { deployedFunctionArn, NotDeployedError } from "./outputs";
import { runLocally } from "./run-local";
import { listPatterns, loadScenario, UsageError, type DemoScenario } from "./scenario";
import { renderSummary, TimelinePrinter, type TimelineEvent } from "./timeline";

const USAGE =
  "Usage: pnpm demo <pattern> [--event file.json] [--html timeline.html] [--cloud [--function name:alias|arn]]";

export interface DemoArgs {
  pattern: string;
  eventFile?: string;
  html?: string;
  cloud?: boolean;
  functionName?: string;
}

export function parseArgs(argv: string[]): DemoArgs {
  const args = [...argv];
  const positional: string[] = [];
  const parsed: Partial<DemoArgs> = {};
  const value = (flag: string) => {
    const next = args.shift();
    if (!next || next.startsWith("--"))
      throw new UsageError(`${flag} needs a ${flag === "--function" ? "function name" : "file name"}`);
    return next;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === "--event") parsed.eventFile = value(arg);
    else if (arg.startsWith("--event=")) parsed.eventFile = arg.slice("--event=".length);
    else if (arg === "--html") parsed.html = value(arg);
    else if (arg === "--cloud") parsed.cloud = true;
    else if (arg === "--function") parsed.functionName = value(arg);
    else if (arg.startsWith("-")) throw new UsageError(`Unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 1)
    throw new UsageError(positional.length === 0 ? "Which pattern?" : "One pattern at a time");
  if (parsed.functionName && !parsed.cloud) throw new UsageError("--function goes with --cloud");
  return { pattern: positional[0]!, ...parsed };
}

/** Relative to where the user typed the command (pnpm runs root scripts from the repository root). */
function userPath(file: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

export function readEvent(file: string): unknown {
  const resolved = userPath(file);
  let text: string;
  try {
    text = readFileSync(resolved, "utf8");
  } catch (error) {
    throw new UsageError(`Cannot read event file ${resolved}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`Event file ${resolved} is not valid JSON: ${(error as Error).message}`);
  }
}

export interface DemoIo {
  /** The Lambda client for --cloud; by default one for the function ARN's Region. */
  lambda?: (functionArn: string) => Lambda;
  /** Where the deployed stack's outputs are (infra/cdk-outputs.json). */
  outputsFile?: string;
  now?: () => Date;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export async function main(
  argv: string[],
  out: (line: string) => void = console.log,
  io: DemoIo = {},
): Promise<number> {
  // The timeline tells the story; the workflow's own JSON log lines (context.logger) would drown it.
  process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
  try {
    const args = parseArgs(argv);
    const event = args.eventFile === undefined ? undefined : readEvent(args.eventFile);
    const scenario = await loadScenario(args.pattern);
    out(`${args.pattern}: ${scenario.title}`);
    const outcome = args.cloud
      ? await cloud(args, scenario, event ?? scenario.event, out, io)
      : await local(scenario, event ?? scenario.event, out);
    if (args.html)
      out(
        `Timeline page: ${writeHtml(userPath(args.html), outcome.events, `pnpm demo ${args.pattern}${args.cloud ? " --cloud" : ""}`)}`,
      );
    return outcome.status === "SUCCEEDED" || outcome.status === "RUNNING" ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      out(`${error.message}\n${USAGE}\nPatterns: ${listPatterns().join(", ")}`);
      return 2;
    }
    if (error instanceof AwsProblem || error instanceof NotDeployedError) {
      out(error.message);
      return 1;
    }
    out(`Demo failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

interface Shown {
  status: string;
  events: TimelineEvent[];
}

async function local(scenario: DemoScenario, event: unknown, out: (line: string) => void): Promise<Shown> {
  out(
    `Running locally with LocalDurableTestRunner (time skipped: waits take no real time, the clock shows virtual time)\n`,
  );
  const printer = new TimelinePrinter();
  const outcome = await runLocally(scenario, event, (timelineEvent) => out(printer.line(timelineEvent)));
  out("");
  if (outcome.summary.status === "SUCCEEDED") out(`Result: ${JSON.stringify(outcome.result, null, 2)}`);
  else out(`Error: ${outcome.error?.type ?? "Error"}: ${outcome.error?.message ?? ""}`);
  out(`Summary: ${renderSummary(outcome.summary)}`);
  return { status: outcome.summary.status, events: outcome.events };
}

async function cloud(
  args: DemoArgs,
  scenario: DemoScenario,
  event: unknown,
  out: (line: string) => void,
  io: DemoIo,
): Promise<Shown> {
  const functionArn = args.functionName ?? deployedFunctionArn(args.pattern, io.outputsFile);
  const now = io.now ?? (() => new Date());
  const executionName = executionNameFor(args.pattern, now());
  out(
    `Starting ${functionArn} as durable execution ${executionName} (real time: waits and callbacks take as long as they say)\n`,
  );
  if (scenario.frontDoor)
    out(
      `This demo drives its front door locally only: here the execution starts directly with the event, and no client or webhook reaches it.\n`,
    );
  const printer = new TimelinePrinter();
  const outcome = await runInCloud(
    scenario,
    event,
    {
      lambda: (io.lambda ?? lambdaFor)(functionArn),
      functionArn,
      executionName,
      now,
      ...(io.pollMs === undefined ? {} : { pollMs: io.pollMs }),
      ...(io.sleep ? { sleep: io.sleep } : {}),
    },
    (timelineEvent) => out(printer.line(timelineEvent)),
  );
  out("");
  if (outcome.status === "SUCCEEDED") out(`Result: ${JSON.stringify(outcome.result, null, 2)}`);
  else if (outcome.status === "RUNNING")
    out(
      `Still running: ${outcome.leftRunning ?? ""}\nIt carries on without us. Check on it: pnpm run doctor --execution ${outcome.executionArn}`,
    );
  else out(`Error: ${outcome.error?.type ?? "Error"}: ${outcome.error?.message ?? ""}`);
  out(`Execution: ${outcome.executionArn}`);
  return { status: outcome.status, events: outcome.events };
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    // The local runner's worker thread is torn down; exit without waiting on stray timers of abandoned actors.
    process.exit(code);
  });
}
