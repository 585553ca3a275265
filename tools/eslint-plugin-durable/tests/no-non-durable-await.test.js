import rule from "../lib/rules/no-non-durable-await.js";
import { header, run, runTyped } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext, deps: Deps) {\n${body}\n}`;
const deps =
  "interface Deps { payments: { charge(amount: number): Promise<{ id: string }> }; parse(x: unknown): { amount: number } }\n";
const typedWorkflow = (body) =>
  `${header}${deps}export async function run(event: unknown, context: DurableContext, deps: Deps) {\n${body}\n}`;

const valid = [
  // Durable operations, awaited directly, through a variable, a ternary or a promise chain.
  workflow('const a = await context.step("charge", async () => deps.payments.charge(5));'),
  workflow(
    'const pending = context.step("charge", async () => 1);\nawait context.wait("pause", { seconds: 1 });\nawait pending;',
  ),
  workflow('await (event ? context.step("a", async () => 1) : context.wait("b", { seconds: 1 }));'),
  workflow('const id = await context.step("charge", async () => ({ id: "x" })).then((r) => r.id);'),
  // The named durable combinators.
  workflow(
    'await context.promise.all("both", [context.step("a", async () => 1), context.step("b", async () => 2)]);',
  ),
  // A helper that receives the context runs durable operations of its own.
  workflow("await ship(context, event);\nawait notify({ context, deps });"),
  `${header}async function ship(ctx: DurableContext) { return ctx.step("ship", async () => 1); }\nexport async function run(event: unknown, context: DurableContext) { await ship(context); }`,
  // A local helper that only awaits durable work or computes.
  `${header}async function total(items: number[]) { return items.reduce((a, b) => a + b, 0); }\nexport async function run(event: unknown, context: DurableContext) { const t = await total([1]); await context.step("t", async () => t); }`,
  // Inside a step, awaiting other systems is the point.
  workflow(
    'await context.step("charge", async () => { const r = await deps.payments.charge(5); return await fetch("https://x"); });',
  ),
  // Retry strategies and code that is not workflow code.
  "export async function load(deps: Deps) { return await deps.payments.charge(1); }",
  // A function handed a durable operation's promise waits for durable work.
  workflow('const flight = await guard(context.step("reserve-flight", async () => 1), (r) => r);'),
  workflow(
    'const answer = context.waitForCallback("approval", async (id) => undefined);\nconst verdict = await verdictOf(answer, "manager");',
  ),
  // A function stored for someone else to call (a compensation's lookup, run in a step by its owner).
  workflow(
    "const undo = compensations.register({ find: async () => { const c = await deps.refunds.find(); return c; } });",
  ),
  // An imported sleep is no-timer-in-workflow's finding, not reported twice.
  `${header}import { setTimeout as sleep } from "node:timers/promises";\nexport async function run(event: unknown, context: DurableContext) { await sleep(1000); }`,
  // Global combinators of durable work are no-global-promise-combinator's finding, not this rule's.
  workflow('const [cb] = await context.createCallback("approval");\nawait Promise.all([cb]);'),
  workflow(
    "const pending = [];\nfor (const i of items) pending.push(context.step(`s-${i}`, async () => i));\nawait Promise.all(pending);",
  ),
  workflow("await Promise.all(items.map((item) => context.step(`charge-${item.id}`, async () => 1)));"),
  // Promise.resolve is not a call to another system.
  workflow("await Promise.resolve();"),
];

const invalid = [
  {
    code: workflow("const r = await deps.payments.charge(5);"),
    errors: [{ messageId: "direct", line: 3, column: 11 }],
  },
  {
    code: workflow('const res = await globalThis.fetch("https://example.com");'),
    errors: [{ line: 3, message: /`await globalThis\.fetch\(\.\.\.\)` outside a step/ }],
  },
  {
    code: workflow("const reply = await fetch(event.url);"),
    errors: [{ messageId: "direct", line: 3 }],
  },
  {
    // Through a variable: the call happened when the promise was made.
    code: workflow("const pending = deps.payments.charge(5);\nawait pending;"),
    errors: [{ messageId: "direct", line: 4 }],
  },
  {
    // Through a local helper, with the chain in the message.
    code: `${header}async function quote(deps: Deps) { return await deps.pricing.quote(); }\nexport async function run(event: unknown, context: DurableContext, deps: Deps) {\n  await quote(deps);\n}`,
    errors: [{ line: 4, message: /`quote\(\)` awaits `deps\.pricing\.quote\(\.\.\.\)`/ }],
  },
  {
    code: workflow(
      'await Promise.all(ids.map((id) => deps.load(id)));\nawait Promise.race([context.step("a", async () => 1), deps.slow()]);',
    ),
    errors: [
      { messageId: "global", line: 3 },
      { messageId: "global", line: 4 },
    ],
  },
  {
    // Global Promise.all of calls that are not durable operations.
    code: workflow("await Promise.all([deps.a(), deps.b()]);"),
    errors: [{ messageId: "global", line: 3 }],
  },
  {
    // Inside a child context function, and inside a plain callback of workflow code.
    code: workflow(
      'await context.runInChildContext("c", async (child) => {\n  await deps.audit.write();\n});\nfor (const id of ids) { await deps.load(id); }',
    ),
    errors: [
      { messageId: "direct", line: 4 },
      { messageId: "direct", line: 6 },
    ],
  },
];

run("no-non-durable-await", rule, { valid, invalid });

runTyped("no-non-durable-await", rule, {
  valid: [
    // A plain value awaited waits for nothing.
    typedWorkflow("const input = await deps.parse(event);"),
    // A DurablePromise, whatever produced it.
    typedWorkflow(
      'const pending = [context.step("a", async () => 1)];\nconst first = pending[0];\nif (first) await first;',
    ),
    `${header}import type { DurablePromise } from "@aws/durable-execution-sdk-js";\nfunction later(p: DurablePromise<number>) { return p; }\nexport async function run(event: unknown, context: DurableContext) { await later(context.step("a", async () => 1)); }`,
    // A context typed through an alias, held in an object.
    `${header}type Ctx = DurableContext;\nasync function ship(c: Ctx) { return c.step("ship", async () => 1); }\nexport async function run(event: unknown, context: Ctx) { const env = { c: context }; await ship(env.c); }`,
    typedWorkflow('await context.step("charge", async () => deps.payments.charge(5));'),
  ],
  invalid: [
    {
      code: typedWorkflow("const r = await deps.payments.charge(5);"),
      errors: [{ messageId: "direct", line: 4 }],
    },
    {
      // A promise of another system kept in a parameter-typed variable.
      code: typedWorkflow("const charge = deps.payments.charge;\nawait charge(5);"),
      errors: [{ messageId: "direct", line: 5 }],
    },
  ],
});
