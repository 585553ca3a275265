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

export const DemoScenario = z.object({
  title: z.string().min(1),
  event: z.unknown(),
  createHandler: handlerFactory,
  actors: z.array(Actor).optional(),
  durableFunctions: z.record(z.string(), handlerFactory).optional(),
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
