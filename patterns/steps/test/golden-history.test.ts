import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, type FulfilmentResult } from "../src";
import { sampleOrder, simulatedWorld } from "../src/demo";
import {
  compareHistories,
  expectReplayCompatible,
  explain,
  readGolden,
  type OperationSignature,
} from "./golden-history";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

describe("golden history: executions in flight still replay on this code", () => {
  itLocal(
    "a fulfilled order checkpoints the operations recorded in test/__golden__/fulfil-order.json",
    async () => {
      const world = simulatedWorld();
      const runner = new LocalDurableTestRunner<FulfilmentResult>({
        handlerFunction: createHandler(world.deps),
      });

      const result = await runner.run({ payload: sampleOrder });

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      // Fails with an explanation when a change renames, reorders, removes or inserts an operation.
      // After an intended change: UPDATE_GOLDEN=1 npm test, and ship it as a new version (see README).
      expectReplayCompatible("fulfil-order", result);
    },
  );
});

/**
 * The recorded history as a tree, so that a test can change the workflow's shape the way an edit would
 * (rename, insert, move) and get the positions replay would see.
 */
interface Shape {
  type: string;
  subType: string | null;
  name: string | null;
  children: Shape[];
}
function toShape(history: OperationSignature[], parent = ""): Shape[] {
  return history
    .filter((op) => op.id.slice(0, Math.max(0, op.id.lastIndexOf("-"))) === parent)
    .map(({ id, type, subType, name }) => ({ type, subType, name, children: toShape(history, id) }));
}
function toHistory(shape: Shape[], parent = ""): OperationSignature[] {
  return shape.flatMap(({ children, ...op }, index) => {
    const id = parent === "" ? `${index + 1}` : `${parent}-${index + 1}`;
    return [{ id, ...op }, ...toHistory(children, id)];
  });
}
const step = (name: string): Shape => ({ type: "STEP", subType: "Step", name, children: [] });
const edited = (edit: (workflow: Shape[]) => void) => {
  const workflow = toShape(readGolden("fulfil-order"));
  edit(workflow);
  return compareHistories(readGolden("fulfil-order"), toHistory(workflow));
};
const byName = (workflow: Shape[], name: string) => workflow.findIndex((op) => op.name === name);

describe("golden history: a deliberate break is caught", () => {
  // check-settings was added before reserve-stock (the settings checked before anything is sent): every position
  // below moved by one, and the golden file was recorded again with UPDATE_GOLDEN=1 (a new version, see README).
  it("the recorded shape is the workflow's: check settings, reserve, charge, ship (two steps), wait, review", () => {
    const shape = toShape(readGolden("fulfil-order"));
    expect(shape.map((op) => `${op.subType} ${op.name}`)).toEqual([
      "Step check-settings",
      "Step reserve-stock",
      "Step charge-payment",
      "RunInChildContext ship-order",
      "Wait wait-before-review-request",
      "Step request-review",
    ]);
    expect(shape[3]!.children.map((op) => op.name)).toEqual(["create-shipment", "email-tracking-number"]);
  });

  it.each([
    [
      "a renamed step",
      (w: Shape[]) => void (w[byName(w, "charge-payment")]!.name = "take-payment"),
      'position 3: recorded Step "charge-payment", now Step "take-payment"\n      renamed (or replaced)',
    ],
    [
      "a step inserted before existing ones",
      (w: Shape[]) => void w.splice(byName(w, "charge-payment"), 0, step("check-fraud")),
      'position 3: recorded Step "charge-payment", now Step "check-fraud"\n      Step "charge-payment" is now at position 4: an operation was added or moved before it.',
    ],
    [
      "two steps swapped",
      (w: Shape[]) => void w.splice(1, 2, w[2]!, w[1]!),
      'position 2: recorded Step "reserve-stock", now Step "charge-payment"\n      Step "reserve-stock" is now at position 3',
    ],
    [
      "a step removed",
      (w: Shape[]) => void w.splice(byName(w, "request-review"), 1),
      'position 6: recorded Step "request-review", now nothing\n      removed',
    ],
    [
      "a step removed from the middle",
      (w: Shape[]) => void w.splice(byName(w, "charge-payment"), 1),
      'position 3: recorded Step "charge-payment", now RunInChildContext "ship-order"',
    ],
    [
      "a step renamed inside the child context",
      (w: Shape[]) => void (w[byName(w, "ship-order")]!.children[0]!.name = "buy-label"),
      'position 4-1 (in "ship-order"): recorded Step "create-shipment", now Step "buy-label"',
    ],
    [
      "a step added at the start of the child context",
      (w: Shape[]) => void w[byName(w, "ship-order")]!.children.unshift(step("pick-carrier")),
      'position 4-1 (in "ship-order"): recorded Step "create-shipment", now Step "pick-carrier"',
    ],
    [
      "the wait turned into a step",
      (w: Shape[]) => void (w[byName(w, "wait-before-review-request")] = step("wait-before-review-request")),
      "replaced by another kind of operation (STEP instead of WAIT)",
    ],
  ])("%s", (_label, edit, expected) => {
    const comparison = edited(edit);

    expect(comparison.breaking.join("\n")).toContain(expected);
    // The failure a user sees names the fixture and says how to ship the change safely.
    const message = explain("fulfil-order", comparison);
    expect(message).toContain("this change would break executions already in flight");
    expect(message).toContain("NonDeterministicExecutionError");
    expect(message).toContain("Deploy it as a new Lambda version and move the alias");
    expect(message).toContain("UPDATE_GOLDEN=1 npm test");
  });

  it("reports the first difference of a moved child context once, not once per operation inside it", () => {
    const comparison = edited((w) => w.unshift(step("check-fraud")));
    expect(comparison.breaking).toHaveLength(6); // the six top-level positions, not their children
    expect(comparison.breaking.join("\n")).not.toContain("position 4-1");
  });

  it("allows adding operations after the last one, of the workflow or of a child context", () => {
    const comparison = edited((w) => {
      w.push(step("ask-for-referral"));
      w[byName(w, "ship-order")]!.children.push(step("notify-warehouse"));
    });

    expect(comparison.breaking).toEqual([]);
    expect(comparison.appended.map((op) => `${op.id} ${op.name}`)).toEqual([
      "4-3 notify-warehouse",
      "7 ask-for-referral",
    ]);
  });

  it("an unchanged workflow has no differences", () => {
    expect(edited(() => undefined)).toEqual({ breaking: [], appended: [] });
  });
});
