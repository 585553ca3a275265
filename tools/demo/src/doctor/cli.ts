import { readFileSync } from "node:fs";
import path from "node:path";
import type { Event } from "@aws-sdk/client-lambda";
import {
  AwsProblem,
  fetchHistory,
  lambdaFor,
  listRunningExecutions,
  regionOf,
  resolveExecutionArn,
  type Lambda,
} from "../aws";
import { historyToTimeline } from "../history";
import { HistoryFileError, parseHistoryText } from "../history-file";
import { writeHtml } from "../html";
import { checkReplay } from "../replay/check";
import { renderReplayReport, REPLAY_EXIT } from "../replay/report";
import { loadReplayTarget } from "../replay/target";
import { UsageError } from "../scenario";
import { toExecutionView } from "../spans";
import { diagnose } from "./diagnose";
import { renderReport } from "./report";

const USAGE = [
  "Usage: pnpm run doctor <history.json> [--html timeline.html]",
  "       pnpm run doctor --execution <execution ARN> [--html timeline.html]",
  "       pnpm run doctor --function <name:alias> --execution <execution name> [--html timeline.html]",
  "       pnpm run doctor --replay <history.json> --pattern <name>     (will the current code replay it?)",
  "       pnpm run doctor --replay --execution <execution ARN> --pattern <name>",
  "       pnpm run doctor --replay --function <name[:version|alias]> --pattern <name>   (every execution still running)",
  "history.json: what `aws lambda get-durable-execution-history --durable-execution-arn <arn> --include-execution-data` prints.",
].join("\n");

export class DoctorUsageError extends Error {
  override readonly name = "DoctorUsageError";
}

export interface DoctorArgs {
  file?: string;
  execution?: string;
  functionName?: string;
  html?: string;
  /** Replay the history against the current code of `pattern` instead of diagnosing it. */
  replay?: boolean;
  pattern?: string;
}

export function parseDoctorArgs(argv: string[]): DoctorArgs {
  const args: DoctorArgs = {};
  const rest = [...argv];
  const value = (flag: string) => {
    const next = rest.shift();
    if (!next || next.startsWith("--")) throw new DoctorUsageError(`${flag} needs a value`);
    return next;
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--execution") args.execution = value(arg);
    else if (arg === "--function") args.functionName = value(arg);
    else if (arg === "--html") args.html = value(arg);
    else if (arg === "--replay") args.replay = true;
    else if (arg === "--pattern") args.pattern = value(arg);
    else if (arg.startsWith("-")) throw new DoctorUsageError(`Unknown option ${arg}`);
    else if (args.file) throw new DoctorUsageError("One history file at a time");
    else args.file = arg;
  }
  if (args.file && args.execution) throw new DoctorUsageError("Give a history file or --execution, not both");
  if (!args.file && !args.execution && !(args.replay && args.functionName))
    throw new DoctorUsageError(args.functionName ? "--function needs --execution" : "Which execution?");
  if (args.replay && !args.pattern)
    throw new DoctorUsageError("--replay needs --pattern <name>: whose code to replay it on");
  if (args.pattern && !args.replay) throw new DoctorUsageError("--pattern goes with --replay");
  if (args.replay && args.html) throw new DoctorUsageError("--html draws a diagnosis, not a replay check");
  return args;
}

export interface DoctorIo {
  out: (line: string) => void;
  now: () => Date;
  /** The Lambda client for live mode; by default one for the execution ARN's Region. */
  lambda?: (arn: string | undefined) => Lambda;
  /** Where relative paths start (pnpm runs root scripts from the repository root; INIT_CWD is the user's). */
  cwd: string;
}

const defaultIo = (): DoctorIo => ({
  out: console.log,
  now: () => new Date(),
  cwd: process.env.INIT_CWD ?? process.cwd(),
});

/**
 * Exit codes: 0 the doctor ran (whatever the execution's state), 1 it could not reach AWS, 2 usage or unreadable
 * history. With --replay: 0 compatible, 3 incompatible, 4 cannot tell (see REPLAY_EXIT).
 */
