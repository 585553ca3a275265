import type { OperationChange, OperationRef, TimelineEvent } from "./timeline";

/**
 * The timeline folded per operation and per invocation: when each started and ended, how it ended, how
 * many attempts it took. The HTML view draws it and the doctor reasons about it.
 */
export type OperationStatus =
  "STARTED" | "PENDING" | "READY" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "CANCELLED" | "STOPPED";

export interface OperationSpan {
  ref: OperationRef;
  start: Date;
  /** Absent while the operation has not finished. */
  end?: Date;
  status: OperationStatus;
  attempts: number;
  /** Failed attempts (or polls) that were retried, each with when and why. */
  retries: { at: Date; detail?: string }[];
  error?: { type?: string; message?: string };
  callbackId?: string;
  timeoutSeconds?: number;
  heartbeatTimeoutSeconds?: number;
  scheduledEnd?: Date;
  functionName?: string;
  /** When a step waiting to retry runs its next attempt. */
  nextAttemptAt?: Date;
  /** When the operation last started waiting or running (a retry's next attempt, a callback, a wait). */
  since: Date;
}

export interface InvocationSpan {
  number: number;
  start: Date;
  end?: Date;
  /** PENDING: suspended; SUCCEEDED/FAILED: the execution ended in it. */
  status?: string;
  error?: string;
}

export interface ExecutionView {
  start?: Date;
  end?: Date;
  /** RUNNING until an execution-end event says otherwise. */
  status: string;
  result?: unknown;
  error?: { type?: string; message?: string };
  operations: OperationSpan[];
  invocations: InvocationSpan[];
  actors: { at: Date; role: string; action: string }[];
}

const STATUS: Record<OperationChange, OperationStatus> = {
  started: "STARTED",
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  retrying: "PENDING",
  ready: "READY",
  "timed-out": "TIMED_OUT",
  cancelled: "CANCELLED",
  stopped: "STOPPED",
};

export const FINISHED: ReadonlySet<OperationStatus> = new Set([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "CANCELLED",
  "STOPPED",
]);

export function toExecutionView(events: TimelineEvent[]): ExecutionView {
  const view: ExecutionView = { status: "RUNNING", operations: [], invocations: [], actors: [] };
  const spans = new Map<string, OperationSpan>();
  for (const event of events) {
    view.start ??= event.at;
    switch (event.kind) {
      case "invocation-start":
        view.invocations.push({ number: event.invocation, start: event.at });
        break;
      case "invocation-end": {
        const invocation = view.invocations.find((i) => i.number === event.invocation) ?? {
          number: event.invocation,
          start: event.at,
        };
        if (!view.invocations.includes(invocation)) view.invocations.push(invocation);
        invocation.end = event.at;
        invocation.status = event.status;
        if (event.error) invocation.error = event.error;
        break;
      }
      case "actor":
        view.actors.push({ at: event.at, role: event.role, action: event.action });
        break;
      case "execution-end":
        view.end = event.at;
        view.status = event.status;
        if (event.result !== undefined) view.result = event.result;
        if (event.error) view.error = event.error;
        break;
      case "operation": {
        const { facts = {} } = event;
        const start = facts.startedAt ?? event.at;
        let span = spans.get(event.operation.id);
        if (!span) {
          span = {
            ref: event.operation,
            start,
            since: start,
            status: STATUS[event.change],
            attempts: 1,
            retries: [],
          };
          spans.set(event.operation.id, span);
          view.operations.push(span);
        }
        const status = STATUS[event.change];
        if (status === "STARTED" || span.status === "PENDING" || span.status === "READY") span.since = start;
        span.status = status;
        if (FINISHED.has(status)) span.end = event.at;
        if (event.change === "retrying")
          span.retries.push(
            event.detail === undefined ? { at: event.at } : { at: event.at, detail: event.detail },
          );
        span.attempts = Math.max(
          span.attempts,
          facts.attempt ?? 0,
          span.retries.length + (status === "PENDING" ? 0 : 1),
        );
        if (facts.error) span.error = facts.error;
        if (facts.callbackId) span.callbackId = facts.callbackId;
        if (facts.timeoutSeconds) span.timeoutSeconds = facts.timeoutSeconds;
        if (facts.heartbeatTimeoutSeconds) span.heartbeatTimeoutSeconds = facts.heartbeatTimeoutSeconds;
        if (facts.scheduledEnd) span.scheduledEnd = facts.scheduledEnd;
        if (facts.functionName) span.functionName = facts.functionName;
        if (facts.nextAttemptDelaySeconds !== undefined)
          span.nextAttemptAt = new Date(event.at.getTime() + facts.nextAttemptDelaySeconds * 1000);
        break;
      }
    }
  }
  return view;
}

/** How long an operation took, or has been running at `now` if it has not finished. */
export function durationMs(span: OperationSpan, now: Date): number {
  return (span.end ?? now).getTime() - span.start.getTime();
}

/** The name a person would recognise: its own, or its enclosing operation's (waitForCallback's callback). */
export function displayName(span: OperationSpan, view: ExecutionView): string {
  if (span.ref.name) return span.ref.name;
  const parent = view.operations.find((other) => other.ref.id === span.ref.parentId);
  return parent?.ref.name
    ? `${parent.ref.name} (${span.ref.type.toLowerCase()})`
    : `(${span.ref.type.toLowerCase()} ${span.ref.id})`;
}
