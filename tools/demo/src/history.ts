import type { ErrorObject, Event, EventError } from "@aws-sdk/client-lambda";
import type { OperationChange, OperationFacts, OperationRef, TimelineEvent } from "./timeline";
import { errorText, formatSeconds } from "./timeline";

/**
 * Turns a durable execution's history (GetDurableExecutionHistory's `Events`, or the local runner's
 * `getHistoryEvents()`, which has the same shape) into TimelineEvents, so a cloud run, a history file
 * and a local run print the same timeline.
 *
 * Invocations are not events of their own in the history: each InvocationCompleted carries its start
 * and end, so they are placed where they happened. A step whose start and end are adjacent prints as
 * one line (as the local demo does), with the start kept in the facts.
 */
export function historyToTimeline(events: Event[]): TimelineEvent[] {
  const placed: { at: number; order: number; event: TimelineEvent }[] = [];
  const place = (event: TimelineEvent, order: number) =>
    placed.push({ at: event.at.getTime(), order, event });
  const operations = new Map<string, OperationRef>();
  const attempts = new Map<string, number>();
  const executionEnd = events.find(
    (event) => event.EventType?.startsWith("Execution") && event.EventType !== "ExecutionStarted",
  );
  const invocations = events.filter((event) => event.EventType === "InvocationCompleted");

  events.forEach((event, index) => {
    const at = event.EventTimestamp;
    if (!at || !event.EventType) return;
    const order = index * 10;
    if (event.EventType === "InvocationCompleted") {
      const details = event.InvocationCompletedDetails;
      const number = invocations.indexOf(event) + 1;
      const start = details?.StartTimestamp ?? at;
      const end = details?.EndTimestamp ?? at;
      const replaying = new Set(
        events
          .filter(
            (e) =>
              e.Id &&
              e.EventType &&
              !e.EventType.startsWith("Execution") &&
              e.EventTimestamp &&
              e.EventTimestamp < start,
          )
          .map((e) => e.Id),
      ).size;
      // Before anything else that happened in the same millisecond.
      place({ kind: "invocation-start", at: start, invocation: number, replaying }, -1);
      const error = errorOf(details?.Error);
      const last = number === invocations.length && executionEnd !== undefined;
      const status = error ? "FAILED" : last ? executionStatus(executionEnd.EventType!) : "PENDING";
      place(
        error?.message
          ? { kind: "invocation-end", at: end, invocation: number, status, error: error.message }
          : { kind: "invocation-end", at: end, invocation: number, status },
        order,
      );
      return;
    }
    if (event.EventType === "ExecutionStarted") return;
    if (event.EventType.startsWith("Execution")) {
      place(executionEndEvent(event, at), order + 5);
      return;
    }
    const operation = track(operations, event);
    const next = events[index + 1];
    if (event.EventType === "StepStarted") {
      attempts.set(operation.id, (attempts.get(operation.id) ?? 0) + 1);
      // A start followed at once by its end prints as the end's line.
      if (next?.Id === event.Id && next?.EventType?.startsWith("Step")) return;
    }
    const change = describe(event, attempts.get(operation.id) ?? 1);
    if (!change) return;
    const previous = events[index - 1];
    if (
      event.EventType.startsWith("Step") &&
      event.EventType !== "StepStarted" &&
      previous?.EventType === "StepStarted" &&
      previous.Id === event.Id &&
      previous.EventTimestamp
    ) {
      change.facts.startedAt = previous.EventTimestamp;
    }
    const timelineEvent: TimelineEvent = {
      kind: "operation",
      at,
      operation,
      change: change.change,
      facts: change.facts,
    };
    if (change.detail) timelineEvent.detail = change.detail;
    place(timelineEvent, order);
  });

  // The history of a running execution can end inside an invocation that has not completed yet.
  const lastEnd = invocations.at(-1)?.InvocationCompletedDetails?.EndTimestamp;
  if (!executionEnd) {
    const later = placed.filter(
      (p) => p.event.kind === "operation" && (!lastEnd || p.at > lastEnd.getTime()),
    );
    if (later.length > 0) {
      const at = new Date(Math.min(...later.map((p) => p.at)));
      place({ kind: "invocation-start", at, invocation: invocations.length + 1, replaying: 0 }, -1);
    }
  }
  return placed.sort((a, b) => a.at - b.at || a.order - b.order).map((p) => p.event);
}

function track(operations: Map<string, OperationRef>, event: Event): OperationRef {
  const id = event.Id ?? "";
  let ref = operations.get(id);
  if (!ref) {
    const parent = event.ParentId ? operations.get(event.ParentId) : undefined;
    ref = { id, type: operationType(event.EventType ?? ""), depth: parent ? parent.depth + 1 : 0 };
    if (event.Name) ref.name = event.Name;
    if (event.SubType) ref.subType = event.SubType;
    if (event.ParentId) ref.parentId = event.ParentId;
    operations.set(id, ref);
  }
  return ref;
}

