import { readFileSync } from "node:fs";
import noConsoleInWorkflow from "./lib/rules/no-console-in-workflow.js";
import noFloatingOperation from "./lib/rules/no-floating-operation.js";
import noGlobalPromiseCombinator from "./lib/rules/no-global-promise-combinator.js";
import noNonDurableAwait from "./lib/rules/no-non-durable-await.js";
import noTimerInWorkflow from "./lib/rules/no-timer-in-workflow.js";
import noNonDeterministicOutsideStep from "./lib/rules/no-non-deterministic-outside-step.js";
import noOperationByIndex from "./lib/rules/no-operation-by-index.js";
import noOuterMutationInStep from "./lib/rules/no-outer-mutation-in-step.js";
import noParentContextOperation from "./lib/rules/no-parent-context-operation.js";
import requireOperationName from "./lib/rules/require-operation-name.js";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

/**
 * ESLint rules for the replay model of AWS Lambda durable functions (flat config, ESLint 9 and 10).
 *
 *   import durable from "@durable-cookbook/eslint-plugin-durable";
 *   export default [
 *     { files: ["src/**\/*.ts"], ...durable.configs.recommended },
 *     { files: ["test/**\/*.ts"], ...durable.configs.tests },
 *   ];
 */
const plugin = {
  meta: { name: pkg.name, version: pkg.version, namespace: "durable" },
  rules: {
    "no-non-deterministic-outside-step": noNonDeterministicOutsideStep,
    "no-parent-context-operation": noParentContextOperation,
    "no-outer-mutation-in-step": noOuterMutationInStep,
    "no-console-in-workflow": noConsoleInWorkflow,
    "require-operation-name": requireOperationName,
    "no-operation-by-index": noOperationByIndex,
    "no-non-durable-await": noNonDurableAwait,
    "no-timer-in-workflow": noTimerInWorkflow,
    "no-global-promise-combinator": noGlobalPromiseCombinator,
    "no-floating-operation": noFloatingOperation,
  },
  configs: {},
};

const workflowRules = {
  "durable/no-non-deterministic-outside-step": "error",
  "durable/no-parent-context-operation": "error",
  "durable/no-outer-mutation-in-step": "error",
  "durable/no-console-in-workflow": "error",
  "durable/require-operation-name": "error",
  "durable/no-non-durable-await": "error",
  "durable/no-timer-in-workflow": "error",
  "durable/no-global-promise-combinator": "error",
  "durable/no-floating-operation": "error",
};

plugin.configs.recommended = {
  name: "durable/recommended",
  plugins: { durable: plugin },
  rules: workflowRules,
};

/**
 * For test files: the same rules on the handlers tests write, plus selection by name. A test may count how often a
 * step body runs in a variable of its own, so outer mutations are only reported for variables of workflow code.
 */
plugin.configs.tests = {
  name: "durable/tests",
  plugins: { durable: plugin },
  rules: {
    ...workflowRules,
    "durable/no-outer-mutation-in-step": ["error", { variables: "workflow" }],
    "durable/no-operation-by-index": "error",
  },
};

export default plugin;
