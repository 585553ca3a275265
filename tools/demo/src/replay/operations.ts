import { createHash } from "node:crypto";
import type { ErrorObject, Event, EventError } from "@aws-sdk/client-lambda";
import type { WireOperation } from "@aws/durable-execution-sdk-js";
import { operationType as typeOfEvent } from "../history";
import { FINISHED } from "../spans";

/**
 * Rebuilds the checkpointed operations of an execution from its history (GetDurableExecutionHistory's
 * Events, what `aws lambda get-durable-execution-history --include-execution-data` prints, or what a local
 * run records: the same shape), as the service hands them to the invocation that resumes it.
 *
 * "Resumes" is the point: an execution sleeping in a wait or waiting for a retry is re-invoked when that
 * timer fires, so a running wait is handed over as SUCCEEDED and a step waiting to retry as READY. A callback
 * nobody has answered stays STARTED: we do not know the answer, and the code waits for it.
 */
export interface RebuiltOperation {
  operation: WireOperation;
  /** The operation's position as replay numbers it: "3" is the third operation, "3-1" the first inside it. */
  position: string;
  /** Its status in the history itself, before a timer was counted as fired. */
  recordedStatus: string;
}

export interface RebuiltHistory {
  durableExecutionArn: string;
  operations: RebuiltOperation[];
  /** Why the history cannot be replayed faithfully (no execution data, payloads cut off), if it cannot. */
  missingData?: string;
  /** How the execution ended, if the history says it did (SUCCEEDED, FAILED...): it will not replay again. */
  ended?: string;
}

export function isFinished(status: string | undefined): boolean {
  return status !== undefined && (FINISHED as ReadonlySet<string>).has(status);
}

export function rebuildOperations(events: Event[], durableExecutionArn = "replay-check"): RebuiltHistory {
  const byId = new Map<string, WireOperation>();
  const recorded = new Map<string, string>();
  const cutOff: string[] = [];
  let input: string | undefined;
  let ended: string | undefined;

  for (const event of events) {
    const type = event.EventType ?? "";
    if (type.startsWith("Execution") && type !== "ExecutionStarted") {
      ended = type
        .replace(/^Execution/, "")
        .replace(/([a-z])([A-Z])/g, "$1_$2")
        .toUpperCase();
      continue;
    }
    if (type === "InvocationCompleted" || !event.Id) continue;
    const at = event.EventTimestamp;
    let operation = byId.get(event.Id);
    if (!operation) {
      operation = { Id: event.Id, Type: operationType(type), StartTimestamp: at, Status: "STARTED" };
      if (event.ParentId) operation.ParentId = event.ParentId;
      if (event.Name) operation.Name = event.Name;
      if (event.SubType) operation.SubType = event.SubType;
      byId.set(event.Id, operation);
    }
    const truncated = truncation(event);
    if (truncated) cutOff.push(`${event.Name ?? event.Id} (${type})`);
    const status = applyEvent(operation, event);
    if (status) {
      operation.Status = status;
      recorded.set(event.Id, status);
      if (isFinished(status) && at) operation.EndTimestamp = at;
    }
    if (type === "ExecutionStarted") input = event.ExecutionStartedDetails?.Input?.Payload;
  }

  const positions = positionsOf([...byId.values()]);
  const operations = [...byId.values()].map((operation) => ({
    operation: resumed(operation),
    position: positions.get(operation.Id!) ?? "?",
    recordedStatus: recorded.get(operation.Id!) ?? "STARTED",
  }));
  const rebuilt: RebuiltHistory = { durableExecutionArn, operations };
  if (ended) rebuilt.ended = ended;
  if (!operations.some((o) => o.operation.Type === "EXECUTION")) {
    rebuilt.missingData = "the history has no ExecutionStarted event: it does not start at the beginning";
  } else if (input === undefined && !events.some(carriesPayload)) {
    // An execution may start without an input; a history with no payload anywhere was fetched without its data.
    rebuilt.missingData =
      "the history has no execution data (the event's input and the results are left out): fetch it with --include-execution-data";
  } else if (cutOff.length > 0) {
    rebuilt.missingData = `payloads in the history were truncated by the service: ${cutOff.join(", ")}`;
  }
  return rebuilt;
}

