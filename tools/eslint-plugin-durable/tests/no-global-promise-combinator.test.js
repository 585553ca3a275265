import rule from "../lib/rules/no-global-promise-combinator.js";
import { header, run, runTyped } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

const valid = [
  // The named durable combinators.
  workflow(
    'await context.promise.all("both", [context.step("a", async () => 1), context.step("b", async () => 2)]);',
  ),
  workflow(
    'await context.promise.race("first", [context.step("a", async () => 1), context.wait("t", { seconds: 9 })]);',
  ),
  // The global Promise inside a step combines the step's own calls.
  workflow('await context.step("both", async () => Promise.all([fetch("a"), fetch("b")]));'),
  // Outside workflow code.
  "export async function load() { return Promise.all([fetch('a'), fetch('b')]); }",
  // allSettled of durable operations is not reported (its outcome is the same on every replay).
  workflow('await Promise.allSettled([context.step("a", async () => 1)]);'),
];

run("no-global-promise-combinator", rule, {
  valid,
  invalid: [
    {
      // The local timeout the guide calls broken across replays.
      code: workflow(
        'const winner = await Promise.race([\n  context.waitForCallback("approval", async (id) => send(id)),\n  new Promise((r) => setTimeout(r, 1000)),\n]);',
      ),
      errors: [{ line: 3, message: /`Promise\.race\(\.\.\.\)`.*`await context\.promise\.race\(/ }],
    },
    {
      code: workflow(
        "await Promise.all(items.map((item) => context.step(`charge-${item.id}`, async () => 1)));",
      ),
      errors: [{ messageId: "combinator", line: 3 }],
    },
    {
      code: workflow(
        'const a = context.step("a", async () => 1);\nconst b = context.wait("b", { seconds: 1 });\nawait Promise.any([a, b]);',
      ),
      errors: [{ messageId: "combinator", line: 5 }],
    },
    {
      code: workflow("await globalThis.Promise.all([ship(context), bill(context)]);"),
      errors: [{ messageId: "combinator", line: 3 }],
    },
  ],
});

runTyped("no-global-promise-combinator", rule, {
  valid,
  invalid: [
    {
      // An array of DurablePromise built somewhere else: only the type says what it holds.
      code: `${header}import type { DurablePromise } from "@aws/durable-execution-sdk-js";\nexport async function run(event: unknown, context: DurableContext, pending: DurablePromise<number>[]) {\n  await Promise.all(pending);\n}`,
      errors: [{ messageId: "combinator", line: 4 }],
    },
  ],
});
