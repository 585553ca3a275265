/**
 * Golden histories: catch a code change that would break executions already in flight.
 *
 * When Lambda re-invokes a durable function, the SDK replays the handler from the top and checks every
 * operation it meets against the checkpoint recorded at the same position: same type, subtype and name,
 * or the execution fails with NonDeterministicExecutionError. So renaming, reordering, removing an
 * operation, or adding one before existing ones, breaks every execution that started on the old code and
 * replays on the new code. Adding operations after the last one (of the workflow or of a child context) is safe.
 *
 * `expectReplayCompatible(scenario, result)` compares a test run's operations with the history committed in
 * `test/__golden__/<scenario>.json` and fails with an explanation when the change would break replay.
 * `UPDATE_GOLDEN=1 npm test` records the current history instead (do it on purpose; see the README).
 *
 * This file is the same in every pattern and depends only on Node: copy it as it is.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** One operation as replay sees it. `id` is its position: "3" is the third operation, "3-1" the first inside it. */
export interface OperationSignature {
  id: string;
  type: string;
  subType: string | null;
  name: string | null;
}

/** What this file needs from a TestResult of LocalDurableTestRunner or CloudDurableTestRunner. */
interface OperationLike {
  getId(): string | undefined;
  getParentId(): string | undefined;
  getType(): string | undefined;
  getSubType(): string | undefined;
  getName(): string | undefined;
}
export interface RunResult {
  getOperations(): OperationLike[];
}

export interface Comparison {
  /** Differences that fail the replay of an execution recorded before the change. */
  breaking: string[];
  /** Operations added after the last recorded one of their parent: safe. */
  appended: OperationSignature[];
}

const DEFAULT_DIR = join(__dirname, "__golden__");

/**
 * The operations of a run, by position. The SDK numbers each context's operations 1, 2, 3... ("3-1" inside "3")
 * and sends the md5 of that id; we recover the position from it, so concurrent branches that finish in any
 * order still give the same list. (Should the id scheme ever change, the order operations were seen in is used.)
 */
export function operationSignatures(result: RunResult): OperationSignature[] {
  const operations = result.getOperations();
  const limit = operations.length + 1;
  const hash = (id: string) => createHash("md5").update(id).digest("hex").slice(0, 16);
  const byParent = new Map<string | undefined, OperationLike[]>();
  for (const operation of operations) {
    const siblings = byParent.get(operation.getParentId()) ?? [];
    byParent.set(operation.getParentId(), [...siblings, operation]);
  }
  const signatures: OperationSignature[] = [];
  const visit = (parentHash: string | undefined, parentPosition: string | undefined) => {
    (byParent.get(parentHash) ?? []).forEach((operation, index) => {
      const prefix = parentPosition === undefined ? "" : `${parentPosition}-`;
      const candidates: string[] = [];
      // Direct children, then children of a virtual context (FLAT map/parallel items are not checkpointed).
      for (let n = 1; n <= limit; n += 1) candidates.push(`${prefix}${n}`);
      let id = candidates.find((candidate) => hash(candidate) === operation.getId());
      for (let k = 1; id === undefined && k <= limit; k += 1) {
        id = candidates
          .map((c) => `${prefix}${k}-${c.slice(prefix.length)}`)
          .find((c) => hash(c) === operation.getId());
      }
      id ??= `${prefix}${index + 1}`;
      signatures.push({
        id,
        type: operation.getType() ?? "UNKNOWN",
        subType: operation.getSubType() ?? null,
        name: operation.getName() ?? null,
      });
      visit(operation.getId(), id);
    });
  };
  visit(undefined, undefined);
  return signatures.sort((a, b) => comparePositions(a.id, b.id));
}

function comparePositions(a: string, b: string): number {
  const x = a.split("-").map(Number);
  const y = b.split("-").map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const parentOf = (id: string) => (id.includes("-") ? id.slice(0, id.lastIndexOf("-")) : "");
const counterOf = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));
const same = (a: OperationSignature, b: OperationSignature) =>
  a.type === b.type && a.subType === b.subType && a.name === b.name;
const show = (op: OperationSignature) =>
  `${op.subType ?? op.type} ${op.name === null ? "(unnamed)" : `"${op.name}"`}`;

