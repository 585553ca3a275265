import type { Event } from "@aws-sdk/client-lambda";
import type { DurableContext, DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { rebuildOperations, type RebuiltOperation } from "../../src/replay/operations";
import { runLocally, type LocalRunOutcome } from "../../src/run-local";
import type { DemoScenario } from "../../src/scenario";

/** Records a run's history the way scripts/record-fixtures.ts does: through the demo's local runner. */
export function record(scenario: DemoScenario, event: unknown = scenario.event): Promise<LocalRunOutcome> {
  return runLocally(scenario, event, () => undefined);
}

/** A small workflow of a test's own, run like a pattern's demo. */
export function recordHandler(handler: DurableLambdaHandler, event: unknown = {}): Promise<LocalRunOutcome> {
  return record({ title: "test workflow", event, createHandler: () => handler });
}

/**
 * The history as it stood while the execution was in flight: at the end of each invocation but the last, just
 * after each wait or callback started (where it suspends, or would have without time skipping), and after each
 * top-level operation ended (where a crash would have left it).
 */
export function inFlightPrefixes(events: Event[]): Event[][] {
  const last = events.map((event) => event.EventType).lastIndexOf("InvocationCompleted");
  const ends = events.flatMap((event, index) => {
    const type = event.EventType ?? "";
    const cut =
      (type === "InvocationCompleted" && index !== last) ||
      type === "WaitStarted" ||
      type === "CallbackStarted" ||
      (!event.ParentId && !type.startsWith("Execution") && /(Succeeded|Failed)$/.test(type));
    return cut ? [index + 1] : [];
  });
  // Only while it runs: not once the execution has ended.
  const ended = events.findIndex((event) =>
    /^Execution(Succeeded|Failed|TimedOut|Stopped)$/.test(event.EventType ?? ""),
  );
  return [...new Set(ends)].filter((end) => ended < 0 || end <= ended).map((end) => events.slice(0, end));
}

/** The recorded operations at the top level of the execution, in replay order. */
export function rootOperations(events: Event[]): RebuiltOperation[] {
  return rebuildOperations(events)
    .operations.filter((o) => o.operation.Type !== "EXECUTION" && !o.position.includes("-"))
    .sort((a, b) => Number(a.position) - Number(b.position));
}

const OPERATIONS = new Set([
  "step",
  "wait",
  "invoke",
  "runInChildContext",
  "waitForCondition",
  "createCallback",
  "waitForCallback",
  "map",
  "parallel",
]);

export interface CodeChange {
  /** Operation names to replace, wherever the workflow's own context asks for them. */
  rename?: Record<string, string>;
  /** Runs once, before the workflow's first operation: an operation added before the others. */
  before?: (context: DurableContext) => void;
}

/**
 * Changes the code without touching the pattern's files: the workflow gets a context that renames operations
 * (two renamed into each other are two swapped) or asks for one more operation before its first.
 */
export function changeCode(change: CodeChange): (context: DurableContext) => DurableContext {
  return (context) => {
    let first = true;
    return new Proxy(context, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (typeof prop !== "string" || !OPERATIONS.has(prop)) return method.bind(target);
        return (...args: unknown[]) => {
          if (first) {
            first = false;
            change.before?.(target);
          }
          const name = args[0];
          if (typeof name === "string" && change.rename?.[name] !== undefined) args[0] = change.rename[name];
          return method.apply(target, args);
        };
      },
    });
  };
}
