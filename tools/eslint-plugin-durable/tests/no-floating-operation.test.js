import rule from "../lib/rules/no-floating-operation.js";
import { header, run } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

run("no-floating-operation", rule, {
  valid: [
    workflow('await context.step("a", async () => 1);'),
    workflow(
      'const pending = context.step("a", async () => 1);\nawait context.promise.all("both", [pending]);',
    ),
    workflow('return context.step("a", async () => 1);'),
    // Not a durable context.
    'export async function f(wizard: Wizard) { wizard.step("next", () => 1); }',
  ],
  invalid: [
    {
      code: workflow('context.step("send-receipt", async () => 1);'),
      errors: [{ line: 3, message: /a statement of its own/ }],
    },
    {
      code: workflow('void context.wait("pause", { seconds: 1 });'),
      errors: [{ line: 3, message: /discarded with `void`/ }],
    },
    {
      code: workflow(
        'await context.runInChildContext("c", async (child) => {\n  child.step("s", async () => 1);\n});',
      ),
      errors: [{ messageId: "floating", line: 4 }],
    },
  ],
});
