import { displayName, durationMs, type ExecutionView } from "../spans";
import { errorText, formatDuration, kindOf, TimelinePrinter, type TimelineEvent } from "../timeline";
import type { CallbackWait, Diagnosis } from "./diagnose";

export interface ReportContext {
  now: Date;
  /** Added to the AWS CLI commands when known (from the execution ARN). */
  region?: string;
}

/**
 * The doctor's text: the timeline first (context), then the findings, and last, where the eye lands
 * after the command returns, the one-line diagnosis and the next step.
 */
export function renderReport(
  events: TimelineEvent[],
  view: ExecutionView,
  diagnosis: Diagnosis,
  context: ReportContext,
): string[] {
  const { now } = context;
  const lines: string[] = [];
  const started = view.start ? `started ${view.start.toISOString()}` : "no events yet";
  lines.push(
    `Execution: ${view.status} (${started}, ${count(view.operations.length, "operation")}, ${count(view.invocations.length, "invocation")})`,
    "",
  );
  lines.push("Timeline", ...TimelinePrinter.render(events).map((line) => `  ${line}`), "");

  if (diagnosis.callbacks.length > 0) {
    lines.push("Waiting on a callback");
    for (const callback of diagnosis.callbacks) lines.push(...renderCallback(callback, context), "");
  }
  if (diagnosis.unfinished.length > 0) {
    lines.push("Not finished (STARTED: running or waiting; PENDING: waiting to retry)");
    for (const span of diagnosis.unfinished) {
      const since = `since ${span.since.toISOString()} (${formatDuration(now.getTime() - span.since.getTime())} ago)`;
      const until = span.scheduledEnd ? `, until ${span.scheduledEnd.toISOString()}` : "";
      lines.push(
        `  ${displayName(span, view).padEnd(36)} ${kindOf(span.ref).padEnd(18)} ${span.status.padEnd(8)} ${since}${until}`,
      );
    }
    lines.push("");
  }
  if (diagnosis.failures.length > 0) {
    lines.push("Failed operations");
    for (const span of diagnosis.failures) {
      const attempts = span.attempts > 1 ? ` after ${span.attempts} attempts` : "";
      lines.push(
        `  ${displayName(span, view).padEnd(36)} ${kindOf(span.ref).padEnd(18)} ${span.status}${attempts}: ${errorText(span.error)}`,
      );
    }
    lines.push("");
  }
  if (diagnosis.slowest.length > 0) {
    lines.push("Slowest operations");
    diagnosis.slowest.forEach((span, index) => {
      const running = span.end ? "" : " (not finished)";
      lines.push(
        `  ${index + 1}. ${displayName(span, view).padEnd(36)} ${kindOf(span.ref).padEnd(18)} ${formatDuration(durationMs(span, now))}${running}`,
      );
    });
    lines.push("");
  }
  lines.push(`Diagnosis: ${diagnosis.summary}`, `Next step: ${diagnosis.nextStep}`);
  return lines;
}

function renderCallback(callback: CallbackWait, { now, region }: ReportContext): string[] {
  const lines = [
    `  ${callback.name}: waiting since ${callback.since.toISOString()} (${formatDuration(now.getTime() - callback.since.getTime())} ago)`,
  ];
  if (callback.timesOutAt) {
    const left = callback.timesOutAt.getTime() - now.getTime();
    lines.push(
      `  Times out at ${callback.timesOutAt.toISOString()} (${left >= 0 ? `in ${formatDuration(left)}` : `${formatDuration(-left)} ago`})`,
    );
  } else {
    lines.push("  No timeout: it waits until someone answers or the execution times out");
  }
  if (callback.heartbeatTimeoutSeconds) {
    lines.push(
      `  Needs a heartbeat at least every ${formatDuration(callback.heartbeatTimeoutSeconds * 1000)} (it times out sooner without one)`,
    );
  }
  if (!callback.callbackId) {
    lines.push(
      "  The history does not show its callback id (was it fetched with --no-include-execution-data?)",
    );
    return lines;
  }
  // The operator who runs the doctor owns the execution and needs the whole id to act; logs never get it.
  lines.push(
    "  Callback id (a bearer token: anyone who has it can complete this callback; keep it out of tickets, chat and logs):",
    `    ${callback.callbackId}`,
    ...callbackCommands(callback.callbackId, region, callback.heartbeatTimeoutSeconds !== undefined).map(
      (line) => `  ${line}`,
    ),
  );
  return lines;
}

/** The AWS CLI v2 commands that answer a callback. `--result` is a blob: raw-in-base64-out lets it be plain JSON. */
export function callbackCommands(callbackId: string, region?: string, heartbeat = false): string[] {
  const where = region ? ` --region ${region}` : "";
  const lines = [
    // A placeholder, not an answer: the waiting step parses its answer strictly, and a guessed one (such as
    // {"approved":true}) is declined as malformed by this repository's own callback patterns.
    "Complete it (the result is what the waiting step receives: put the JSON its pattern's README documents):",
    `    aws lambda send-durable-execution-callback-success${where} --callback-id '${callbackId}' --cli-binary-format raw-in-base64-out --result '<the JSON the waiting step expects>'`,
    "Fail it (the workflow sees a CallbackError with this message):",
    `    aws lambda send-durable-execution-callback-failure${where} --callback-id '${callbackId}' --error '{"ErrorType":"Rejected","ErrorMessage":"Rejected by the operator"}'`,
  ];
  if (heartbeat) {
    lines.push(
      "Keep it alive (resets the heartbeat timeout):",
      `    aws lambda send-durable-execution-callback-heartbeat${where} --callback-id '${callbackId}'`,
    );
  }
  return lines;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
