import rule from "../lib/rules/no-non-deterministic-outside-step.js";
import { header, run } from "./rule-tester.js";

/** A workflow function around `body`, as in a pattern's src/workflow.ts. */
const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;
const direct = (...texts) => texts.map(() => ({ messageId: "direct" }));

run("no-non-deterministic-outside-step", rule, {
  valid: [
    // Clock and ids inside steps, aliases included; retry strategies with jitter.
    workflow('const now = Date.now;\nconst t = await context.step("read-clock", async () => now());'),
    workflow(
      'const { random } = Math;\nawait context.step("s", async () => random(), { retryStrategy: (e, n) => ({ shouldRetry: n < 3, delay: { seconds: Math.ceil(random() * 5) } }) });',
    ),
    // A function handed to a local helper that runs it as a step's function.
    `${header}async function bestEffort<T>(context: DurableContext, name: string, work: () => Promise<T>) { try { return await context.step(name, work); } catch { return undefined; } }\nexport async function run(event: unknown, context: DurableContext) { await bestEffort(context, "record-failure", async () => write(Date.now())); }`,
    // A `let` alias may be reassigned to something else: not followed.
    workflow("let pick = Math.random;\npick = () => 0.5;\nconst p = pick();"),
    // `new C(x)` with an argument is a fixed date.
    workflow('const C = Date;\nconst d = new C("2026-01-01");'),
    // Inside a step: runs once per attempt, and the result is checkpointed.
    workflow('const now = await context.step("read-clock", async () => Date.now());'),
    workflow('const id = await context.step("new-id", async () => crypto.randomUUID());'),
    workflow(
      'const quote = await context.step("fetch-quote", async () => (await fetch("https://x.test/q")).json());',
    ),
    workflow(
      'await context.step("charge", async () => { if (new Date() > deadline) throw new Error("late"); });',
    ),
    workflow('await context.step("put-item", () => client.send(new PutItemCommand({ TableName: "t" })));'),
    // A waitForCondition check and a waitForCallback submitter run as steps too.
    workflow(
      'await context.waitForCondition("wait-until-ready", async (state) => ({ ...state, at: Date.now() }), { initialState: {}, waitStrategy });',
    ),
    workflow(
      'await context.waitForCallback("wait-for-approval", async (callbackId) => { await fetch(url, { method: "POST", body: callbackId }); });',
    ),
    // Deterministic time: a Date built from a value, parsing, arithmetic.
    workflow(
      "const due = new Date(order.placedAt); const t = Date.parse(order.placedAt); const m = Math.max(1, 2);",
    ),
    // Code that is not workflow code: deps.ts / demo.ts functions with no durable context.
    "export function createHttpDeps() { return { get: async (url: string) => fetch(url, { headers: { at: String(Date.now()) } }) }; }",
    "export function fakeClock() { return new Date(); }",
    "const startedAt = Date.now();",
    // A plain Lambda handler: its context is the Lambda Context, not a DurableContext.
    'import type { Context } from "aws-lambda";\nexport async function handler(event: unknown, context: Context) { return { at: Date.now() }; }',
    // A retry strategy may use jitter: its decision is checkpointed with the failed attempt.
    workflow(
      'await context.step("charge", charge, { retryStrategy: (error, attempt) => ({ shouldRetry: true, delay: { seconds: Math.ceil(Math.random() * 2 ** attempt) } }) });',
    ),
    // A local helper that is deterministic, or only called inside a step.
    `${header}function stamp() { return Date.now(); }\nfunction key(orderId: string) { return orderId + ":charge"; }\nexport async function run(event: { id: string }, context: DurableContext) {\n  const k = key(event.id);\n  await context.step("stamp", async () => stamp());\n}`,
    // Shadowed globals are not the clock.
    workflow("const Date = { now: () => 0 }; const t = Date.now();"),
    workflow("const Math = { random: () => 4 }; const r = Math.random();"),
    // A validator is not a generator.
    workflow('if (!isUuid(event.id)) throw new Error("bad id");'),
    // A send that is not an AWS SDK call.
    workflow('await context.step("notify", () => notifier.send({ to: "a@b.c" }));'),
    workflow("channel.send(message);"),
  ],
  invalid: [
    // A local helper that runs its function in workflow code (not in a step) does not make it a step.
    {
      code: `${header}async function twice(context: DurableContext, work: () => number) { work(); return work(); }\nexport async function run(event: unknown, context: DurableContext) {\n  await twice(context, () => Date.now());\n}`,
      errors: [{ line: 4, messageId: "direct" }],
    },
    // The clock and randomness through an alias or globalThis (each reported on the line of the call).
    {
      code: workflow("const now = Date.now;\nconst startedAt = now();"),
      errors: [{ line: 4, message: /^`now\(\)` \(`Date\.now`\) reads the clock outside a step/ }],
    },
    {
      code: workflow(
        'const { random } = Math;\nif (random() < 0.5) await context.wait("w", { seconds: 1 });',
      ),
      errors: [{ line: 4, message: /`random\(\)` \(`Math\.random`\) makes random values/ }],
    },
    {
      code: workflow("const C = Date;\nconst a = new C();\nconst b = C.now();"),
      errors: [
        { line: 4, message: /`new C\(\)` \(`Date`\) reads the clock/ },
        { line: 5, message: /`C\.now\(\)` \(`Date\.now`\)/ },
      ],
    },
    {
      code: workflow("const t = globalThis.Date.now();\nconst r = globalThis.Math.random();"),
      errors: [
        { line: 3, message: /`globalThis\.Date\.now\(\)` \(`Date\.now`\)/ },
        { line: 4, message: /`globalThis\.Math\.random\(\)` \(`Math\.random`\)/ },
      ],
    },
    {
      // An alias declared at module scope, called in workflow code; and a bound one.
      code: `${header}const clock = Date.now.bind(Date);\nexport async function run(event: unknown, context: DurableContext) {\n  const t = clock();\n}`,
      errors: [{ line: 4, messageId: "direct" }],
    },
    { code: workflow("const now = new Date();"), errors: direct(1) },
    { code: workflow("const stamp = Date();"), errors: direct(1) },
    {
      code: workflow('if (Math.random() < 0.5) await context.wait("coin-flip", { seconds: 1 });'),
      errors: direct(1),
    },
    { code: workflow("const t = performance.now();"), errors: direct(1) },
    { code: workflow("const t = process.hrtime.bigint();"), errors: direct(1) },
    { code: workflow("const id = crypto.randomUUID();"), errors: direct(1) },
    {
      code: workflow("const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));"),
      errors: direct(1),
    },
    {
      code: `import { randomBytes, randomUUID } from "node:crypto";\n${workflow("const a = randomBytes(8); const b = randomUUID();")}`,
      errors: direct(1, 2),
    },
    // uuid helpers, by import or by name.
    { code: `import { v4 } from "uuid";\n${workflow("const id = v4();")}`, errors: direct(1) },
    { code: `import { v4 as uuidv4 } from "uuid";\n${workflow("const id = uuidv4();")}`, errors: direct(1) },
    { code: `import { nanoid } from "nanoid";\n${workflow("const id = nanoid();")}`, errors: direct(1) },
    { code: workflow("const id = ids.generateUuid();"), errors: direct(1) },
    // Calls to the outside world.
    { code: workflow('const reply = await fetch("https://api.test/quote");'), errors: direct(1) },
    { code: workflow('await dynamo.send(new PutItemCommand({ TableName: "orders" }));'), errors: direct(1) },
    { code: workflow("await this.sqsClient.send(command);"), errors: direct(1) },
    // The message teaches: what breaks on replay and what to write instead.
    {
      code: workflow("const now = Date.now();"),
      errors: [
        {
          line: 3,
          message:
            '`Date.now()` reads the clock outside a step. Workflow code runs again on every replay, and this gives a different answer each time, so the replay can take another branch or name operations differently than the run it replays (the SDK then fails with NonDeterministicExecutionError). Instead, read it in a step: `const now = await context.step("read-clock", async () => Date.now())`.',
        },
      ],
    },
    // Tricky: a Date made from Date.now() is still the clock.
    { code: workflow("const later = new Date(Date.now() + 60_000);"), errors: direct(1) },
    // Tricky: in a dynamic operation name, where it breaks replay for sure.
    {
      code: workflow("await context.step(`charge-${Date.now()}`, async () => charge());"),
      errors: direct(1),
    },
    // Tricky: in a callback of the workflow that is not a step (Array.map runs on every replay).
    { code: workflow("const ids = event.items.map(() => crypto.randomUUID());"), errors: direct(1) },
    // Tricky: inside a child context, a map item or a parallel branch: those are workflow code, not steps.
    {
      code: workflow(
        'await context.runInChildContext("ship", async (child) => { const at = Date.now(); await child.step("label", async () => at); });',
      ),
      errors: direct(1),
    },
    {
      code: workflow(
        'await context.map("charge-each", items, async (child, item) => child.step(`charge-${item.id}-${Math.random()}`, async () => 1));',
      ),
      errors: direct(1),
    },
    {
      code: workflow(
        'await context.parallel("vendors", [async (child) => fetch(a), { name: "b", func: async (child) => fetch(b) }]);',
      ),
      errors: direct(1, 2),
    },
    // Tricky: the handler given to withDurableExecution, with an inferred (unannotated) context.
    {
      code: `${header}export const handler = withDurableExecution(async (event, context) => { const id = crypto.randomUUID(); return id; });`,
      errors: direct(1),
    },
    // Tricky: a step nested in a child context is fine, but the child's own code is not.
    {
      code: workflow(
        'await context.runInChildContext("ship", async (child) => { await child.step("a", async () => Date.now()); return new Date(); });',
      ),
      errors: direct(1),
    },
    // Through a local helper (declaration, arrow, or a helper that calls another helper).
    {
      code: `${header}function stamp() {\n  return Date.now();\n}\nexport async function run(event: unknown, context: DurableContext) {\n  const at = stamp();\n}`,
      errors: [
        {
          line: 6,
          message:
            '`stamp()` reads the clock (`Date.now()` at line 3) outside a step. Workflow code runs again on every replay, and this gives a different answer each time, so the replay can take another branch or name operations differently than the run it replays. Call `stamp()` inside a step instead, so its result is checkpointed: `await context.step("descriptive-name", async () => stamp())`.',
        },
      ],
    },
    {
      code: `${header}const requestId = () => \`req-\${crypto.randomUUID()}\`;\nexport async function run(event: unknown, context: DurableContext) { const id = requestId(); }`,
      errors: [{ messageId: "helper" }],
    },
    {
      code: `${header}async function quote(sku: string) { return (await fetch("https://x.test/" + sku)).json(); }\nasync function total(skus: string[]) { let sum = 0; for (const s of skus) sum += await quote(s); return sum; }\nexport async function run(event: { skus: string[] }, context: DurableContext) { const t = await total(event.skus); }`,
      errors: [
        { message: /`total\(\)` calls the outside world \(`quote\(\)` calls `fetch\(\)` at line 2\)/ },
      ],
    },
    // Recursion in helpers does not loop forever.
    {
      code: `${header}function a(n: number): number { return n > 0 ? b(n - 1) : Math.random(); }\nfunction b(n: number): number { return a(n); }\nexport async function run(event: unknown, context: DurableContext) { a(3); }`,
      errors: [{ messageId: "helper" }],
    },
  ],
});