/** What one event changes in its operation; returns the operation's new status, if it has one. */
function applyEvent(operation: WireOperation, event: Event): WireOperation["Status"] {
  switch (event.EventType) {
    case "ExecutionStarted":
      operation.ExecutionDetails = { InputPayload: event.ExecutionStartedDetails?.Input?.Payload };
      return "STARTED";
    case "StepStarted":
      return "STARTED";
    case "StepSucceeded": {
      const details = event.StepSucceededDetails;
      const retry = details?.RetryDetails;
      operation.StepDetails = withAttempt({ Result: details?.Result?.Payload }, retry?.CurrentAttempt);
      // waitForCondition checkpoints each check as a step that asks to run again later, with its state.
      if (retry?.NextAttemptDelaySeconds !== undefined) {
        operation.StepDetails.NextAttemptTimestamp = later(event, retry.NextAttemptDelaySeconds);
        return "PENDING";
      }
      return "SUCCEEDED";
    }
    case "StepFailed": {
      const details = event.StepFailedDetails;
      const retry = details?.RetryDetails;
      operation.StepDetails = withAttempt({ Error: errorOf(details?.Error) }, retry?.CurrentAttempt);
      if (retry?.NextAttemptDelaySeconds !== undefined) {
        operation.StepDetails.NextAttemptTimestamp = later(event, retry.NextAttemptDelaySeconds);
        return "PENDING";
      }
      return "FAILED";
    }
    case "WaitStarted":
      operation.WaitDetails = { ScheduledEndTimestamp: event.WaitStartedDetails?.ScheduledEndTimestamp };
      return "STARTED";
    case "WaitSucceeded":
      return "SUCCEEDED";
    case "WaitCancelled":
      return "CANCELLED";
    case "CallbackStarted":
      operation.CallbackDetails = { CallbackId: event.CallbackStartedDetails?.CallbackId };
      return "STARTED";
    case "CallbackSucceeded":
      operation.CallbackDetails = {
        ...operation.CallbackDetails,
        Result: event.CallbackSucceededDetails?.Result?.Payload,
      };
      return "SUCCEEDED";
    case "CallbackFailed":
      operation.CallbackDetails = {
        ...operation.CallbackDetails,
        Error: errorOf(event.CallbackFailedDetails?.Error),
      };
      return "FAILED";
    case "CallbackTimedOut":
      operation.CallbackDetails = {
        ...operation.CallbackDetails,
        Error: errorOf(event.CallbackTimedOutDetails?.Error),
      };
      return "TIMED_OUT";
    case "ContextStarted":
      return "STARTED";
    case "ContextSucceeded":
      operation.ContextDetails = { Result: event.ContextSucceededDetails?.Result?.Payload };
      return "SUCCEEDED";
    case "ContextFailed":
      operation.ContextDetails = { Error: errorOf(event.ContextFailedDetails?.Error) };
      return "FAILED";
    case "ChainedInvokeStarted":
      return "STARTED";
    case "ChainedInvokeSucceeded":
      operation.ChainedInvokeDetails = { Result: event.ChainedInvokeSucceededDetails?.Result?.Payload };
      return "SUCCEEDED";
    case "ChainedInvokeFailed":
      operation.ChainedInvokeDetails = { Error: errorOf(event.ChainedInvokeFailedDetails?.Error) };
      return "FAILED";
    case "ChainedInvokeTimedOut":
      operation.ChainedInvokeDetails = { Error: errorOf(event.ChainedInvokeTimedOutDetails?.Error) };
      return "TIMED_OUT";
    case "ChainedInvokeStopped":
      operation.ChainedInvokeDetails = { Error: errorOf(event.ChainedInvokeStoppedDetails?.Error) };
      return "STOPPED";
    default:
      return undefined;
  }
}

/** The state the invocation that resumes the execution sees: running timers have fired. */
function resumed(operation: WireOperation): WireOperation {
  if (operation.Type === "WAIT" && operation.Status === "STARTED")
    return { ...operation, Status: "SUCCEEDED" };
  if (operation.Type === "STEP" && operation.Status === "PENDING") return { ...operation, Status: "READY" };
  return operation;
}

function withAttempt<T extends object>(details: T, attempt: number | undefined): T & { Attempt?: number } {
  return attempt === undefined ? details : { ...details, Attempt: attempt };
}

function later(event: Event, seconds: number): Date | undefined {
  return event.EventTimestamp ? new Date(event.EventTimestamp.getTime() + seconds * 1000) : undefined;
}

function errorOf(error: EventError | undefined): ErrorObject | undefined {
  return error?.Payload;
}

function carriesPayload(event: Event): boolean {
  return detailParts(event).some((part) => typeof (part as { Payload?: unknown }).Payload === "string");
}

/** The parts of an event's details that carry data (Input, Result, Error), each maybe with Payload and Truncated. */
function detailParts(event: Event): object[] {
  return Object.entries(event).flatMap(([key, details]) =>
    key.endsWith("Details") && typeof details === "object" && details !== null
      ? Object.values(details as Record<string, unknown>).filter(
          (part): part is object => typeof part === "object" && part !== null,
        )
      : [],
  );
}

function truncation(event: Event): boolean {
  return detailParts(event).some((part) => (part as { Truncated?: boolean }).Truncated === true);
}

function operationType(eventType: string): WireOperation["Type"] {
  return typeOfEvent(eventType) as WireOperation["Type"];
}

/** The id the SDK gives the operation at a position: the first 16 hex digits of the position's md5. */
export function operationId(position: string): string {
  return createHash("md5").update(position).digest("hex").slice(0, 16);
}

/**
 * Recovers each operation's position from its id. Children of a virtual context (the items of a FLAT map)
 * sit one level deeper than their checkpointed parent. An id that matches no position (another id scheme)
 * falls back to the order the operations appeared in.
 */
function positionsOf(operations: WireOperation[]): Map<string, string> {
  const positions = new Map<string, string>();
  const children = new Map<string | undefined, WireOperation[]>();
  for (const operation of operations) {
    if (operation.Type === "EXECUTION") continue;
    const siblings = children.get(operation.ParentId) ?? [];
    siblings.push(operation);
    children.set(operation.ParentId, siblings);
  }
  const limit = operations.length + 1;
  const visit = (parentId: string | undefined, prefix: string) => {
    const siblings = children.get(parentId) ?? [];
    if (siblings.length === 0) return;
    const candidates = new Map<string, string>();
    const found = () => siblings.every((operation) => candidates.has(operation.Id!));
    // Positions 1, 2, 3... until every sibling is placed (a checkpointed context's children are numbered densely).
    for (let n = 1; n <= limit && !found(); n += 1)
      candidates.set(operationId(`${prefix}${n}`), `${prefix}${n}`);
    if (!found()) {
      for (let k = 1; k <= limit; k += 1)
        for (let n = 1; n <= siblings.length; n += 1)
          candidates.set(operationId(`${prefix}${k}-${n}`), `${prefix}${k}-${n}`);
    }
    siblings.forEach((operation, index) => {
      const position = candidates.get(operation.Id!) ?? `${prefix}${index + 1}`;
      positions.set(operation.Id!, position);
      visit(operation.Id, `${position}-`);
    });
  };
  visit(undefined, "");
  return positions;
}
