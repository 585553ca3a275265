import { durableModel, findVariable } from "../durable-model.js";

const STEP_KIND = {
  step: "a step function",
  waitForCondition: "a waitForCondition check",
  waitForCallback: "a waitForCallback submitter",
};

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow durable operations inside a step, and operations on a parent context inside a child-context, map or parallel function",
    },
    schema: [],
    messages: {
      inStep:
        '`{{label}}(...)` is called inside {{where}} (`{{outer}}`). A step runs as one checkpointed unit with no durable operations inside it: the SDK fails the execution with "Context usage error", and even if it did not, the inner operation would be re-run or skipped depending on whether the step had finished. Make the operation after the step, using what the step returns, or group both in a child context: `await {{context}}.runInChildContext("descriptive-name", async (child) => { await child.step(...); await child.{{method}}(...); })`.',
      parentContext:
        '`{{label}}(...)` uses the parent context `{{context}}` inside `{{outer}}`. A child context numbers its own operations and a finished child is not re-entered on replay, so an operation on the parent from in here lands at a different position in the parent\'s history on replay; the SDK fails the execution with "Context usage error". Use the context the function receives: `{{child}}.{{method}}(...)`.',
      contextInStep:
        '`{{call}}` hands the durable context `{{context}}` to a function called inside {{where}} (`{{outer}}`). Any durable operation that function makes is an operation inside a step: the SDK fails the execution with "Context usage error". Call the function outside the step (it makes its own steps), or, if it needs no durable operations, do not pass it the context; to group its operations with the step, use a child context: `await {{context}}.runInChildContext("descriptive-name", async (child) => { ...; await helper(child); })`.',
      contextToHelper:
        '`{{call}}` hands the parent context `{{context}}` to a function inside `{{outer}}`. Its operations land in the parent\'s history at a different position on replay (a finished child is not re-entered); the SDK fails the execution with "Context usage error". Pass the context this function receives: `{{child}}`.',
      parentContextNoParameter:
        "`{{label}}(...)` uses the parent context `{{context}}` inside `{{outer}}`. A child context numbers its own operations and a finished child is not re-entered on replay, so an operation on the parent from in here lands at a different position in the parent's history on replay; the SDK fails the execution with \"Context usage error\". Take the child context as the function's first parameter and use it: `async (child) => child.{{method}}(...)`.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    /** `helper(context)` inside a step or a child function, with a context from outside it. */
    function checkContextArgument(node) {
      const argument = node.arguments.find((a) => model.isContextValue(a));
      if (!argument) return;
      const variable = argument.type === "Identifier" ? findVariable(sourceCode, argument) : undefined;
      const owner = variable?.defs[0]?.node;
      for (const fn of model.enclosingFunctions(node)) {
        if (fn === owner) return;
        const role = model.roleOf(fn);
        const data = {
          call: `${sourceCode.getText(node.callee)}(${sourceCode.getText(argument)})`,
          context: sourceCode.getText(argument),
          outer: role.operation ? `${role.operation.label}(...)` : "withDurableExecution(...)",
        };
        if (role.kind === "step") {
          context.report({
            node,
            messageId: "contextInStep",
            data: { ...data, where: STEP_KIND[role.operation.method] },
          });
          return;
        }
        if (role.kind === "child" || role.kind === "handler") {
          const child = model.contextParameterName(fn);
          if (child === data.context) return;
          context.report({ node, messageId: "contextToHelper", data: { ...data, child: child ?? "child" } });
          return;
        }
        if (!variable && model.isDurableFunction(fn)) return; // a typed context of this function's own
      }
    }

    return {
      CallExpression(node) {
        const operation = model.operation(node);
        if (!operation) {
          checkContextArgument(node);
          return;
        }
        const variable = findVariable(sourceCode, operation.context);
        const owner = variable.defs[0].node;
        for (const fn of model.enclosingFunctions(node)) {
          if (fn === owner) return;
          const role = model.roleOf(fn);
          const data = {
            label: operation.label,
            method: operation.method,
            context: operation.context.name,
            outer: role.operation ? `${role.operation.label}(...)` : "withDurableExecution(...)",
          };
          if (role.kind === "step") {
            context.report({
              node,
              messageId: "inStep",
              data: { ...data, where: STEP_KIND[role.operation.method] },
            });
            return;
          }
          if (role.kind === "child" || role.kind === "handler") {
            const child = model.contextParameterName(fn);
            if (child === operation.context.name) return;
            context.report({
              node,
              messageId: child ? "parentContext" : "parentContextNoParameter",
              data: { ...data, child: child ?? "child" },
            });
            return;
          }
        }
      },
    };
  },
};
