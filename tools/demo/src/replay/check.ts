import type { Context } from "aws-lambda";
import type { Event } from "@aws-sdk/client-lambda";
import {
  DurableExecutionInvocationInputWithClient,
  type DurableContext,
  type DurableExecutionClient,
  type DurableExecutionConfig,
  type DurableExecutionInvocationOutput,
  type DurableLambdaHandler,
  type OperationUpdate,
  type withDurableExecution,
} from "@aws/durable-execution-sdk-js";
import { parsePayload } from "../history";
import { guardDeps } from "./guard";
import {
  isFinished,
  operationId,
  rebuildOperations,
  type RebuiltHistory,
  type RebuiltOperation,
} from "./operations";
import { ContextProbe } from "./probe";

/** What a replay check drives: a handler built from deps, as a pattern's `createHandler(deps)` is. */
export interface ReplayTarget {
  label: string;
  createHandler: (deps: never) => DurableLambdaHandler;
  /** Deps of the right shape (the demo's simulated world): every function in them is replaced by a guard. */
  depsShape: unknown;
  /** The SDK module the handler's code calls `withDurableExecution` from (the probe goes in through it). */
  sdk: { withDurableExecution: typeof withDurableExecution };
}

/** An operation as the history recorded it. */
export interface RecordedOperation {
  position: string;
  type: string;
  subType?: string;
  name?: string;
  status: string;
}

export type NextStep =
  | { kind: "operation"; position: string; action: string; type?: string; name?: string; recorded?: string }
  | { kind: "completes"; status: "SUCCEEDED"; result: unknown }
  | { kind: "completes"; status: "FAILED"; error: { type?: string; message?: string } }
  | { kind: "waits"; on: RecordedOperation[] };

export type ReplayReport = (
  | {
      outcome: "compatible";
      /** Operations in the history, all replayed. */ recorded: number;
      next: NextStep;
    }
  | {
      outcome: "incompatible";
      /** The position where history and code part ways ("3-1": the first operation inside the third). */
      position: string;
      recorded?: RecordedOperation;
      /** What the code did there instead, in a sentence. */
      code: string;
      /** The SDK's own NonDeterministicExecutionError, when it raised one. */
      sdkError?: { type: string; message: string };
    }
  | { outcome: "cannot-tell"; reason: string }
) & {
  /** How the recorded execution ended, if it has: such an execution is never replayed again. */
  ended?: string;
};

export interface ReplayOptions {
  /** Changes the code under check without touching its files: wraps the context the handler is given. */
  reshape?: (context: DurableContext) => DurableContext;
}

/** Thrown into the code under check when it calls a dependency: the check stops it there. */
export class ReplayCheckStop extends Error {
  override readonly name = "ReplayCheckStop";
}

interface Frontier {
  position: string;
  action: string;
  name?: string;
  type?: string;
}

/**
 * Replays a recorded history against the current code, as the invocation that resumes the execution would:
 * the rebuilt operations go to the handler as the state of a new invocation, with a checkpoint client that
 * records and never sends. The SDK replays every recorded operation from its checkpoint (and fails with
 * NonDeterministicExecutionError where the code asks for something else at the same position); the first
 * checkpoint, or the first dependency call, is where the code goes past the history, and the check stops there.
 */
export async function checkReplay(
  events: Event[],
  target: ReplayTarget,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const history = rebuildOperations(events);
  const report = await replay(history, target, options);
  return history.ended ? { ...report, ended: history.ended } : report;
}

