import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { buildApp, type BuildOptions } from "../lib/app";
import { PATTERNS } from "../lib/patterns";

export const TEST_ENV = { account: "111111111111", region: "us-east-1" };

/**
 * A repository where every defined pattern exists (an entry file exporting its handlers), so the
 * template tests cover every definition whatever is in patterns/ today. Bundling is skipped: these
 * tests are about the template; `pnpm run synth` bundles the real handlers.
 */
export function fixtureRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), "cookbook-infra-"));
  writeFileSync(path.join(root, "pnpm-lock.yaml"), "");
  for (const pattern of PATTERNS) {
    const entry = path.join(root, "patterns", pattern.name, pattern.entry);
    mkdirSync(path.dirname(entry), { recursive: true });
    writeFileSync(
      entry,
      pattern.functions.map((fn) => `export const ${fn.handlerExport} = async () => "ok";\n`).join(""),
    );
    if (pattern.frontDoor) {
      const { entry: doorEntry, api, webhook, starter } = pattern.frontDoor;
      const door = path.join(root, "patterns", pattern.name, doorEntry);
      mkdirSync(path.dirname(door), { recursive: true });
      writeFileSync(
        door,
        [api, webhook, starter].map((name) => `export const ${name} = async () => "ok";\n`).join(""),
      );
    }
  }
  return root;
}

export function synthFixture(context: Record<string, unknown> = {}, options: Partial<BuildOptions> = {}) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [], ...context } });
  const { stack } = buildApp({ app, env: TEST_ENV, root: fixtureRoot(), nag: false, ...options });
  const template = Template.fromStack(stack);
  // Resolved after synthesis: CDK renames a function's current version by the hash of its code and configuration.
  const logicalId = (element: { node: { defaultChild?: unknown } }) =>
    stack.resolve((element.node.defaultChild as CfnElement).logicalId) as string;
  return { app, stack, template, logicalId };
}

/** Renders an Fn::Join of strings and AWS pseudo parameters (partition aws, us-east-1, 111111111111) as a string. */
export function render(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(render);
  const record = value as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111111111111",
  };
  if (typeof record.Ref === "string" && pseudo[record.Ref]) return pseudo[record.Ref];
  if (Array.isArray(record["Fn::Join"])) {
    const [separator, parts] = record["Fn::Join"] as [string, unknown[]];
    const rendered = parts.map(render);
    if (rendered.every((part) => typeof part === "string")) return rendered.join(separator);
  }
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, render(inner)]));
}
