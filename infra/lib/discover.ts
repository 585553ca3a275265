import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { PatternDefinition } from "./patterns";

/** The repository root (infra/lib/.. /..). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface DiscoveredPattern {
  definition: PatternDefinition;
  /** Absolute path of the entry file. */
  entryPath: string;
  /** Absolute path of the front door's entry file, for a pattern that has one. */
  frontDoorPath?: string;
}

export interface Discovery {
  present: DiscoveredPattern[];
  /** Patterns left out, with the reason: the stack deploys only what exists. */
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Keeps the patterns that can be deployed now: the entry file exists and exports every handler the
 * definition names. A pattern still being written is left out instead of breaking the synth.
 */
export function discoverPatterns(
  definitions: PatternDefinition[],
  root: string = REPO_ROOT,
  fs: { exists(file: string): boolean; read(file: string): string } = {
    exists: existsSync,
    read: (file) => readFileSync(file, "utf8"),
  },
): Discovery {
  const present: DiscoveredPattern[] = [];
  const skipped: Discovery["skipped"] = [];
  for (const definition of definitions) {
    const entryPath = path.join(root, "patterns", definition.name, definition.entry);
    if (!fs.exists(entryPath)) {
      skipped.push({ name: definition.name, reason: `${path.relative(root, entryPath)} does not exist yet` });
      continue;
    }
    const source = fs.read(entryPath);
    const missing = definition.functions
      .map((fn) => fn.handlerExport)
      .filter((name) => !exportsName(source, name));
    if (missing.length > 0) {
      skipped.push({
        name: definition.name,
        reason: `${path.relative(root, entryPath)} does not export ${missing.join(", ")}`,
      });
      continue;
    }
    const frontDoor = definition.frontDoor;
    if (frontDoor) {
      const frontDoorPath = path.join(root, "patterns", definition.name, frontDoor.entry);
      const relative = path.relative(root, frontDoorPath);
      if (!fs.exists(frontDoorPath)) {
        skipped.push({ name: definition.name, reason: `${relative} does not exist yet` });
        continue;
      }
      const doorSource = fs.read(frontDoorPath);
      const doorMissing = [frontDoor.api, frontDoor.webhook, frontDoor.starter].filter(
        (name) => !exportsName(doorSource, name),
      );
      if (doorMissing.length > 0) {
        skipped.push({
          name: definition.name,
          reason: `${relative} does not export ${doorMissing.join(", ")}`,
        });
        continue;
      }
      present.push({ definition, entryPath, frontDoorPath });
      continue;
    }
    present.push({ definition, entryPath });
  }
  return { present, skipped };
}

/** A textual check (no compilation): `export const|let|function|async function NAME` or `export { ..., NAME, ... }`. */
export function exportsName(source: string, name: string): boolean {
  const declared = new RegExp(`export\\s+(?:const|let|var|(?:async\\s+)?function\\*?)\\s+${name}\\b`);
  if (declared.test(source)) return true;
  const lists = source.match(/export\s*(?:type\s*)?\{[^}]*\}/g) ?? [];
  return lists.some(
    (list) =>
      !/^export\s*type\b/.test(list) &&
      list
        .replace(/^export\s*\{|\}$/g, "")
        .split(",")
        .map((item) =>
          item
            .trim()
            .split(/\s+as\s+/)
            .pop()
            ?.trim(),
        )
        .includes(name),
  );
}