async function replay(
  history: RebuiltHistory,
  target: ReplayTarget,
  options: ReplayOptions,
): Promise<ReplayReport> {
  if (history.missingData) return { outcome: "cannot-tell", reason: history.missingData };
  const recorded = new Map(history.operations.map((rebuilt) => [rebuilt.operation.Id!, rebuilt]));
  const at = (position: string) => recorded.get(operationId(position));

  const probe = new ContextProbe();
  const violations: Array<{ position?: string; code: string }> = [];
  let frontier: Frontier | undefined;
  let reachFrontier: () => void = () => undefined;
  const reached = new Promise<"frontier">((resolve) => (reachFrontier = () => resolve("frontier")));
  const reach = (next: Frontier) => {
    frontier ??= next;
    reachFrontier();
  };

  const deps = guardDeps(target.depsShape, (path) => {
    const position = probe.currentStep();
    const operation = position === undefined ? undefined : at(position);
    if (position === undefined) {
      violations.push({ code: `called ${path} outside any step, while replaying recorded operations` });
    } else if (operation && isFinished(operation.recordedStatus)) {
      violations.push({
        position,
        code: `called ${path} from ${describe(operation)}, which the history records as ${operation.recordedStatus}: it ran again`,
      });
    } else {
      const call = probe.calls.find((c) => c.position === position);
      const next: Frontier = { position, action: operation ? "retry" : "run", type: typeOf(call?.method) };
      if (call?.name) next.name = call.name;
      reach(next);
    }
    throw new ReplayCheckStop(`replay check: ${path} is not called during a replay check`);
  });

  const client: DurableExecutionClient = {
    getExecutionState: async () => ({ Operations: [] }),
    // Records and never answers: what the code checkpoints first is where it goes past the history.
    checkpoint: (request) => {
      const update = (request.Updates ?? [])[0];
      if (update) reach(frontierOf(update, positionOf(update, probe, history.operations)));
      return new Promise(() => undefined);
    },
  };

  let handler: DurableLambdaHandler;
  let probed = false;
  const sdk = target.sdk;
  const original = sdk.withDurableExecution;
  // Only while the handler is built: its withDurableExecution gets the probe (and any reshaping) in between.
  type Handler = (event: unknown, context: DurableContext) => Promise<unknown>;
  const probing = (fn: Handler, config?: DurableExecutionConfig) => {
    probed = true;
    return original((event: unknown, context: DurableContext) => {
      const watched = probe.wrap(context);
      return fn(event, options.reshape ? options.reshape(watched) : watched);
    }, config);
  };
  sdk.withDurableExecution = probing as typeof withDurableExecution;
  try {
    handler = target.createHandler(deps as never);
  } finally {
    sdk.withDurableExecution = original;
  }
  if (!probed) {
    return {
      outcome: "cannot-tell",
      reason: `${target.label}'s handler does not come from the withDurableExecution the check can watch (another copy of the SDK?)`,
    };
  }

  const input = new DurableExecutionInvocationInputWithClient(
    {
      DurableExecutionArn: history.durableExecutionArn,
      CheckpointToken: "replay-check",
      InitialExecutionState: { Operations: history.operations.map((rebuilt) => rebuilt.operation) },
    },
    client,
  );
  let output: DurableExecutionInvocationOutput | undefined;
  let thrown: unknown;
  const run = handler(input, lambdaContext(target.label)).then(
    (result) => {
      output = result;
    },
    (error: unknown) => {
      thrown = error;
    },
  );
  await Promise.race([run, reached]);
  // Let concurrent branches replay up to where they stop too, before judging.
  for (let turn = 0; turn < 50 && output === undefined && thrown === undefined; turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }

  const status = output ? String(output.Status) : undefined;
  const errorOut = output && "Error" in output ? output.Error : undefined;
  if (status === "FAILED" && errorOut?.ErrorType === "NonDeterministicExecutionError") {
    return nonDeterminism(errorOut.ErrorMessage ?? "", at);
  }
  const violation = violations[0];
  if (violation) {
    const operation = violation.position ? at(violation.position) : undefined;
    const report: ReplayReport = {
      outcome: "incompatible",
      position: violation.position ?? "?",
      code: violation.code,
    };
    if (operation) report.recorded = recordedOf(operation);
    return report;
  }
  if (thrown !== undefined) {
    return {
      outcome: "cannot-tell",
      reason: `${target.label}'s handler threw: ${thrown instanceof Error ? thrown.message : JSON.stringify(thrown)}`,
    };
  }
  const first = history.operations
    .filter((o) => o.operation.Type !== "EXECUTION")
    .sort((a, b) => comparePositions(a.position, b.position))[0];
  if (probe.calls.length === 0 && frontier === undefined && errorOut && first) {
    // The code fails before its first operation: on this code's input schema (then every execution in flight
    // breaks), or on a setting the check's environment lacks (then the deployed function would not). Say both.
    const why = `${errorOut.ErrorType ?? "Error"}: ${errorOut.ErrorMessage ?? ""}`;
    return {
      outcome: "cannot-tell",
      reason: `the code fails before its first operation (${why}), where the history has ${describe(first)}: if the deployed function fails the same way (its input is refused), every execution in flight breaks; if it is a setting the function has (an environment variable), set it here and check again`,
    };
  }

  // Every recorded operation must have been replayed: one the code never asked for was removed or skipped.
  const scope = output ? "" : frontier && frontier.action === "complete" ? frontier.position : undefined;
  if (scope !== undefined) {
    const missed = uncovered(history.operations, probe, scope);
    if (missed) {
      const report: ReplayReport = {
        outcome: "incompatible",
        position: missed.position,
        recorded: recordedOf(missed),
        code:
          status === "PENDING"
            ? "never asked for it before it stopped to wait (removed, or a branch now goes around it)"
            : "never asked for it and went on (removed, or a branch now goes around it)",
      };
      return report;
    }
  }

  const replayed = history.operations.filter((o) => o.operation.Type !== "EXECUTION").length;
  if (frontier) return { outcome: "compatible", recorded: replayed, next: nextOf(frontier, at) };
  if (status === "SUCCEEDED") {
    const result = output && "Result" in output ? parsePayload(output.Result || undefined) : undefined;
    return {
      outcome: "compatible",
      recorded: replayed,
      next: { kind: "completes", status: "SUCCEEDED", result },
    };
  }

  if (status === "FAILED") {
    const error: { type?: string; message?: string } = {};
    if (errorOut?.ErrorType) error.type = errorOut.ErrorType;
    if (errorOut?.ErrorMessage) error.message = errorOut.ErrorMessage;
    return {
      outcome: "compatible",
      recorded: replayed,
      next: { kind: "completes", status: "FAILED", error },
    };
  }
  const waiting = history.operations
    .filter(
      (o) =>
        o.operation.Type !== "EXECUTION" && o.operation.Type !== "CONTEXT" && !isFinished(o.operation.Status),
    )
    .map(recordedOf);
  return { outcome: "compatible", recorded: replayed, next: { kind: "waits", on: waiting } };
}

