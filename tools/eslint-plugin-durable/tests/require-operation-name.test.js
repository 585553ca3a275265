import { test } from "node:test";
import assert from "node:assert/strict";
import rule, { toKebabCase } from "../lib/rules/require-operation-name.js";
import { header, run } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

run("require-operation-name", rule, {
  valid: [
    workflow('await context.step("reserve-stock", async () => 1);'),
    workflow('await context.step("reserve-stock", reserve, { retryStrategy });'),
    workflow('await context.wait("wait-before-review-request", { days: 3 });'),
    workflow('await context.wait("wait-before-review-request", config.reviewRequestDelay);'),
    workflow(
      'await context.waitForCallback("wait-for-approval", async (id) => {}, { timeout: { hours: 1 } });',
    ),
    workflow('await context.waitForCondition("wait-until-shipped", check, { initialState, waitStrategy });'),
    workflow(
      'const [promise, id] = await context.createCallback("payment-confirmation", { timeout: { minutes: 5 } });',
    ),
    workflow('await context.runInChildContext("ship-order", async (child) => 1);'),
    workflow(
      'await context.map("charge-each-item", items, async (child, item) => 1, { maxConcurrency: 2 });',
    ),
    workflow('await context.parallel("check-vendors", [async (c) => 1]);'),
    workflow('await context.invoke("score-credit", "credit-scorer:live", { id: 1 });'),
    workflow('await context.invoke("score-credit", scorerFunctionId, input, {});'),
    workflow('await context.promise.all("both-quotes", [a, b]);'),
    // Dynamic names that carry a business key.
    workflow("await context.step(`charge-${order.id}`, async () => 1);"),
    workflow("await context.step(`turn-${turn}-call-model`, async () => 1);"),
    // A name from a variable cannot be judged here: it is accepted.
    workflow("await context.step(stepName, async () => 1);"),
    // Ambiguous overloads are not guessed.
    workflow("await context.invoke(functionId, payload);"),
    // Not a durable context: Array.prototype.map, another library's step.
    workflow("const doubled = items.map((x) => x * 2); wizard.step(() => 1);"),
    'import type { Context } from "aws-lambda";\nexport const h = async (e: unknown, context: Context) => context.wait(1000);',
  ],
  invalid: [
    {
      code: workflow("await context.step(async () => 1);"),
      errors: [
        {
          message:
            '`context.step(...)` has no name. Replay checks each operation\'s name against its checkpoint, and the name is how you find the operation in tests (`runner.getOperation("...")`), in logs and in the execution history. Give it a descriptive kebab-case name first: `context.step("reserve-stock", async () => ...)`.',
        },
      ],
    },
    { code: workflow("await context.step(reserve);"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.step(reserve, { retryStrategy });"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.step(undefined, async () => 1);"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.wait({ seconds: 5 });"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.wait(config.delay);"), errors: [{ messageId: "missing" }] },
    {
      code: workflow("await context.waitForCallback(async (id) => {});"),
      errors: [{ messageId: "missing" }],
    },
    {
      code: workflow("await context.waitForCondition(check, { initialState, waitStrategy });"),
      errors: [{ messageId: "missing" }],
    },
    { code: workflow("await context.createCallback();"), errors: [{ messageId: "missing" }] },
    {
      code: workflow("await context.createCallback({ timeout: { minutes: 1 } });"),
      errors: [{ messageId: "missing" }],
    },
    {
      code: workflow("await context.runInChildContext(async (child) => 1);"),
      errors: [{ messageId: "missing" }],
    },
    {
      code: workflow("await context.map(items, async (child, item) => 1);"),
      errors: [{ messageId: "missing" }],
    },
    { code: workflow("await context.parallel([async (c) => 1]);"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.parallel(branches);"), errors: [{ messageId: "missing" }] },
    {
      code: workflow('await context.invoke("credit-scorer:live", { id: 1 });'),
      errors: [{ messageId: "missing" }],
    },
    { code: workflow("await context.invoke(functionId);"), errors: [{ messageId: "missing" }] },
    { code: workflow("await context.promise.all([a, b]);"), errors: [{ messageId: "missing" }] },
    { code: workflow('await context.step("", async () => 1);'), errors: [{ messageId: "empty" }] },
    { code: workflow('await context.wait("  ", { seconds: 1 });'), errors: [{ messageId: "empty" }] },
    {
      code: workflow('await context.step("reserveStock", async () => 1);'),
      errors: [
        {
          message:
            'Operation name "reserveStock" is not kebab-case: use lower-case words joined by dashes, like "reserve-stock". Rename before the first deploy: once executions are in flight, renaming an operation breaks their replay (ship a rename as a new version).',
          suggestions: [
            {
              messageId: "useKebab",
              output: workflow('await context.step("reserve-stock", async () => 1);'),
            },
          ],
        },
      ],
    },
    {
      code: workflow('await context.wait("Wait for review", { days: 3 });'),
      errors: [
        {
          messageId: "notKebab",
          suggestions: [
            {
              messageId: "useKebab",
              output: workflow('await context.wait("wait-for-review", { days: 3 });'),
            },
          ],
        },
      ],
    },
    {
      code: workflow("await context.step('charge_payment', async () => 1);"),
      errors: [
        {
          messageId: "notKebab",
          suggestions: [
            {
              messageId: "useKebab",
              output: workflow('await context.step("charge-payment", async () => 1);'),
            },
          ],
        },
      ],
    },
    {
      code: workflow('await context.step("!!!", async () => 1);'),
      errors: [{ messageId: "notKebab", suggestions: [] }],
    },
    {
      code: workflow("await context.step(`Charge_${order.id}`, async () => 1);"),
      errors: [{ messageId: "templateNotKebab" }],
    },
    {
      code: workflow("await context.step(`${order.id}`, async () => 1);"),
      errors: [{ messageId: "notDescriptive" }],
    },
    {
      code: workflow("await context.step(`${a}-${b}`, async () => 1);"),
      errors: [{ messageId: "notDescriptive" }],
    },
    // Inside a child context, on the child's context.
    {
      code: workflow('await context.runInChildContext("ship", async (child) => child.step(async () => 1));'),
      errors: [{ message: /`child.step\(...\)` has no name/ }],
    },
  ],
});

test("toKebabCase turns camelCase, spaces, underscores and acronyms into kebab-case", () => {
  assert.equal(toKebabCase("reserveStock"), "reserve-stock");
  assert.equal(toKebabCase("Wait for review"), "wait-for-review");
  assert.equal(toKebabCase("charge_payment"), "charge-payment");
  assert.equal(toKebabCase("sendHTTPRequest"), "send-http-request");
  assert.equal(toKebabCase("--x--"), "x");
});
