import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Writes a small repository into a fresh temp dir: { "relative/path": "content" }. Returns its root. */
export function makeRepo(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-check-"));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return root;
}

export function removeRepo(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
}

/** A Markdown fence, so the test sources can hold ``` without confusing anyone's editor. */
export const fence = "```";

/** A package "packages/lib" with its own strict tsconfig, a dependency in its node_modules, and a src/ to import. */
export const libPackage: Record<string, string> = {
  "package.json": JSON.stringify({ name: "repo", private: true }),
  "packages/lib/package.json": JSON.stringify({ name: "lib", dependencies: { "fake-sdk": "1.0.0" } }),
  "packages/lib/tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2023"],
      module: "commonjs",
      moduleResolution: "node",
      strict: true,
      noUncheckedIndexedAccess: true,
      types: [],
    },
    include: ["src/**/*.ts"],
  }),
  "packages/lib/node_modules/fake-sdk/package.json": JSON.stringify({
    name: "fake-sdk",
    version: "1.0.0",
    types: "index.d.ts",
  }),
  "packages/lib/node_modules/fake-sdk/index.d.ts": [
    "export interface Duration { seconds?: number; minutes?: number }",
    "export declare enum Semantics { AtMostOncePerRetry = 'AT_MOST_ONCE_PER_RETRY', AtLeastOncePerRetry = 'AT_LEAST_ONCE_PER_RETRY' }",
    "export declare function step<T>(name: string, fn: () => Promise<T>, config?: { semantics?: Semantics }): Promise<T>;",
    "export declare function wait(name: string, duration: Duration): Promise<void>;",
  ].join("\n"),
  "packages/lib/src/index.ts": [
    'import { step } from "fake-sdk";',
    "",
    "export async function reserve(orderId: string): Promise<string> {",
    "  // The step's result is checkpointed.",
    '  const id = await step("reserve", async () => `r-${orderId}`);',
    "",
    "  return id;",
    "}",
    "",
  ].join("\n"),
};
