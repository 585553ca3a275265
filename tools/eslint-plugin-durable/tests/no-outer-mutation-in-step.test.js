import rule from "../lib/rules/no-outer-mutation-in-step.js";
import { header, run, runTyped } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;
const testFile = (body) =>
  `${header}it("counts step runs", async () => {\n  let stepRuns = 0;\n  const calls: string[] = [];\n  const handler = withDurableExecution(async (event, context) => {\n${body}\n  });\n});`;

run("no-outer-mutation-in-step", rule, {
  valid: [
    // A service reached through a parameter is called, not mutated (deps.store.set above); so through a
    // destructured parameter property chain.
    `${header}export async function run(event: unknown, context: DurableContext, deps: { cache: { items: string[] } }) { await context.step("s", async () => deps.cache.items.push("a")); }`,
    // Building a new object from outer state is not a mutation of it.
    workflow(
      'const base = { a: 1 };\nconst next = await context.step("s", async () => Object.assign({}, base, { b: 2 }));',
    ),
    // Return the value instead.
    workflow('const total = await context.step("sum", async () => items.reduce((a, b) => a + b, 0));'),
    // Variables declared inside the step are the step's own.
    workflow(
      'await context.step("sum", async () => { let total = 0; for (const i of items) total += i; const seen = new Set(); seen.add(1); return total; });',
    ),
    // Reading outer variables is fine.
    workflow('const key = "k"; await context.step("charge", async () => charge({ idempotencyKey: key }));'),
    // Assigning the result of an operation outside any step is the right way.
    workflow('let total = 0;\ntotal = await context.step("sum", async () => 3);\ntotal += 1;'),
    // Mutating outer state in plain workflow code is deterministic (it happens again on every replay).
    workflow("const names: string[] = [];\nfor (const item of items) names.push(item.name);"),
    // Parameters of the step function are its own.
    workflow('await context.step("s", async (stepContext) => { stepContext = undefined as never; });'),
    // A child context's own variables.
    workflow(
      'await context.runInChildContext("c", async (child) => { let n = 0; n = await child.step("s", async () => 1); return n; });',
    ),
    // Globals are not judged here.
    workflow('await context.step("s", async () => { globalThis.x = 1; });'),
    // Calls on a property chain (a service, a fake) are not mutations of a variable.
    workflow('await context.step("save", async () => deps.store.set("k", 1));'),
    // In tests (option "workflow"): a test counts step runs in its own variables.
    {
      code: testFile('    await context.step("s", async () => { stepRuns += 1; calls.push("s"); });'),
      options: [{ variables: "workflow" }],
    },
  ],
  invalid: [
    // Mutation through a member chain, Object.assign, delete and computed keys.
    {
      code: workflow(
        'const state = { items: [] as string[] };\nawait context.step("add", async () => {\n  state.items.push("a");\n});',
      ),
      errors: [
        {
          line: 5,
          message: /`state` is declared outside this step function and changed with `state\.items\.push\(\)`/,
        },
      ],
    },
    {
      code: workflow(
        'const outer = { n: 0 };\nawait context.step("s", async () => {\n  Object.assign(outer, { n: 1 });\n});',
      ),
      errors: [{ line: 5, message: /changed with `Object\.assign\(\)`/ }],
    },
    {
      code: workflow(
        'const outer: Record<string, number> = { x: 1 };\nawait context.step("s", async () => {\n  delete outer.x;\n});',
      ),
      errors: [{ line: 5, message: /changed with `delete`/ }],
    },
    {
      code: workflow(
        'const outer: Record<string, number> = {};\nconst key = "k";\nawait context.step("s", async () => {\n  outer[key] = 1;\n});',
      ),
      errors: [{ line: 6, messageId: "step" }],
    },
    {
      code: workflow(
        'let total = 0;\nawait context.step("sum", async () => {\n  total = items.length;\n});\nreturn total;',
      ),
      errors: [
        {
          line: 5,
          message:
            '`total` is declared outside this step function and assigned inside it. On replay the step does not run again (its checkpointed result is returned instead), so in every later invocation `total` keeps the value it had before the step, and code after the step sees the wrong value. Return the value from the step instead: `const total = await context.step("descriptive-name", async () => ...)`.',
        },
      ],
    },
    {
      code: workflow('let n = 0;\nawait context.step("s", async () => { n++; });'),
      errors: [{ message: /changed with `\+\+`/ }],
    },
    {
      code: workflow('let n = 0;\nawait context.step("s", async () => { n += 2; });'),
      errors: [{ messageId: "step" }],
    },
    {
      code: workflow('const ids: string[] = [];\nawait context.step("s", async () => { ids.push("a"); });'),
      errors: [{ message: /changed with `.push\(\)`/ }],
    },
    {
      code: workflow(
        'const state = { paid: false };\nawait context.step("pay", async () => { state.paid = true; });',
      ),
      errors: [{ message: /`state` .* changed inside it/ }],
    },
    {
      code: workflow('const seen = new Map();\nawait context.step("s", async () => { seen.set("a", 1); });'),
      errors: [{ messageId: "step" }],
    },
    {
      code: workflow('let a = 0, b = 0;\nawait context.step("s", async () => { [a, b] = [1, 2]; });'),
      errors: [{ messageId: "step" }],
    },
    // Module state is lost too (and worse: it survives in a warm container, so the bug hides in tests).
    {
      code: `${header}let cached: string | undefined;\nexport async function run(event: unknown, context: DurableContext) { await context.step("load", async () => { cached = "x"; }); }`,
      errors: [{ messageId: "step" }],
    },
    // waitForCondition checks and waitForCallback submitters are steps too.
    {
      code: workflow(
        'let polls = 0;\nawait context.waitForCondition("poll", async (s) => { polls++; return s; }, config);',
      ),
      errors: [{ message: /waitForCondition check/ }],
    },
    {
      code: workflow(
        'let id = "";\nawait context.waitForCallback("approval", async (callbackId) => { id = callbackId; });',
      ),
      errors: [{ message: /waitForCallback submitter/ }],
    },
    // Child contexts, map items and parallel branches are not re-entered once finished.
    {
      code: workflow(
        'const results: number[] = [];\nawait context.map("each", items, async (child, item) => { results.push(await child.step(`s-${item}`, async () => item)); });',
      ),
      errors: [{ message: /map item function/ }],
    },
    {
      code: workflow(
        'let label = "";\nawait context.runInChildContext("ship", async (child) => { label = await child.step("l", async () => "x"); });',
      ),
      errors: [{ messageId: "child" }],
    },
    // Tricky: a child's variable assigned from a step nested in it.
    {
      code: workflow(
        'await context.runInChildContext("c", async (child) => { let n = 0; await child.step("s", async () => { n = 1; }); return n; });',
      ),
      errors: [{ messageId: "step" }],
    },
    // Tricky: inside a plain callback within the step.
    {
      code: workflow(
        'let sum = 0;\nawait context.step("s", async () => { items.forEach((i) => { sum += i; }); });',
      ),
      errors: [{ messageId: "step" }],
    },
    // In tests (option "workflow"): the handler's own variables are still workflow state.
    {
      code: testFile(
        '    let approved = false;\n    await context.step("s", async () => { approved = true; });\n    return approved;',
      ),
      options: [{ variables: "workflow" }],
      errors: [{ messageId: "step" }],
    },
  ],
});

runTyped("no-outer-mutation-in-step", rule, {
  valid: [
    // With types: a class of your own behind a local variable is a service the step calls, not local state.
    `${header}class Store { private m = new Map<string, number>(); set(k: string, v: number) { this.m.set(k, v); } }\nexport async function run(event: unknown, context: DurableContext) { const world = { store: new Store() }; await context.step("save", async () => world.store.set("k", 1)); }`,
  ],
  invalid: [
    {
      code: `${header}export async function run(event: unknown, context: DurableContext) {\n  const state = { seen: new Set<string>() };\n  await context.step("s", async () => state.seen.add("a"));\n}`,
      errors: [{ line: 4, messageId: "step" }],
    },
  ],
});