/** Compares a recorded history with the current one, the way replay will. */
export function compareHistories(recorded: OperationSignature[], current: OperationSignature[]): Comparison {
  const now = new Map(current.map((op) => [op.id, op]));
  const before = new Map(recorded.map((op) => [op.id, op]));
  const where = (id: string) => {
    const names: string[] = [];
    for (let p = parentOf(id); p !== ""; p = parentOf(p)) names.unshift(before.get(p)?.name ?? p);
    return names.length === 0
      ? `position ${id}`
      : `position ${id} (in ${names.map((n) => `"${n}"`).join(" > ")})`;
  };
  const breaking: string[] = [];
  const mismatched = new Set<string>();
  for (const old of recorded) {
    // A mismatch of a parent already explains its children.
    if ([...mismatched].some((parent) => old.id.startsWith(`${parent}-`))) continue;
    const found = now.get(old.id);
    if (found && same(old, found)) continue;
    mismatched.add(old.id);
    const movedTo = current.find((op) => parentOf(op.id) === parentOf(old.id) && same(op, old));
    const head = `${where(old.id)}: recorded ${show(old)}, now ${found ? show(found) : "nothing"}`;
    let why: string;
    if (movedTo && counterOf(movedTo.id) > counterOf(old.id)) {
      why = `${show(old)} is now at position ${movedTo.id}: an operation was added or moved before it.`;
    } else if (movedTo) {
      why = `${show(old)} is now at position ${movedTo.id}: operations were removed or reordered before it.`;
    } else if (!found) {
      why = "removed: an execution that reached it expects it on replay.";
    } else if (found.type === old.type && found.subType === old.subType) {
      why = "renamed (or replaced): replay compares names exactly.";
    } else {
      why = `replaced by another kind of operation (${found.type} instead of ${old.type}).`;
    }
    breaking.push(`${head}\n      ${why}`);
  }
  const appended = current.filter((op) => {
    if (before.has(op.id)) return false;
    const siblings = recorded.filter((old) => parentOf(old.id) === parentOf(op.id));
    const parentKnown = parentOf(op.id) === "" || before.has(parentOf(op.id));
    return parentKnown && siblings.every((old) => counterOf(old.id) < counterOf(op.id));
  });
  return { breaking, appended };
}

export function goldenPath(scenario: string, dir = DEFAULT_DIR): string {
  return join(dir, `${scenario}.json`);
}

export function readGolden(scenario: string, dir = DEFAULT_DIR): OperationSignature[] {
  const file = JSON.parse(readFileSync(goldenPath(scenario, dir), "utf8")) as {
    operations: OperationSignature[];
  };
  return file.operations;
}

export function writeGolden(scenario: string, operations: OperationSignature[], dir = DEFAULT_DIR): void {
  mkdirSync(dir, { recursive: true });
  // One operation per line, so a review diff shows exactly which operations changed.
  // (spaced the way prettier formats JSON, so a formatter run leaves the file alone).
  const line = (op: OperationSignature) =>
    `{ ${Object.entries(op)
      .map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`)
      .join(", ")} }`;
  const lines = operations.map((op) => `    ${line(op)}`).join(",\n");
  const about =
    "Operation signatures replay checks, by position. Written by UPDATE_GOLDEN=1; see test/golden-history.ts.";
  writeFileSync(
    goldenPath(scenario, dir),
    `{\n  "about": ${JSON.stringify(about)},\n  "operations": [\n${lines}\n  ]\n}\n`,
  );
}

/** The text of the failure: what breaks, why, and how to ship the change safely. */
export function explain(scenario: string, comparison: Comparison, file = goldenPath(scenario)): string {
  const fixture = relative(process.cwd(), file);
  return [
    `Golden history "${scenario}" no longer matches: this change would break executions already in flight.`,
    "",
    "Replay checks each operation against the checkpoint recorded at the same position (type, subtype, name).",
    "An execution started on the recorded code that replays on this code fails with NonDeterministicExecutionError at:",
    "",
    ...comparison.breaking.map((line) => `  - ${line}`),
    "",
    "Safe without a new version: adding operations after the last recorded one of the workflow or of a child context.",
    "",
    "If the change is intended:",
    "  1. Deploy it as a new Lambda version and move the alias the function is invoked through (live) to it.",
    "     Executions already running stay on the version they started on and finish there; new ones start on the",
    "     new code. Keep the old version until its executions have finished (at most the execution timeout).",
    `  2. Record the new history and commit it: UPDATE_GOLDEN=1 npm test (updates ${fixture}).`,
  ].join("\n");
}

/**
 * Fails when the run's operations would not replay a history recorded in `test/__golden__/<scenario>.json`.
 * With UPDATE_GOLDEN=1 it records the run's history instead.
 */
export function expectReplayCompatible(scenario: string, result: RunResult, dir = DEFAULT_DIR): void {
  const current = operationSignatures(result);
  const file = goldenPath(scenario, dir);
  const update = process.env.UPDATE_GOLDEN === "1" || process.env.UPDATE_GOLDEN === "true";
  if (!existsSync(file)) {
    if (update) return writeGolden(scenario, current, dir);
    throw new Error(
      `No golden history "${scenario}" yet (${relative(process.cwd(), file)}). Record it: UPDATE_GOLDEN=1 npm test`,
    );
  }
  const comparison = compareHistories(readGolden(scenario, dir), current);
  if (update) {
    if (comparison.breaking.length > 0) {
      console.warn(
        `Recorded a BREAKING history for "${scenario}": ship it as a new version.\n\n${explain(scenario, comparison, file)}`,
      );
    }
    return writeGolden(scenario, current, dir);
  }
  if (comparison.breaking.length > 0) throw new Error(explain(scenario, comparison, file));
  if (comparison.appended.length > 0) {
    // Safe for executions in flight; record it so that later changes are checked against it too.
    console.warn(
      `Golden history "${scenario}": ${comparison.appended.map(show).join(", ")} added at the end (replay-safe). ` +
        "Record it: UPDATE_GOLDEN=1 npm test",
    );
  }
}
