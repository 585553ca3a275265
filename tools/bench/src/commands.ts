import { spawnSync } from "node:child_process";
import { stopwatch } from "./stats";

/** Wall time of a shell command run from the repository root, failing loudly if the command fails. */
export function timeCommand(command: string, cwd: string, okExitCodes = [0]): { ms: number; output: string } {
  const elapsed = stopwatch();
  const result = spawnSync("bash", ["-c", command], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", FORCE_COLOR: "0" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = elapsed();
  const output = `${result.stdout}${result.stderr}`;
  if (result.status === null || !okExitCodes.includes(result.status))
    throw new Error(`\`${command}\` failed (exit ${result.status}):\n${output.slice(-3000)}`);
  return { ms, output };
}
