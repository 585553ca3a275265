import { readFileSync } from "node:fs";
import path from "node:path";
import { runLocally } from "./run-local";
import { listPatterns, loadScenario, UsageError } from "./scenario";
import { renderEvent, renderSummary } from "./timeline";

const USAGE = "Usage: pnpm demo <pattern> [--event file.json]";

export interface DemoArgs {
  pattern: string;
  eventFile?: string;
}

export function parseArgs(argv: string[]): DemoArgs {
  const args = [...argv];
  const positional: string[] = [];
  let eventFile: string | undefined;
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === "--event") {
      eventFile = args.shift();
      if (!eventFile) throw new UsageError("--event needs a file name");
    } else if (arg.startsWith("--event=")) {
      eventFile = arg.slice("--event=".length);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? "Which pattern?" : "One pattern at a time");
  return eventFile === undefined ? { pattern: positional[0]! } : { pattern: positional[0]!, eventFile };
}

/** Relative to where the user typed the command (pnpm runs root scripts from the repository root). */
export function readEvent(file: string): unknown {
  const resolved = path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
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

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  // The timeline tells the story; the workflow's own JSON log lines (context.logger) would drown it.
  process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
  try {
    const args = parseArgs(argv);
    const event = args.eventFile === undefined ? undefined : readEvent(args.eventFile);
    const scenario = await loadScenario(args.pattern);
    out(`${args.pattern}: ${scenario.title}`);
    out(`Running locally with LocalDurableTestRunner (time skipped: waits take no real time, the clock shows virtual time)\n`);
    let startedAt: Date | undefined;
    const outcome = await runLocally(scenario, event ?? scenario.event, (timelineEvent) => {
      startedAt ??= timelineEvent.at;
      out(renderEvent(timelineEvent, startedAt));
    });
    out("");
    if (outcome.summary.status === "SUCCEEDED") out(`Result: ${JSON.stringify(outcome.result, null, 2)}`);
    else out(`Error: ${outcome.error?.type ?? "Error"}: ${outcome.error?.message ?? ""}`);
    out(`Summary: ${renderSummary(outcome.summary)}`);
    return outcome.summary.status === "SUCCEEDED" ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      out(`${error.message}\n${USAGE}\nPatterns: ${listPatterns().join(", ")}`);
      return 2;
    }
    out(`Demo failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    // The local runner's worker thread is torn down; exit without waiting on stray timers of abandoned actors.
    process.exit(code);
  });
}
