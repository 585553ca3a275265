import type { Event } from "@aws-sdk/client-lambda";
import { runLocally } from "@durable-cookbook/demo-runner/src/run-local";
import type { DemoScenario } from "@durable-cookbook/demo-runner/src/scenario";
import { costPerMillionExecutions } from "./pricing";
import { median, repeat } from "./stats";

/** What one execution of a scenario costs, measured in the local runner. */
export interface ExecutionMeasurement {
  case: string;
  status: string;
  operations: number;
  invocations: number;
  retries: number;
  /** Bytes the execution checkpointed: inputs, step results, errors, callback payloads. */
  bytesCheckpointed: number;
  costPerMillionUsd: number;
  wallMsMedian: number;
  runs: number;
}

/** The payloads an execution wrote, from its history (the same shape as GetDurableExecutionHistory). */
export function checkpointedBytes(history: Event[]): number {
  let bytes = 0;
  for (const event of history) {
    for (const [key, value] of Object.entries(event)) {
      if (!key.endsWith("Details") || typeof value !== "object" || value === null) continue;
      const details = value as Record<string, { Payload?: unknown } | undefined>;
      for (const field of ["Input", "Result", "Error"]) {
        const payload = details[field]?.Payload;
        if (payload === undefined) continue;
        bytes += Buffer.byteLength(typeof payload === "string" ? payload : JSON.stringify(payload));
      }
    }
  }
  return bytes;
}

/** Operations of the first operation named `name` and all its descendants, from the history. */
export function operationsWithin(history: Event[], name: string): number {
  const parents = new Map<string, string | undefined>();
  let root: string | undefined;
  for (const event of history) {
    if (!event.Id || event.EventType === "ExecutionStarted") continue;
    if (!parents.has(event.Id)) parents.set(event.Id, event.ParentId);
    if (root === undefined && event.Name === name) root = event.Id;
  }
  if (root === undefined) return 0;
  const isWithin = (id: string | undefined): boolean =>
    id !== undefined && (id === root || isWithin(parents.get(id)));
  return [...parents.keys()].filter(isWithin).length;
}

export async function measureExecution(
  name: string,
  scenario: DemoScenario,
  runs: number,
): Promise<ExecutionMeasurement & { history: Event[] }> {
  const outcomes = await repeat(runs, () => runLocally(scenario, scenario.event, () => undefined));
  const first = outcomes[0]!;
  const bytesCheckpointed = checkpointedBytes(first.history);
  return {
    case: name,
    status: first.summary.status,
    operations: first.summary.operations,
    invocations: first.summary.invocations,
    retries: first.summary.retries,
    bytesCheckpointed,
    costPerMillionUsd: costPerMillionExecutions(first.summary.operations, bytesCheckpointed),
    wallMsMedian: median(outcomes.map((outcome) => outcome.summary.wallMs)),
    runs,
    history: first.history,
  };
}
