import { durableModel } from "../durable-model.js";

/**
 * The syntax-only form of typescript-eslint's no-floating-promises for durable operations (with type information,
 * no-floating-promises with `checkThenables: true` and `ignoreVoid: false` reports them too, and more).
 */
export default {
  meta: {
    type: "problem",
    docs: {
      description: "Disallow a durable operation that is neither awaited nor kept (a statement, or `void`)",
    },
    schema: [],
    messages: {
      floating:
        "`{{label}}(...)` is {{how}}. The operation still starts (a step started this way runs), but nothing waits for it: its failure goes unnoticed, the handler can return while it is still running, and code after it does not see its result. Await it (`await {{label}}(...)`), or keep the promise and combine it with `{{context}}.promise.all(...)`.",
    },
  },
  create(context) {
    const model = durableModel(context);
    return {
      CallExpression(node) {
        const operation = model.operation(node);
        if (!operation) return;
        const parent = node.parent;
        let how;
        if (parent.type === "ExpressionStatement") how = "a statement of its own, not awaited";
        else if (parent.type === "UnaryExpression" && parent.operator === "void")
          how = "discarded with `void`";
        if (!how) return;
        context.report({
          node,
          messageId: "floating",
          data: { label: operation.label, how, context: operation.context.name },
        });
      },
    };
  },
};
