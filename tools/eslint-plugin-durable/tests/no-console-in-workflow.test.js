import rule from "../lib/rules/no-console-in-workflow.js";
import { header, run } from "./rule-tester.js";

const workflow = (body) =>
  `${header}export async function run(event: unknown, context: DurableContext) {\n${body}\n}`;

run("no-console-in-workflow", rule, {
  valid: [
    workflow('context.logger.info("Fulfilling order", { orderId: "o-1" });'),
    // Inside a step it runs once per attempt.
    workflow('await context.step("charge", async () => { console.log("charging"); return 1; });'),
    // Not workflow code: deps.ts, demo.ts, a test's own output, module scope.
    'export function createDeps() { return { send: async () => { console.info("sent"); } }; }',
    'console.log("loaded");',
    // A retry strategy's decision is checkpointed with the attempt.
    workflow(
      'await context.step("s", f, { retryStrategy: (error, n) => { console.warn("retrying", n); return { shouldRetry: n < 3 }; } });',
    ),
    // A local variable called console is not the console.
    workflow("const console = { log: (..._args: unknown[]) => undefined };\nconsole.log(1);"),
  ],
  invalid: [
    {
      code: workflow('console.log("Fulfilling order");'),
      errors: [
        {
          message:
            "`console.log()` in workflow code runs again on every replay, so this line is written once per invocation, not once per execution, and the logs show events that did not happen again. Use `context.logger.info(...)`: it knows when the SDK is replaying and stays quiet then (inside a step, console or the step's logger is fine).",
          suggestions: [
            { messageId: "useLogger", output: workflow('context.logger.info("Fulfilling order");') },
          ],
        },
      ],
    },
    {
      code: workflow('console.error("failed", err);'),
      errors: [
        {
          messageId: "console",
          suggestions: [{ messageId: "useLogger", output: workflow('context.logger.error("failed", err);') }],
        },
      ],
    },
    {
      // The suggestion uses the name of the context in scope.
      code: `${header}export const handler = withDurableExecution(async (event, ctx) => { console.warn("x"); });`,
      errors: [
        {
          messageId: "console",
          suggestions: [
            {
              messageId: "useLogger",
              output: `${header}export const handler = withDurableExecution(async (event, ctx) => { ctx.logger.warn("x"); });`,
            },
          ],
        },
      ],
    },
    {
      // In a child context it logs with the child's logger.
      code: workflow(
        'await context.runInChildContext("ship", async (shipping) => { console.debug("shipping"); });',
      ),
      errors: [
        {
          messageId: "console",
          suggestions: [
            {
              messageId: "useLogger",
              output: workflow(
                'await context.runInChildContext("ship", async (shipping) => { shipping.logger.debug("shipping"); });',
              ),
            },
          ],
        },
      ],
    },
    {
      // No logger method for console.table: reported, no suggestion.
      code: workflow("console.table(items);"),
      errors: [{ messageId: "console", suggestions: [] }],
    },
    {
      // A plain callback in the workflow runs on every replay too.
      code: workflow("items.forEach((item) => console.info(item));"),
      errors: [
        {
          messageId: "console",
          suggestions: [
            {
              messageId: "useLogger",
              output: workflow("items.forEach((item) => context.logger.info(item));"),
            },
          ],
        },
      ],
    },
  ],
});
