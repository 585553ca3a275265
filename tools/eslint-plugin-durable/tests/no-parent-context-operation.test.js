import rule from "../lib/rules/no-parent-context-operation.js";
import { header, run, runTyped } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

run("no-parent-context-operation", rule, {
  valid: [
    // Helpers that take the context, called in workflow code or with the child's own context.
    `${header}async function ship(c: DurableContext) { await c.step("label", async () => 1); }\nexport async function run(event: unknown, context: DurableContext) { await ship(context); await context.runInChildContext("c", async (child) => ship(child)); }`,
    // A step may hand its own StepContext to a helper.
    workflow('await context.step("s", async (stepContext) => log(stepContext, "x"));'),
    // Operations one after the other on the same context.
    workflow(
      'const a = await context.step("a", async () => 1);\nawait context.wait("pause", { seconds: 5 });',
    ),
    // A child context used from inside its own function (the steps pattern's ship-order).
    workflow(
      'await context.runInChildContext("ship-order", async (shipping) => {\n  const label = await shipping.step("create-shipment", async () => 1);\n  await shipping.step("email-tracking-number", async () => label);\n});',
    ),
    // The child's parameter may shadow the parent's name.
    workflow(
      'await context.runInChildContext("ship", async (context) => context.step("label", async () => 1));',
    ),
    // Map items and parallel branches use the context they receive.
    workflow(
      'await context.map("charge-each", items, async (child, item) => child.step(`charge-${item.id}`, async () => 1));',
    ),
    workflow(
      'await context.parallel("vendors", [async (a) => a.step("ask-a", async () => 1), { name: "b", func: async (b) => b.wait("wait-b", { seconds: 1 }) }]);',
    ),
    // Nested children, each on its own context.
    workflow(
      'await context.runInChildContext("outer", async (outer) => outer.runInChildContext("inner", async (inner) => inner.step("s", async () => 1)));',
    ),
    // A plain callback of the workflow (Array.map, a promise) is not a new context.
    workflow(
      "for (const item of items) await context.step(`charge-${item.id}`, async () => 1);\nawait Promise.all(items.map((item) => context.step(`check-${item.id}`, async () => 1)));",
    ),
    // A helper that receives the context as a typed parameter.
    `${header}async function ship(child: DurableContext) { await child.step("label", async () => 1); }\nexport async function run(event: unknown, context: DurableContext) { await context.runInChildContext("ship", (child) => ship(child)); }`,
    // The logger is not a durable operation.
    workflow('await context.step("a", async () => { context.logger.info("inside"); });'),
    // Something else's step or map inside a step: not a durable context.
    workflow(
      'await context.step("a", async () => { wizard.step("next", () => 1); return items.map((x) => x * 2); });',
    ),
    // The Lambda Context is not a durable context.
    'import type { Context } from "aws-lambda";\nexport const h = async (event: unknown, context: Context) => { await thing.step("a", async () => context.getRemainingTimeInMillis()); };',
  ],
  invalid: [
    // The parent context handed to a helper that is called inside a step: an operation inside a step, one call away.
    {
      code: `${header}async function ship(c: DurableContext) { await c.step("label", async () => 1); }\nexport async function run(event: unknown, context: DurableContext) {\n  await context.step("outer", async () => {\n    await ship(context);\n  });\n}`,
      errors: [
        {
          line: 5,
          message:
            /^`ship\(context\)` hands the durable context `context` to a function called inside a step function/,
        },
      ],
    },
    {
      code: workflow('await context.waitForCallback("approval", async (id) => notify(context, id));'),
      errors: [{ line: 3, messageId: "contextInStep" }],
    },
    {
      // In a child context: the parent's context handed to a helper.
      code: workflow('await context.runInChildContext("c", async (child) => {\n  await ship(context);\n});'),
      errors: [{ line: 4, message: /Pass the context this function receives: `child`/ }],
    },
    {
      code: workflow(
        'await context.step("outer", async () => {\n  await context.step("inner", async () => 1);\n});',
      ),
      errors: [
        {
          line: 4,
          message:
            '`context.step(...)` is called inside a step function (`context.step(...)`). A step runs as one checkpointed unit with no durable operations inside it: the SDK fails the execution with "Context usage error", and even if it did not, the inner operation would be re-run or skipped depending on whether the step had finished. Make the operation after the step, using what the step returns, or group both in a child context: `await context.runInChildContext("descriptive-name", async (child) => { await child.step(...); await child.step(...); })`.',
        },
      ],
    },
    {
      code: workflow('await context.step("outer", async () => context.wait("pause", { seconds: 1 }));'),
      errors: [{ messageId: "inStep" }],
    },
    {
      // A child's step that reaches for the child context is just as wrong.
      code: workflow(
        'await context.runInChildContext("c", async (child) => child.step("s", async () => child.wait("w", { seconds: 1 })));',
      ),
      errors: [{ messageId: "inStep" }],
    },
    {
      code: workflow(
        'await context.waitForCondition("poll", async (state) => { await context.step("check", async () => 1); return state; }, config);',
      ),
      errors: [{ message: /inside a waitForCondition check/ }],
    },
    {
      code: workflow(
        'await context.waitForCallback("approval", async (callbackId) => { await context.invoke("notify", "notifier-fn", { callbackId }); });',
      ),
      errors: [{ message: /inside a waitForCallback submitter/ }],
    },
    {
      code: workflow(
        'await context.runInChildContext("ship-order", async (shipping) => {\n  await context.step("create-shipment", async () => 1);\n});',
      ),
      errors: [
        {
          line: 4,
          message:
            '`context.step(...)` uses the parent context `context` inside `context.runInChildContext(...)`. A child context numbers its own operations and a finished child is not re-entered on replay, so an operation on the parent from in here lands at a different position in the parent\'s history on replay; the SDK fails the execution with "Context usage error". Use the context the function receives: `shipping.step(...)`.',
        },
      ],
    },
    {
      code: workflow(
        'await context.runInChildContext("ship", async () => { await context.wait("pause", { seconds: 1 }); });',
      ),
      errors: [{ messageId: "parentContextNoParameter" }],
    },
    {
      code: workflow(
        'await context.map("each", items, async (child, item) => context.step(`charge-${item.id}`, async () => 1));',
      ),
      errors: [{ message: /Use the context the function receives: `child.step\(...\)`/ }],
    },
    {
      code: workflow(
        'await context.parallel("vendors", [async (a) => context.step("ask-a", async () => 1), { func: async (b) => context.promise.all("both", [x, y]) }]);',
      ),
      errors: [{ messageId: "parentContext" }, { message: /`context.promise.all\(...\)`/ }],
    },
    {
      // Two levels down, using the outer child instead of the inner one.
      code: workflow(
        'await context.runInChildContext("outer", async (outer) => outer.runInChildContext("inner", async (inner) => outer.step("s", async () => 1)));',
      ),
      errors: [{ message: /Use the context the function receives: `inner.step/ }],
    },
    {
      // Through a plain callback inside the child function.
      code: workflow(
        'await context.runInChildContext("batch", async (child) => Promise.all(items.map((i) => context.step(`s-${i}`, async () => i))));',
      ),
      errors: [{ messageId: "parentContext" }],
    },
    {
      // The handler given to withDurableExecution, context inferred.
      code: `${header}export const handler = withDurableExecution(async (event, context) => context.step("outer", async () => context.step("inner", async () => 1)));`,
      errors: [{ messageId: "inStep" }],
    },
  ],
});

runTyped("no-parent-context-operation", rule, {
  valid: [
    `${header}type Ctx = DurableContext;\nasync function ship(c: Ctx) { await c.step("label", async () => 1); }\nexport async function run(event: unknown, context: Ctx) { await ship(context); }`,
  ],
  invalid: [
    {
      // With types, a context held in an object is recognised too.
      code: `${header}async function ship(c: DurableContext) { await c.step("label", async () => 1); }\nexport async function run(event: unknown, context: DurableContext) {\n  const env = { ctx: context };\n  await context.step("outer", async () => ship(env.ctx));\n}`,
      errors: [{ line: 5, messageId: "contextInStep" }],
    },
  ],
});
