/**
 * The timeline: what happened to an execution, in order, whatever the source (a local run observed as it
 * happens, or a history fetched from Lambda). Sources turn their records into TimelineEvents; one
 * renderer prints them.
 */
export interface OperationRef {
  id: string;
  name?: string;
  type: string;
  subType?: string;
  /** 0 for top-level operations, 1 for their children... */
  depth: number;
  /** The enclosing operation (child context, waitForCallback, map...), absent at the top level. */
  parentId?: string;
}

/** What a source knows about an operation change beyond its kind, for the doctor and the HTML view. */
export interface OperationFacts {
  /** When this attempt or operation started, when the source reports the start and the end as one change. */
  startedAt?: Date;
  /** 1-based attempt the change belongs to. */
  attempt?: number;
  error?: { type?: string; message?: string };
  nextAttemptDelaySeconds?: number;
  /** A callback's id: a bearer token that lets anyone holding it complete the callback. */
  callbackId?: string;
  timeoutSeconds?: number;
  heartbeatTimeoutSeconds?: number;
  /** When a wait ends. */
  scheduledEnd?: Date;
  /** The function a chained invoke calls. */
  functionName?: string;
}

export type OperationChange =
  "started" | "succeeded" | "failed" | "retrying" | "ready" | "timed-out" | "cancelled" | "stopped";

export type TimelineEvent =
  | { kind: "invocation-start"; at: Date; invocation: number; replaying: number }
  | { kind: "invocation-end"; at: Date; invocation: number; status: string; error?: string }
  | {
      kind: "operation";
      at: Date;
      operation: OperationRef;
      change: OperationChange;
      detail?: string;
      facts?: OperationFacts;
    }
  | { kind: "actor"; at: Date; role: string; action: string }
  | {
      kind: "execution-end";
      at: Date;
      status: string;
      result?: unknown;
      error?: { type?: string; message?: string };
    };

export interface TimelineSummary {
  status: string;
  operations: number;
  invocations: number;
  retries: number;
  virtualElapsedMs: number;
  wallMs: number;
}

const KIND_LABELS: Record<string, string> = {
  Step: "step",
  Wait: "wait",
  Callback: "callback",
  WaitForCallback: "wait for callback",
  WaitForCondition: "wait for condition",
  RunInChildContext: "child context",
  Map: "map",
  MapIteration: "map item",
  Parallel: "parallel",
  ParallelBranch: "branch",
  ChainedInvoke: "invoke",
};

export function kindOf(operation: Pick<OperationRef, "type" | "subType">): string {
  return (operation.subType && KIND_LABELS[operation.subType]) ?? operation.type.toLowerCase();
}

const MARKS: Record<OperationChange, string> = {
  started: "·",
  succeeded: "✓",
  failed: "✗",
  retrying: "↻",
  ready: "→",
  "timed-out": "⏱",
  cancelled: "⊘",
  stopped: "■",
};

/** "3d 4h", "2m 5s", "250ms": the largest two units, enough to read a timeline. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const parts: string[] = [];
  let rest = Math.round(ms / 1000) * 1000;
  for (const [label, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${label}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => !/^0/.test(part)).join(" ") || "0s";
}

export function formatSeconds(seconds: number): string {
  return formatDuration(seconds * 1000);
}

const NAME_WIDTH = 34;

/** `tookMs`: how long the operation took, shown on the line that ends it. */
export function renderEvent(event: TimelineEvent, startedAt: Date, tookMs?: number): string {
  const clock = `+${formatDuration(Math.max(0, event.at.getTime() - startedAt.getTime()))}`.padEnd(10);
  switch (event.kind) {
    case "invocation-start":
      return event.replaying > 0
        ? `${clock}▶ invocation ${event.invocation}: the handler runs again from the top and replays ${event.replaying} checkpointed operation${event.replaying === 1 ? "" : "s"}`
        : `${clock}▶ invocation ${event.invocation}`;
    case "invocation-end":
      return event.status === "PENDING"
        ? `${clock}⏸ invocation ${event.invocation} suspended: nothing runs (or bills) until a timer or callback resumes it`
        : `${clock}■ invocation ${event.invocation} ended: ${event.status}`;
    case "operation": {
      const { operation } = event;
      const indent = "  ".repeat(operation.depth + 1);
      const name = operation.name ?? `(${kindOf(operation)})`;
      const label = `${indent}${name}`.padEnd(NAME_WIDTH);
      const kind = kindOf(operation).padEnd(18);
      const took = tookMs ? ` (took ${formatDuration(tookMs)})` : "";
      return `${clock}${label} ${kind} ${MARKS[event.change]} ${event.change}${event.detail ? `: ${event.detail}` : ""}${took}`;
    }
    case "actor":
      return `${clock}  ☞ ${event.role} ${event.action}`;
    case "execution-end":
      return event.status === "SUCCEEDED"
        ? `${clock}✔ execution SUCCEEDED`
        : `${clock}✘ execution ${event.status}: ${event.error?.type ?? "Error"}: ${event.error?.message ?? ""}`;
  }
}

const ENDINGS: ReadonlySet<OperationChange> = new Set([
  "succeeded",
  "failed",
  "timed-out",
  "cancelled",
  "stopped",
]);

/**
 * Renders a timeline one event at a time (live, or all at once): times relative to the first event, and
 * on the line that ends an operation, how long it took since it started.
 */
export class TimelinePrinter {
  private startedAt?: Date;
  private readonly opened = new Map<string, Date>();

  line(event: TimelineEvent): string {
    this.startedAt ??= event.at;
    if (event.kind !== "operation") return renderEvent(event, this.startedAt);
    const began = event.facts?.startedAt ?? this.opened.get(event.operation.id);
    if (!this.opened.has(event.operation.id)) this.opened.set(event.operation.id, began ?? event.at);
    const took = ENDINGS.has(event.change) && began ? event.at.getTime() - began.getTime() : undefined;
    return renderEvent(event, this.startedAt, took);
  }

  static render(events: TimelineEvent[]): string[] {
    const printer = new TimelinePrinter();
    return events.map((event) => printer.line(event));
  }
}

/** "Type: message", and how many attempts it took when more than one. */
export function errorText(error: { type?: string; message?: string } | undefined, attempt?: number): string {
  const text = [error?.type, error?.message].filter(Boolean).join(": ") || "error";
  return attempt && attempt > 1 ? `${text} (after ${attempt} attempts)` : text;
}

export function renderSummary(summary: TimelineSummary): string {
  return [
    `${summary.operations} operations checkpointed`,
    `${summary.invocations} invocation${summary.invocations === 1 ? "" : "s"}`,
    `${summary.retries} ${summary.retries === 1 ? "retry" : "retries"}`,
    `virtual time ${formatDuration(summary.virtualElapsedMs)}`,
    `wall time ${formatDuration(summary.wallMs)}`,
  ].join(" · ");
}

/** Callback ids are bearer tokens: show only enough to tell them apart. */
export function redactCallbackId(callbackId: string): string {
  return callbackId.length <= 12 ? "…" : `${callbackId.slice(0, 8)}…`;
}
