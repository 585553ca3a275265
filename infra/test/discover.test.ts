import { readdirSync } from "node:fs";
import * as path from "node:path";
import { discoverPatterns, exportsName, REPO_ROOT } from "../lib/discover";
import { PATTERNS, functionKey, type PatternDefinition } from "../lib/patterns";

describe("exportsName", () => {
  it.each([
    ["export const handler = createHandler(deps);", "handler", true],
    ["export async function paymentHandler(event) {}", "paymentHandler", true],
    ["export function handler() {}", "handler", true],
    ["export { handler, paymentHandler } from './handlers';", "paymentHandler", true],
    ["export { paymentWorkflow as paymentHandler };", "paymentHandler", true],
    ["export const handlerFactory = 1;", "handler", false],
    ["const handler = 1;", "handler", false],
    ["export type { handler } from './types';", "handler", false],
    ["export { paymentHandler as other };", "paymentHandler", false],
  ])("%s exports %s: %s", (source, name, expected) => {
    expect(exportsName(source, name)).toBe(expected);
  });
});

describe("discoverPatterns", () => {
  const saga: PatternDefinition = {
    name: "saga",
    entry: "src/index.ts",
    functions: [
      PATTERNS[0]!.functions[0]!,
      { ...PATTERNS[0]!.functions[0]!, handlerExport: "paymentHandler" },
    ],
  };
  const files = (contents: Record<string, string>) => ({
    exists: (file: string) => file in contents,
    read: (file: string) => contents[file]!,
  });

  it("keeps a pattern whose entry exports every handler", () => {
    const entry = path.join("/repo", "patterns/saga/src/index.ts");
    const found = discoverPatterns(
      [saga],
      "/repo",
      files({ [entry]: "export const handler = 1;\nexport const paymentHandler = 2;" }),
    );
    expect(found).toEqual({ present: [{ definition: saga, entryPath: entry }], skipped: [] });
  });

  it("leaves out a pattern with no entry yet, or one that does not export every handler", () => {
    expect(discoverPatterns([saga], "/repo", files({})).skipped).toEqual([
      { name: "saga", reason: "patterns/saga/src/index.ts does not exist yet" },
    ]);
    const half = files({ [path.join("/repo", "patterns/saga/src/index.ts")]: "export const handler = 1;" });
    expect(discoverPatterns([saga], "/repo", half)).toEqual({
      present: [],
      skipped: [{ name: "saga", reason: "patterns/saga/src/index.ts does not export paymentHandler" }],
    });
  });
});

describe("discoverPatterns, a pattern with a front door", () => {
  const entryPoints = PATTERNS.find((pattern) => pattern.name === "entry-points")!;
  const entry = path.join("/repo", "patterns/entry-points/src/index.ts");
  const door = path.join("/repo", "patterns/entry-points/src/front-door/handlers.ts");
  const files = (contents: Record<string, string>) => ({
    exists: (file: string) => file in contents,
    read: (file: string) => contents[file]!,
  });

  it("keeps it when the front door's entry exports its three handlers", () => {
    const found = discoverPatterns(
      [entryPoints],
      "/repo",
      files({
        [entry]: "export const handler = 1;",
        [door]:
          "export const apiHandler = 1;\nexport const webhookHandler = 2;\nexport const starterHandler = 3;",
      }),
    );
    expect(found).toEqual({
      present: [{ definition: entryPoints, entryPath: entry, frontDoorPath: door }],
      skipped: [],
    });
  });

  it("leaves it out, with the reason, while the front door is missing or incomplete", () => {
    expect(
      discoverPatterns([entryPoints], "/repo", files({ [entry]: "export const handler = 1;" })).skipped,
    ).toEqual([
      { name: "entry-points", reason: "patterns/entry-points/src/front-door/handlers.ts does not exist yet" },
    ]);
    const half = files({ [entry]: "export const handler = 1;", [door]: "export const apiHandler = 1;" });
    expect(discoverPatterns([entryPoints], "/repo", half).skipped).toEqual([
      {
        name: "entry-points",
        reason:
          "patterns/entry-points/src/front-door/handlers.ts does not export webhookHandler, starterHandler",
      },
    ]);
  });
});

describe("the definitions", () => {
  it("cover every pattern folder in the repository", () => {
    const folders = readdirSync(path.join(REPO_ROOT, "patterns"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(PATTERNS.map((pattern) => pattern.name)).toEqual(expect.arrayContaining(folders));
  });

  it("give every function a distinct output key", () => {
    const keys = PATTERNS.flatMap((pattern) =>
      pattern.functions.map((fn) => functionKey(pattern.name, fn.handlerExport)),
    );
    expect(new Set(keys).size).toBe(keys.length);
    expect(functionKey("wait-callback", "handler")).toBe("WaitCallbackHandler");
    expect(functionKey("saga", "paymentHandler")).toBe("SagaPaymentHandler");
  });

  it("keep execution timeouts and retention within Lambda's limits", () => {
    for (const fn of PATTERNS.flatMap((pattern) => pattern.functions)) {
      expect(fn.durable.executionTimeout.toSeconds()).toBeLessThanOrEqual(366 * 24 * 3600);
      expect(fn.durable.retentionPeriod.toDays()).toBeGreaterThanOrEqual(1);
      expect(fn.durable.retentionPeriod.toDays()).toBeLessThanOrEqual(90);
      expect(fn.timeout?.toSeconds() ?? 60).toBeLessThanOrEqual(900);
    }
  });
});
