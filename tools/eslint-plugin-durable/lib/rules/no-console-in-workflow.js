import { durableModel, isGlobal, propertyName } from "../durable-model.js";

/** The context.logger method that replaces each console method. */
const LOGGER_METHOD = {
  log: "info",
  info: "info",
  warn: "warn",
  error: "error",
  debug: "debug",
  trace: "debug",
};

export default {
  meta: {
    type: "problem",
    hasSuggestions: true,
    docs: {
      description: "Disallow console.* in workflow code outside steps: use the replay-aware context.logger",
    },
    schema: [],
    messages: {
      console:
        "`console.{{method}}()` in workflow code runs again on every replay, so this line is written once per invocation, not once per execution, and the logs show events that did not happen again. Use `{{logger}}.{{loggerMethod}}(...)`: it knows when the SDK is replaying and stays quiet then (inside a step, console or the step's logger is fine).",
      useLogger: "Replace with `{{logger}}.{{loggerMethod}}(...)`.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type !== "MemberExpression" || callee.object.type !== "Identifier") return;
        if (callee.object.name !== "console" || !isGlobal(sourceCode, node, "console")) return;
        const place = model.placeOf(node);
        if (!place.workflow) return;
        const method = propertyName(callee) ?? "log";
        const contextName = model.contextParameterName(place.workflow);
        const loggerMethod = LOGGER_METHOD[method] ?? "info";
        const logger = `${contextName ?? "context"}.logger`;
        context.report({
          node,
          messageId: "console",
          data: { method, logger, loggerMethod },
          suggest:
            contextName && LOGGER_METHOD[method]
              ? [
                  {
                    messageId: "useLogger",
                    data: { logger, loggerMethod },
                    fix: (fixer) => fixer.replaceText(callee, `${logger}.${loggerMethod}`),
                  },
                ]
              : [],
        });
      },
    };
  },
};
