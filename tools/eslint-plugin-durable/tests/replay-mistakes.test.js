// A reviewer's file of ordinary replay mistakes, linted the way the cookbook lints a pattern (typescript-eslint's
// type-checked parser, the recommended config, no-floating-promises with the options the root config sets):
// every mistake is reported on its own line by the rule named next to it, and the correct version of the same
// workflow is clean.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import durable from "../index.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

// The options the root eslint.config.mjs sets.
function lint(code, floatingOptions = { checkThenables: true }) {
  const linter = new Linter({ configType: "flat", cwd: fixtures });
  const config = [
    {
      files: ["**/*.ts"],
      languageOptions: {
        parser: tseslint.parser,
        // Every case is linted as the same file with new contents. With CI=true typescript-eslint infers a single run
        // and never updates its program, so later cases would see the first case's types: keep it updating.
        parserOptions: {
          project: "./tsconfig.json",
          tsconfigRootDir: fixtures,
          disallowAutomaticSingleRunInference: true,
        },
      },
      plugins: { "@typescript-eslint": tseslint.plugin },
      rules: { "@typescript-eslint/no-floating-promises": ["error", floatingOptions] },
    },
    { files: ["**/*.ts"], ...durable.configs.recommended },
  ];
  return linter.verify(code, config, { filename: `${fixtures}file.ts` });
}

/** Lines of `code` ending in `// <rule>` and the rule named there. */
function expected(code) {
  return code.split("\n").flatMap((text, index) => {
    const rules = /\/\/ (durable\/.+)$/.exec(text)?.[1].split(", ") ?? [];
    return rules.map((rule) => ({ line: index + 1, rule }));
  });
}

const mistakes = `import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { setTimeout as sleep } from "node:timers/promises";
interface Deps { payments: { charge(cents: number): Promise<{ id: string }> }; audit(line: string): Promise<void> }
const now = Date.now;
async function ship(ctx: DurableContext, id: string) { return ctx.step("ship-" + id, async () => id); }
export async function run(event: { id: string; cents: number }, context: DurableContext, deps: Deps) {
  const charge = await deps.payments.charge(event.cents); // durable/no-non-durable-await
  const page = await globalThis.fetch("https://example.test/" + event.id); // durable/no-non-deterministic-outside-step, durable/no-non-durable-await
  await new Promise((resolve) => setTimeout(resolve, 1000)); // durable/no-timer-in-workflow
  await sleep(5); // durable/no-timer-in-workflow
  const first = await Promise.race([context.step("quote-a", async () => 1), context.step("quote-b", async () => 2)]); // durable/no-global-promise-combinator
  const startedAt = now(); // durable/no-non-deterministic-outside-step
  const { random } = Math;
  const roll = random(); // durable/no-non-deterministic-outside-step
  const stamp = globalThis.Date.now(); // durable/no-non-deterministic-outside-step
  const state = { items: [] as string[], paid: false };
  const totals: Record<string, number> = {};
  await context.step("collect", async () => {
    state.items.push(event.id); // durable/no-outer-mutation-in-step
    Object.assign(state, { paid: true }); // durable/no-outer-mutation-in-step
    delete totals.old; // durable/no-outer-mutation-in-step
    totals[event.id] = 1; // durable/no-outer-mutation-in-step
  });
  void context.step("send-receipt", async () => 1); // durable/no-floating-operation
  context.wait("pause", { seconds: 5 }); // durable/no-floating-operation
  await context.step("ship-all", async () => ship(context, event.id)); // durable/no-parent-context-operation
  return { charge, page, first, startedAt, roll, stamp };
}
export const handler = withDurableExecution(async (event: { id: string; cents: number }, context: DurableContext) => {
  console.log("start"); // durable/no-console-in-workflow
  return event.id;
});
`;

const correct = `import { createRetryStrategy, JitterStrategy, withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
interface Deps { payments: { charge(cents: number): Promise<{ id: string }> } }
const retryWithJitter = createRetryStrategy({ maxAttempts: 3, jitter: JitterStrategy.FULL });
const backoff = (error: Error, attempt: number) => ({ shouldRetry: attempt < 3, delay: { seconds: Math.ceil(Math.random() * 2 ** attempt) } });
async function ship(ctx: DurableContext, id: string) { return ctx.step("ship-" + id, async () => id); }
export async function run(event: { id: string; cents: number }, context: DurableContext, deps: Deps) {
  const charge = await context.step("charge", async () => deps.payments.charge(event.cents), { retryStrategy: retryWithJitter });
  const page = await context.step("fetch-page", async () => (await globalThis.fetch("https://example.test/" + event.id)).status, { retryStrategy: backoff });
  await context.wait("cool-down", { seconds: 1 });
  const first = await context.promise.race("first-quote", [context.step("quote-a", async () => 1), context.step("quote-b", async () => 2)]);
  const both = await context.promise.all("both-quotes", [context.step("quote-c", async () => 1), context.step("quote-d", async () => 2)]);
  const startedAt = await context.step("read-clock", async () => Date.now());
  const requestId = await context.step("new-request-id", async () => crypto.randomUUID());
  const items = await context.step("collect", async () => { const local: string[] = []; local.push(event.id); return local; });
  const receipt = context.step("send-receipt", async () => 1);
  await ship(context, event.id);
  await context.runInChildContext("ship-child", async (child) => ship(child, event.id));
  context.logger.info("done", { id: event.id });
  return { charge, page, first, both, startedAt, requestId, items, receipt: await receipt };
}
export const handler = withDurableExecution(async (event: { id: string; cents: number; deps: Deps }, context: DurableContext) => run(event, context, event.deps));
`;

describe("a file of replay mistakes, linted with types", () => {
  it("reports each mistake on its line, by the rule named there", () => {
    const messages = lint(mistakes).filter((m) => m.ruleId !== "@typescript-eslint/no-floating-promises");
    const fatal = messages.filter((m) => m.fatal);
    assert.deepEqual(fatal, []);
    const got = messages
      .map((m) => ({ line: m.line, rule: m.ruleId }))
      .sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
    assert.deepEqual(got, expected(mistakes));
  });

  it("no-floating-promises sees an un-awaited DurablePromise only with checkThenables (void: with ignoreVoid false)", () => {
    const floatingLines = (options) =>
      lint(mistakes, options)
        .filter((m) => m.ruleId === "@typescript-eslint/no-floating-promises")
        .map((m) => m.line);
    const voidLine = mistakes.split("\n").findIndex((l) => l.includes("void context.step")) + 1;
    assert.deepEqual(floatingLines({ checkThenables: true }), [voidLine + 1]);
    assert.deepEqual(floatingLines({ checkThenables: true, ignoreVoid: false }), [voidLine, voidLine + 1]);
    assert.deepEqual(floatingLines({}), []);
  });

  it("keeps the correct workflow clean: context helpers, context.promise.*, clock and ids in steps, jitter", () => {
    assert.deepEqual(
      lint(correct).map((m) => `${m.line}: ${m.ruleId}: ${m.message.slice(0, 80)}`),
      [],
    );
  });
});
