import path from "node:path";
import type { DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { listPatterns, repoRoot, UsageError } from "../scenario";
import type { ReplayTarget } from "./check";

interface PatternIndex {
  createHandler?: (deps: never, config?: never) => DurableLambdaHandler;
}
interface PatternDemo {
  simulatedDeps?: () => { deps: unknown };
  simulatedWorld?: () => { deps: unknown };
}

/**
 * A pattern's current handler for a replay check: `createHandler(deps)` from its src/index.ts (with its
 * default configuration, as deployed, unless `config` is given), and the shape of its deps from the simulated
 * world in its src/demo.ts (`simulatedDeps()` or `simulatedWorld()`), every function of which the check guards.
 */
export async function loadReplayTarget(pattern: string, config?: unknown): Promise<ReplayTarget> {
  const patterns = listPatterns();
  if (!patterns.includes(pattern)) {
    throw new UsageError(`Unknown pattern "${pattern}". Patterns: ${patterns.join(", ")}`);
  }
  const dir = path.join(repoRoot, "patterns", pattern);
  const index = (await import(path.join(dir, "src", "index.ts"))) as PatternIndex;
  const demo = (await import(path.join(dir, "src", "demo.ts"))) as PatternDemo;
  const world = demo.simulatedDeps ?? demo.simulatedWorld;
  const createHandler = index.createHandler;
  if (typeof createHandler !== "function" || typeof world !== "function") {
    throw new UsageError(
      `patterns/${pattern} cannot be replay-checked: it needs createHandler(deps) in src/index.ts and simulatedWorld() or simulatedDeps() in src/demo.ts`,
    );
  }
  // The SDK the pattern's own code resolves: the probe goes in through its withDurableExecution.
  // require, not import: the check swaps withDurableExecution on the module object itself, which an import
  // would hand over as a read-only namespace.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require(
    require.resolve("@aws/durable-execution-sdk-js", { paths: [dir] }),
  ) as ReplayTarget["sdk"];
  return {
    label: pattern,
    createHandler: (deps) =>
      config === undefined ? createHandler(deps) : createHandler(deps, config as never),
    depsShape: world().deps,
    sdk,
  };
}
