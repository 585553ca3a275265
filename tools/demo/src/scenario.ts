import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { z } from "zod";

/**
 * The contract between a pattern and the demo runner: `patterns/<name>/src/demo.ts` exports `demo`.
 * Patterns never import the runner, so the shape is checked here, at load time, with a clear message.
 */
const handlerFactory = z.custom<() => DurableLambdaHandler>((value) => typeof value === "function", {
  message: "must be a function that returns a durable handler",
});

const Reply = z.union([
  z.strictObject({ heartbeat: z.literal(true) }),
  z.strictObject({ succeed: z.unknown() }),
  z.strictObject({ fail: z.strictObject({ message: z.string(), type: z.string().optional() }) }),
]);

const Actor = z.strictObject({
  role: z.string().min(1),
  operation: z.string().min(1),
  occurrence: z.number().int().min(0).optional(),
  waitFor: z.enum(["STARTED", "SUBMITTED"]).optional(),
  afterOperation: z.string().min(1).optional(),
  replies: z.array(Reply),
});

/**
 * A scenario's front door: a pattern that takes its requests over HTTP (a 202 and a status URL, a webhook that
 * completes a callback) drives the run through its own doors instead of having actors answer callbacks. The
 * runner hands it a door onto the run's one execution, in the shape of the pattern's own `Executions` seam
 * (start, describe, complete a callback), and the execution starts when the door's start is called.
 */
export interface DemoDoor {
  /** The run's event: the scenario's, or the one given with --event. */
  readonly event: unknown;
  /** Starts the run's execution (not awaited to its end); the same name and input again find it. */
  start(name: string, input: unknown): Promise<"started" | "already-started" | "conflict">;
  describe(name: string): Promise<DemoExecutionView | undefined>;
  /** Completes a callback of the execution by its id, once; the result goes to the workflow as is. */
  completeCallback(callbackId: string, result: string): Promise<"completed" | "already-closed" | "not-found">;
  /** Resolves once the named operation has reached the status; rejects if the execution ends without it. */
  reached(operation: string, status: "STARTED" | "SUBMITTED" | "COMPLETED"): Promise<void>;
  /** Resolves once the execution has ended (its end is on the timeline by then). */
  ended(): Promise<void>;
  /** A line on the timeline at the current virtual time: who did what (a request, an answer). */
  show(who: string, what: string): void;
}

export interface DemoExecutionView {
  name: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "STOPPED";
  result?: unknown;
  error?: { type?: string; message?: string };
}

const frontDoor = z.custom<(door: DemoDoor) => Promise<void>>((value) => typeof value === "function", {
  message: "must be a function that drives the run through the door it is given",
});

export const DemoScenario = z.object({
  title: z.string().min(1),
  event: z.unknown(),
  createHandler: handlerFactory,
  actors: z.array(Actor).optional(),
  durableFunctions: z.record(z.string(), handlerFactory).optional(),
  /** Drives the run locally through the pattern's front door; without it, the run starts with the event. */
  frontDoor: frontDoor.optional(),
  /** How the demo's execution ends. Some demos fail on purpose (a saga shows its compensations). */
  expectedStatus: z.enum(["SUCCEEDED", "FAILED"]).optional(),
});

export type DemoScenario = z.infer<typeof DemoScenario>;
export type DemoActor = z.infer<typeof Actor>;
export type DemoReply = z.infer<typeof Reply>;

export const repoRoot = path.resolve(__dirname, "../../..");
const patternsDir = path.join(repoRoot, "patterns");

/** Patterns that have a demo: folders of patterns/ with a src/demo.ts. */
export function listPatterns(): string[] {
  if (!existsSync(patternsDir)) return [];
  return readdirSync(patternsDir, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(path.join(patternsDir, entry.name, "src", "demo.ts")),
    )
    .map((entry) => entry.name)
    .sort();
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export async function loadScenario(pattern: string): Promise<DemoScenario> {
  const patterns = listPatterns();
  if (!patterns.includes(pattern)) {
    throw new UsageError(`Unknown pattern "${pattern}". Patterns: ${patterns.join(", ")}`);
  }
  const modulePath = path.join(patternsDir, pattern, "src", "demo.ts");
  const loaded = (await import(modulePath)) as { demo?: unknown; default?: { demo?: unknown } };
  const parsed = DemoScenario.safeParse(loaded.demo ?? loaded.default?.demo);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "demo"}: ${issue.message}`,
    );
    throw new Error(
      `patterns/${pattern}/src/demo.ts does not export a valid \`demo\`: ${problems.join("; ")}`,
    );
  }
  return parsed.data;
}

/** "fails ask-manager: too expensive": what an actor does, for the timeline. */
export function describeReply(reply: DemoReply, operation: string): string {
  if ("heartbeat" in reply) return `sends a heartbeat to ${operation}`;
  if ("fail" in reply) return `fails ${operation}: ${reply.fail.message}`;
  return `completes ${operation} with ${JSON.stringify(reply.succeed)}`;
}
