import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./scenario";

/** The deployed stack is missing or does not have this pattern: the message says how to fix it. */
export class NotDeployedError extends Error {
  override readonly name = "NotDeployedError";
}

export const OUTPUTS_FILE = path.join(repoRoot, "infra", "cdk-outputs.json");

/** The stack's output key for a pattern's main handler: "wait-callback" → "WaitCallbackHandlerAliasArn". */
export function outputKey(pattern: string): string {
  const pascal = pattern
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join("");
  return `${pascal}HandlerAliasArn`;
}

/**
 * The ARN of the `live` alias of a pattern's function, from the outputs file `cdk deploy --outputs-file`
 * writes (`{ "<stack>": { "<key>": "<value>" } }`).
 */
export function deployedFunctionArn(pattern: string, file: string = OUTPUTS_FILE): string {
  const howToDeploy = "Deploy the stack (pnpm run deploy) or pass --function <name:alias or ARN>.";
  if (!existsSync(file))
    throw new NotDeployedError(`No deployed stack found: ${file} does not exist. ${howToDeploy}`);
  let outputs: unknown;
  try {
    outputs = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new NotDeployedError(`${file} is not valid JSON (${(error as Error).message}). ${howToDeploy}`);
  }
  const key = outputKey(pattern);
  const found = Object.entries(typeof outputs === "object" && outputs !== null ? outputs : {}).flatMap(
    ([stack, values]) => {
      const value = (values as Record<string, unknown> | null)?.[key];
      return typeof value === "string" ? [{ stack, value }] : [];
    },
  );
  if (found.length === 0)
    throw new NotDeployedError(
      `${file} has no ${key}: the deployed stack does not include ${pattern}. ${howToDeploy}`,
    );
  if (found.length > 1) {
    throw new NotDeployedError(
      `${file} has ${key} in several stacks (${found.map((f) => f.stack).join(", ")}): pass --function to choose.`,
    );
  }
  return found[0]!.value;
}
