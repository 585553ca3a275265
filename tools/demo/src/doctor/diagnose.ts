import { displayName, durationMs, FINISHED, type ExecutionView, type OperationSpan } from "../spans";
import { errorText, formatDuration } from "../timeline";

/**
 * What the doctor concludes from an execution's history: what it is doing or why it ended, and the one
 * thing to do next. Pure: `now` is passed in, so a fixture recorded last month reads the same in a test.
 */
export type Verdict =
  | "succeeded"
  | "failed"
  | "timed-out"
  | "stopped"
  | "waiting-on-callback"
  | "callback-overdue"
  | "waiting-on-timer"
  | "timer-overdue"
  | "retrying-step"
  | "waiting-on-invoke"
  | "running";

export interface CallbackWait {
  name: string;
  span: OperationSpan;
  callbackId?: string;
  since: Date;
  /** When the callback times out, if it has a timeout. */
  timesOutAt?: Date;
  heartbeatTimeoutSeconds?: number;
}

export interface Diagnosis {
  verdict: Verdict;
  /** One line: what is going on. */
  summary: string;
  /** One line: what to do about it. */
  nextStep: string;
  /** Operations that have not finished: STARTED (running or waiting) or PENDING (waiting to retry). */
  unfinished: OperationSpan[];
  callbacks: CallbackWait[];
  /** Operations that failed or timed out, with their final error. */
  failures: OperationSpan[];
  /** The longest operations first (unfinished ones counted up to now). */
  slowest: OperationSpan[];
}

/** Grace after a timer's end or a callback's timeout before we call it overdue (the service is not instant). */
const OVERDUE_AFTER_MS = 60_000;

export function diagnose(view: ExecutionView, now: Date): Diagnosis {
  const unfinished = view.operations.filter((span) => !FINISHED.has(span.status));
  const failures = view.operations.filter((span) => span.status === "FAILED" || span.status === "TIMED_OUT");
  const callbacks = unfinished
    .filter((span) => span.ref.type === "CALLBACK")
    .map((span): CallbackWait => {
      const wait: CallbackWait = { name: displayName(span, view), span, since: span.since };
      if (span.callbackId) wait.callbackId = span.callbackId;
      if (span.timeoutSeconds) wait.timesOutAt = new Date(span.since.getTime() + span.timeoutSeconds * 1000);
      if (span.heartbeatTimeoutSeconds) wait.heartbeatTimeoutSeconds = span.heartbeatTimeoutSeconds;
      return wait;
    });
  // Contexts only add up their children; the operations inside them are what take time.
  const slowest = view.operations
    .filter((span) => span.ref.type !== "CONTEXT" && durationMs(span, now) > 0)
    .sort((a, b) => durationMs(b, now) - durationMs(a, now))
    .slice(0, 5);
  const base = { unfinished, callbacks, failures, slowest };
  return { ...base, ...conclude(view, now, unfinished, failures, callbacks) };
}