/** StepStarted → STEP, ChainedInvokeFailed → CHAINED_INVOKE: the operation type, as the checkpoint API names it. */
export function operationType(eventType: string): string {
  const kind = eventType.replace(/(Started|Succeeded|Failed|TimedOut|Cancelled|Stopped)$/, "");
  return kind.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function executionStatus(eventType: string): string {
  return (
    {
      ExecutionSucceeded: "SUCCEEDED",
      ExecutionFailed: "FAILED",
      ExecutionTimedOut: "TIMED_OUT",
      ExecutionStopped: "STOPPED",
    }[eventType] ?? "UNKNOWN"
  );
}

function executionEndEvent(event: Event, at: Date): TimelineEvent {
  const status = executionStatus(event.EventType!);
  if (status === "SUCCEEDED") {
    return {
      kind: "execution-end",
      at,
      status,
      result: parsePayload(event.ExecutionSucceededDetails?.Result?.Payload),
    };
  }
  const error =
    errorOf(
      event.ExecutionFailedDetails?.Error ??
        event.ExecutionTimedOutDetails?.Error ??
        event.ExecutionStoppedDetails?.Error,
    ) ??
    (status === "TIMED_OUT"
      ? { type: "ExecutionTimedOut", message: "the execution ran past its execution timeout" }
      : { message: status.toLowerCase() });
  return { kind: "execution-end", at, status, error };
}

interface Change {
  change: OperationChange;
  detail?: string;
  facts: OperationFacts;
}

function describe(event: Event, attempt: number): Change | undefined {
  switch (event.EventType) {
    case "StepStarted":
      return { change: "started", facts: { attempt } };
    case "StepSucceeded": {
      const delay = event.StepSucceededDetails?.RetryDetails?.NextAttemptDelaySeconds;
      // waitForCondition checkpoints each check as a step that asks to be run again later.
      if (delay !== undefined) {
        return {
          change: "retrying",
          detail: `attempt ${attempt} asked to poll again, next attempt in ${formatSeconds(delay)}`,
          facts: { attempt, nextAttemptDelaySeconds: delay },
        };
      }
      return {
        change: "succeeded",
        detail: attempt > 1 ? `attempt ${attempt}` : undefined,
        facts: { attempt },
      };
    }
    case "StepFailed": {
      const error = errorOf(event.StepFailedDetails?.Error);
      const delay = event.StepFailedDetails?.RetryDetails?.NextAttemptDelaySeconds;
      const facts: OperationFacts = { attempt };
      if (error) facts.error = error;
      if (delay !== undefined) {
        facts.nextAttemptDelaySeconds = delay;
        return {
          change: "retrying",
          detail: `attempt ${attempt} failed (${error?.message ?? "error"}), next attempt in ${formatSeconds(delay)}`,
          facts,
        };
      }
      return { change: "failed", detail: errorText(error, attempt), facts };
    }
    case "WaitStarted": {
      const details = event.WaitStartedDetails;
      const facts: OperationFacts = {};
      if (details?.ScheduledEndTimestamp) facts.scheduledEnd = details.ScheduledEndTimestamp;
      return {
        change: "started",
        detail: details?.Duration !== undefined ? `waiting ${formatSeconds(details.Duration)}` : undefined,
        facts,
      };
    }
    case "WaitSucceeded":
      return { change: "succeeded", detail: "timer fired", facts: {} };
    case "WaitCancelled":
      return { change: "cancelled", facts: {} };
    case "CallbackStarted": {
      const details = event.CallbackStartedDetails;
      const facts: OperationFacts = {};
      if (details?.CallbackId) facts.callbackId = details.CallbackId;
      if (details?.Timeout) facts.timeoutSeconds = details.Timeout;
      if (details?.HeartbeatTimeout) facts.heartbeatTimeoutSeconds = details.HeartbeatTimeout;
      const limits = [
        details?.Timeout ? `times out after ${formatSeconds(details.Timeout)}` : "no timeout",
        details?.HeartbeatTimeout ? `heartbeat every ${formatSeconds(details.HeartbeatTimeout)}` : undefined,
      ].filter(Boolean);
      return { change: "started", detail: `waiting for a callback (${limits.join(", ")})`, facts };
    }
    case "CallbackSucceeded":
      return { change: "succeeded", detail: "callback answered", facts: {} };
    case "CallbackFailed":
      return failure("failed", event.CallbackFailedDetails?.Error);
    case "CallbackTimedOut":
      return failure("timed-out", event.CallbackTimedOutDetails?.Error);
    case "ContextStarted":
      return { change: "started", facts: {} };
    case "ContextSucceeded":
      return { change: "succeeded", facts: {} };
    case "ContextFailed":
      return failure("failed", event.ContextFailedDetails?.Error);
    case "ChainedInvokeStarted": {
      const functionName = event.ChainedInvokeStartedDetails?.FunctionName;
      return {
        change: "started",
        detail: functionName ? `invoking ${functionName}` : undefined,
        facts: functionName ? { functionName } : {},
      };
    }
    case "ChainedInvokeSucceeded":
      return { change: "succeeded", facts: {} };
    case "ChainedInvokeFailed":
      return failure("failed", event.ChainedInvokeFailedDetails?.Error);
    case "ChainedInvokeTimedOut":
      return failure("timed-out", event.ChainedInvokeTimedOutDetails?.Error);
    case "ChainedInvokeStopped":
      return failure("stopped", event.ChainedInvokeStoppedDetails?.Error);
    default:
      return undefined;
  }
}

function failure(change: OperationChange, eventError: EventError | undefined): Change {
  const error = errorOf(eventError);
  return error ? { change, detail: errorText(error), facts: { error } } : { change, facts: {} };
}

function errorOf(eventError: EventError | undefined): { type?: string; message?: string } | undefined {
  const payload: ErrorObject | undefined = eventError?.Payload;
  if (!payload || (!payload.ErrorType && !payload.ErrorMessage)) return undefined;
  const error: { type?: string; message?: string } = {};
  if (payload.ErrorType) error.type = payload.ErrorType;
  if (payload.ErrorMessage) error.message = payload.ErrorMessage;
  return error;
}

/** A checkpointed payload: JSON when it is JSON, else the text itself. */
export function parsePayload(payload: string | undefined): unknown {
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}
