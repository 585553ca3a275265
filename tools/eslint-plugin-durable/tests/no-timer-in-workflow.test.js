import rule from "../lib/rules/no-timer-in-workflow.js";
import { header, run } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

run("no-timer-in-workflow", rule, {
  valid: [
    // The durable forms.
    workflow('await context.wait("cool-down", { seconds: 30 });'),
    // Inside a step a timer is part of one attempt (a poll interval of a client, a short pause).
    workflow(
      'await context.step("poll", async () => { await new Promise((r) => setTimeout(r, 10)); return 1; });',
    ),
    // Outside workflow code: a demo's sleep, a fake's delay.
    "const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));\nexport async function main() { await sleep(5); }",
    // A local function that happens to be called setTimeout is not the timer.
    workflow("const setTimeout = (f: () => void) => f();\nsetTimeout(() => undefined);"),
  ],
  invalid: [
    {
      code: workflow("await new Promise((resolve) => setTimeout(resolve, 5000));"),
      errors: [{ messageId: "timer", line: 3 }],
    },
    {
      code: workflow('const poll = setInterval(() => context.logger.info("tick"), 1000);'),
      errors: [{ line: 3, message: /`setInterval` in workflow code/ }],
    },
    {
      code: workflow("globalThis.setTimeout(() => undefined, 10);"),
      errors: [{ messageId: "timer", line: 3 }],
    },
    {
      code: `${header}import { setTimeout as sleep } from "node:timers/promises";\nexport async function run(event: unknown, context: DurableContext) {\n  await sleep(1000);\n}`,
      errors: [{ line: 4, message: /`node:timers\/promises setTimeout`/ }],
    },
    {
      // In a child context function too.
      code: workflow(
        'await context.runInChildContext("c", async (child) => {\n  setImmediate(() => undefined);\n});',
      ),
      errors: [{ line: 4, message: /await child\.wait\(/ }],
    },
  ],
});