function conclude(
  view: ExecutionView,
  now: Date,
  unfinished: OperationSpan[],
  failures: OperationSpan[],
  callbacks: CallbackWait[],
): Pick<Diagnosis, "verdict" | "summary" | "nextStep"> {
  const took =
    view.start && view.end ? ` in ${formatDuration(view.end.getTime() - view.start.getTime())}` : "";
  const invocations = `${view.invocations.length} invocation${view.invocations.length === 1 ? "" : "s"}`;
  switch (view.status) {
    case "SUCCEEDED": {
      const notes = leaves(failures).map(
        (span) =>
          `${displayName(span, view)} ${span.status === "TIMED_OUT" ? "timed out" : "failed"} and was handled`,
      );
      return {
        verdict: "succeeded",
        summary: `Succeeded${took} over ${invocations}.${notes.length > 0 ? ` Along the way: ${notes.join("; ")}.` : ""}`,
        nextStep: "Nothing to fix.",
      };
    }
    case "FAILED": {
      const cause = rootCause(failures);
      const error = errorText(view.error);
      if (!cause) {
        return {
          verdict: "failed",
          summary: `Failed${took} before any operation: ${error}.`,
          nextStep:
            "The handler threw outside any step (often input validation): fix the input or the code, then start a new execution.",
        };
      }
      const attempts = cause.attempts > 1 ? ` after ${cause.attempts} attempts` : "";
      return {
        verdict: "failed",
        summary: `Failed${took}: ${kindName(cause)} ${displayName(cause, view)} ${cause.status === "TIMED_OUT" ? "timed out" : "failed"}${attempts}: ${errorText(cause.error ?? view.error)}.`,
        nextStep:
          cause.ref.type === "CALLBACK"
            ? "Nobody completed the callback in time: check the system that should answer it, or lengthen the timeout; then start a new execution (a failed one does not resume)."
            : cause.attempts > 1
              ? "The retries did not outlast the fault: fix the dependency (or let the retry strategy wait longer), then start a new execution (a failed one does not resume)."
              : "Fix the cause above, then start a new execution (a failed one does not resume).",
      };
    }
    case "TIMED_OUT":
      return {
        verdict: "timed-out",
        summary: `Timed out${took}: the execution ran past its execution timeout${unfinished.length > 0 ? ` while ${displayName(unfinished[0]!, view)} had not finished` : ""}.`,
        nextStep:
          "Raise the function's durable ExecutionTimeout to cover the longest wait or callback, or shorten them; then start a new execution.",
      };
    case "STOPPED":
      return {
        verdict: "stopped",
        summary: `Stopped${took}: someone called StopDurableExecution.`,
        nextStep: "Start a new execution if the work is still needed.",
      };
  }

  const since = (date: Date) => `${formatDuration(now.getTime() - date.getTime())} ago`;
  const callback = callbacks[0];
  if (callback) {
    const overdue = callback.timesOutAt && now.getTime() - callback.timesOutAt.getTime() > OVERDUE_AFTER_MS;
    if (overdue) {
      return {
        verdict: "callback-overdue",
        summary: `Waiting on callback ${callback.name}, whose timeout passed ${since(callback.timesOutAt!)}, yet the history records no CallbackTimedOut.`,
        nextStep:
          "This history is probably stale: fetch it again (pnpm run doctor --execution <arn>). If it still says so, the execution may have hit its execution timeout.",
      };
    }
    return {
      verdict: "waiting-on-callback",
      summary: `Waiting on callback ${callback.name} since ${since(callback.since)}; ${callback.timesOutAt ? timesOut(callback.timesOutAt, now) : "it has no timeout"}.`,
      nextStep:
        "Nothing is broken: the function is suspended until someone completes the callback. Complete or fail it with the commands below.",
    };
  }
  const wait = unfinished.find((span) => span.ref.type === "WAIT" && span.scheduledEnd);
  if (wait?.scheduledEnd) {
    if (now.getTime() - wait.scheduledEnd.getTime() > OVERDUE_AFTER_MS) {
      return {
        verdict: "timer-overdue",
        summary: `Wait ${displayName(wait, view)} should have ended ${since(wait.scheduledEnd)} but the history shows no resumption.`,
        nextStep:
          "Fetch the history again; if it still says so, look for invocation errors or throttling in the function's logs and metrics.",
      };
    }
    return {
      verdict: "waiting-on-timer",
      summary: `Sleeping in wait ${displayName(wait, view)} until ${wait.scheduledEnd.toISOString()} (in ${formatDuration(wait.scheduledEnd.getTime() - now.getTime())}).`,
      nextStep:
        "Nothing to do: the function is suspended (not billed) and resumes by itself when the timer fires.",
    };
  }
  const retrying = unfinished.find((span) => span.status === "PENDING" || span.status === "READY");
  if (retrying) {
    const next = retrying.nextAttemptAt;
    const when = next
      ? next > now
        ? ` in ${formatDuration(next.getTime() - now.getTime())} (${next.toISOString()})`
        : ` (due since ${next.toISOString()})`
      : "";
    return {
      verdict: "retrying-step",
      summary: `${capitalise(kindName(retrying))} ${displayName(retrying, view)} failed attempt ${retrying.attempts}${retrying.error ? ` (${errorText(retrying.error)})` : ""} and runs attempt ${retrying.attempts + 1}${when}.`,
      nextStep:
        "Let the retry strategy run; if the fault is permanent, fix the dependency before the attempts run out.",
    };
  }
  const invoke = unfinished.find((span) => span.ref.type === "CHAINED_INVOKE");
  if (invoke) {
    return {
      verdict: "waiting-on-invoke",
      summary: `Waiting on ${invoke.functionName ?? "another durable function"} (invoke ${displayName(invoke, view)}) since ${since(invoke.since)}.`,
      nextStep: "Diagnose the invoked function's execution: it decides when this one resumes.",
    };
  }
  const running = unfinished.filter((span) => span.ref.type === "STEP").at(-1);
  return {
    verdict: "running",
    summary: running
      ? `Running: step ${displayName(running, view)} started ${since(running.since)} and has not checkpointed a result yet.`
      : `Running: an invocation is in progress (last event ${view.operations.length > 0 ? since(view.operations.at(-1)!.since) : "unknown"}).`,
    nextStep:
      "Give it a moment and fetch the history again; a step that runs longer than the function's timeout is retried.",
  };
}

/** Failures that are not just a parent reporting its child's failure. */
function leaves(failures: OperationSpan[]): OperationSpan[] {
  return failures.filter((span) => !failures.some((other) => other.ref.parentId === span.ref.id));
}

/** The failure that ended the execution: the earliest leaf. */
function rootCause(failures: OperationSpan[]): OperationSpan | undefined {
  return (
    [...leaves(failures)].sort((a, b) => (a.end?.getTime() ?? 0) - (b.end?.getTime() ?? 0))[0] ?? failures[0]
  );
}

function kindName(span: OperationSpan): string {
  return span.ref.type === "CHAINED_INVOKE"
    ? "invoke"
    : span.ref.type === "CONTEXT"
      ? "context"
      : span.ref.type.toLowerCase();
}

function timesOut(date: Date, now: Date): string {
  const ms = date.getTime() - now.getTime();
  return ms >= 0
    ? `it times out in ${formatDuration(ms)} (${date.toISOString()})`
    : `it timed out ${formatDuration(-ms)} ago (${date.toISOString()}), the service is about to record it`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