function nonDeterminism(
  message: string,
  at: (position: string) => RebuiltOperation | undefined,
): ReplayReport {
  const position = /for step "([^"]+)"/.exec(message)?.[1] ?? "?";
  const mismatch = /mismatch for step "[^"]+"\. Expected (\w+) "([^"]*)", but got "([^"]*)"/.exec(message);
  const operation = at(position);
  const report: ReplayReport = {
    outcome: "incompatible",
    position,
    code: !mismatch
      ? "asked for a different operation there"
      : mismatch[1] === "type"
        ? `asked for a ${mismatch[3]} operation instead`
        : mismatch[1] === "subtype"
          ? `asked for subtype "${mismatch[3]}" instead`
          : `asked for "${mismatch[3]}" instead`,
    sdkError: { type: "NonDeterministicExecutionError", message },
  };
  if (operation) report.recorded = recordedOf(operation);
  return report;
}

/**
 * The first recorded operation the code did not replay, within `scope` ("" for the whole execution).
 * An operation counts as replayed when the code asked for it, or when it sits inside a replayed operation whose
 * insides the code did not run again: a finished child context returns its checkpointed result, and the insides
 * of a waitForCallback belong to the SDK.
 */
function uncovered(
  operations: RebuiltOperation[],
  probe: ContextProbe,
  scope: string,
): RebuiltOperation | undefined {
  const asked = new Set(probe.calls.map((call) => call.position));
  const entered = new Set(probe.calls.map((call) => call.parent));
  entered.add("");
  const covered = (position: string): boolean => {
    if (position === "" || asked.has(position)) return true;
    const parent = position.includes("-") ? position.slice(0, position.lastIndexOf("-")) : "";
    return covered(parent) && !entered.has(parent);
  };
  return operations
    .filter((o) => o.operation.Type !== "EXECUTION" && (scope === "" || o.position.startsWith(`${scope}-`)))
    .sort((a, b) => comparePositions(a.position, b.position))
    .find((o) => !covered(o.position));
}

export function comparePositions(a: string, b: string): number {
  const left = a.split("-").map(Number);
  const right = b.split("-").map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const difference = (left[i] ?? -1) - (right[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

function positionOf(update: OperationUpdate, probe: ContextProbe, operations: RebuiltOperation[]): string {
  const call = probe.calls.find((c) => operationId(c.position) === update.Id);
  if (call) return call.position;
  return operations.find((o) => o.operation.Id === update.Id)?.position ?? update.Id ?? "?";
}

function frontierOf(update: OperationUpdate, position: string): Frontier {
  const action =
    update.Action === "START"
      ? "start"
      : update.Action === "SUCCEED" || update.Action === "FAIL"
        ? "complete"
        : (update.Action ?? "").toLowerCase();
  const frontier: Frontier = { position, action };
  if (update.Name) frontier.name = update.Name;
  if (update.Type) frontier.type = update.Type;
  return frontier;
}

function nextOf(frontier: Frontier, at: (position: string) => RebuiltOperation | undefined): NextStep {
  const next: NextStep = { kind: "operation", position: frontier.position, action: frontier.action };
  const operation = at(frontier.position);
  const name = frontier.name ?? operation?.operation.Name;
  const type = operation?.operation.Type ?? frontier.type;
  if (name) next.name = name;
  if (type) next.type = type;
  if (operation) next.recorded = operation.recordedStatus;
  return next;
}

/** The operation type the SDK checkpoints for a DurableContext method. */
function typeOf(method: string | undefined): string {
  if (method === "wait") return "WAIT";
  if (method === "createCallback") return "CALLBACK";
  if (method === "invoke") return "CHAINED_INVOKE";
  if (method === undefined || method === "step" || method === "waitForCondition") return "STEP";
  return "CONTEXT";
}

function recordedOf(rebuilt: RebuiltOperation): RecordedOperation {
  const { operation } = rebuilt;
  const recorded: RecordedOperation = {
    position: rebuilt.position,
    type: operation.Type ?? "UNKNOWN",
    status: rebuilt.recordedStatus,
  };
  if (operation.SubType) recorded.subType = operation.SubType;
  if (operation.Name) recorded.name = operation.Name;
  return recorded;
}

function describe(rebuilt: RebuiltOperation): string {
  return `${rebuilt.operation.Name ?? "(unnamed)"} (${rebuilt.operation.Type}, operation ${rebuilt.position})`;
}

function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "replay-check",
    invokedFunctionArn: `replay-check:${functionName}`,
    memoryLimitInMB: "128",
    awsRequestId: "replay-check",
    logGroupName: "replay-check",
    logStreamName: "replay-check",
    getRemainingTimeInMillis: () => 15 * 60 * 1000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
