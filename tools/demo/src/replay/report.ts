import type { NextStep, RecordedOperation, ReplayReport } from "./check";

/** Exit codes of `pnpm run doctor --replay`: CI fails the build on anything but compatible. */
export const REPLAY_EXIT = { compatible: 0, incompatible: 3, "cannot-tell": 4 } as const;

/** The replay check's verdict in a few lines: the verdict first, then the evidence, then what to do. */
export function renderReplayReport(report: ReplayReport, pattern: string): string[] {
  const lines = verdict(report, pattern);
  if (report.ended) {
    lines.push(
      `This execution has ended (${report.ended}): it is never replayed again. The check shows how the current code reads its history.`,
    );
  }
  return lines;
}

function verdict(report: ReplayReport, pattern: string): string[] {
  switch (report.outcome) {
    case "compatible":
      return [
        `Compatible: the current ${pattern} code replays ${report.recorded === 1 ? "the 1 recorded operation" : `all ${report.recorded} recorded operations`}.`,
        `Next: ${describeNext(report.next)}`,
      ];
    case "incompatible": {
      const lines = [
        `Incompatible at operation ${report.position}: the history has ${report.recorded ? operationText(report.recorded) : "nothing"} there; the code ${report.code}.`,
      ];
      if (report.sdkError)
        lines.push(`The SDK fails the replay with ${report.sdkError.type}: ${report.sdkError.message}`);
      lines.push(
        "Executions in flight at this point would break on this code: publish it as a new version and move the alias; keep the old version until its last execution ends.",
      );
      return lines;
    }
    case "cannot-tell":
      return [`Cannot tell: ${report.reason}.`];
  }
}

function describeNext(next: NextStep): string {
  switch (next.kind) {
    case "operation": {
      const what = `${kind(next.type)} ${next.name ? `"${next.name}"` : "(unnamed)"} (operation ${next.position})`;
      if (next.action === "start" || next.action === "run")
        return `the code would start ${what}, past the end of the history.`;
      if (next.action === "complete")
        return `the code would complete ${what}, which the history leaves ${next.recorded ?? "open"}.`;
      return `the code would run ${what} again, which the history leaves ${next.recorded ?? "unfinished"} (a retry, or an attempt in doubt).`;
    }
    case "completes":
      return next.status === "SUCCEEDED"
        ? `the execution would complete: SUCCEEDED with ${JSON.stringify(next.result)}`
        : `the execution would complete: FAILED with ${next.error.type ?? "Error"}: ${next.error.message ?? ""}`;
    case "waits":
      return next.on.length > 0
        ? `the code waits, as recorded, for ${next.on.map(operationText).join(", ")}.`
        : "the code stops to wait, with nothing new to checkpoint.";
  }
}

function operationText(operation: RecordedOperation): string {
  return `${kind(operation.type)} ${operation.name ? `"${operation.name}"` : "(unnamed)"} (${operation.status})`;
}

function kind(type: string | undefined): string {
  return (type ?? "operation").toLowerCase().replace("_", " ");
}