export async function doctor(argv: string[], io: DoctorIo = defaultIo()): Promise<number> {
  // A replay check runs the workflow's code: its own log lines (context.logger) would drown the verdict.
  process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
  try {
    const args = parseDoctorArgs(argv);
    if (args.replay && !args.file && !args.execution) return await replayRunning(args, io);
    const { events, region, source } = args.file
      ? readHistoryFile(path.resolve(io.cwd, args.file))
      : await fetchLive(args, io);
    if (args.replay) {
      const report = await checkReplay(events, await loadReplayTarget(args.pattern!));
      io.out(`Replay check: ${source} against the current code of ${args.pattern}`);
      for (const line of renderReplayReport(report, args.pattern!)) io.out(line);
      return REPLAY_EXIT[report.outcome];
    }
    const timeline = historyToTimeline(events);
    const view = toExecutionView(timeline);
    const now = io.now();
    const diagnosis = diagnose(view, now);
    io.out(`Durable execution doctor: ${source}`);
    for (const line of renderReport(timeline, view, diagnosis, region ? { now, region } : { now }))
      io.out(line);
    if (args.html)
      io.out(
        `\nTimeline page: ${writeHtml(path.resolve(io.cwd, args.html), timeline, `Execution ${source}`)}`,
      );
    return 0;
  } catch (error) {
    if (error instanceof DoctorUsageError || error instanceof UsageError) {
      io.out(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof HistoryFileError) {
      io.out(error.message);
      return 2;
    }
    if (error instanceof AwsProblem) {
      io.out(error.message);
      return 1;
    }
    throw error;
  }
}

/** --replay --function: the check on every execution still running on the function, worst verdict last. */
async function replayRunning(args: DoctorArgs, io: DoctorIo): Promise<number> {
  const functionName = args.functionName!;
  const lambda = (io.lambda ?? lambdaFor)(functionName);
  const arns = await listRunningExecutions(lambda, functionName);
  io.out(
    `Replay check: ${arns.length} execution(s) running on ${functionName}, against the current code of ${args.pattern}`,
  );
  const target = await loadReplayTarget(args.pattern!);
  const counts = { compatible: 0, incompatible: 0, "cannot-tell": 0 };
  for (const arn of arns) {
    const report = await checkReplay(await fetchHistory(lambda, arn), target);
    counts[report.outcome] += 1;
    io.out(`\n${arn}`);
    for (const line of renderReplayReport(report, args.pattern!)) io.out(`  ${line}`);
  }
  io.out(
    `\n${counts.compatible} compatible, ${counts.incompatible} incompatible, ${counts["cannot-tell"]} cannot tell`,
  );
  if (counts.incompatible > 0) return REPLAY_EXIT.incompatible;
  return counts["cannot-tell"] > 0 ? REPLAY_EXIT["cannot-tell"] : REPLAY_EXIT.compatible;
}

function readHistoryFile(file: string): { events: Event[]; source: string; region?: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new HistoryFileError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const document = parseHistoryText(text, file);
  if (document.nextMarker) {
    throw new HistoryFileError(
      `${file} is one page of a longer history (it has a NextMarker). Save all pages (the AWS CLI pages for you unless --max-items is set) or use --execution <arn>.`,
    );
  }
  return { events: document.events, source: file };
}

async function fetchLive(
  args: DoctorArgs,
  io: DoctorIo,
): Promise<{ events: Event[]; source: string; region?: string }> {
  const lambda = (io.lambda ?? lambdaFor)(
    args.execution?.startsWith("arn:") ? args.execution : args.functionName,
  );
  const arn = await resolveExecutionArn(lambda, args.execution!, args.functionName);
  const events = await fetchHistory(lambda, arn);
  if (events.length === 0)
    throw new AwsProblem(`The history of ${arn} is empty: is the execution still starting?`);
  const region = regionOf(arn);
  return region ? { events, source: arn, region } : { events, source: arn };
}

if (require.main === module) {
  void doctor(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
