import { durableModel, findVariable, globalPath } from "../durable-model.js";

const TIMERS = new Set(["setTimeout", "setInterval", "setImmediate"]);
const TIMER_MODULES = new Set(["timers", "node:timers", "timers/promises", "node:timers/promises"]);

/** `setTimeout` and friends, as globals (`setTimeout`, `globalThis.setTimeout`, an alias) or imported from timers. */
export function timerName(sourceCode, callee) {
  const path = globalPath(sourceCode, callee);
  if (path && TIMERS.has(path)) return path;
  // import { setTimeout as sleep } from "node:timers/promises"; import timers from "node:timers"
  const root = callee.type === "MemberExpression" ? callee.object : callee;
  if (root.type !== "Identifier") return undefined;
  const def = findVariable(sourceCode, root)?.defs[0];
  if (def?.type !== "ImportBinding" || !TIMER_MODULES.has(def.parent.source.value)) return undefined;
  if (callee.type === "MemberExpression") {
    const name = callee.property.type === "Identifier" ? callee.property.name : undefined;
    return TIMERS.has(name) ? `${def.parent.source.value} ${name}` : undefined;
  }
  const imported = def.node.type === "ImportSpecifier" ? def.node.imported.name : undefined;
  return TIMERS.has(imported) ? `${def.parent.source.value} ${imported}` : undefined;
}

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow setTimeout, setInterval and setImmediate in workflow code: wait with a durable wait",
    },
    schema: [],
    messages: {
      timer:
        '`{{name}}` in workflow code: a timer lives in this invocation\'s memory only. The function is suspended (and its memory gone) while a durable execution waits, and the handler runs again from the top on every replay, so the timer is started again each time and never fires across invocations. Wait with a durable wait instead: `await {{context}}.wait("descriptive-name", { seconds: 30 })`, or give `waitForCallback` / `waitForCondition` a `timeout`.',
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    return {
      CallExpression(node) {
        const name = timerName(sourceCode, node.callee);
        if (!name) return;
        const place = model.placeOf(node);
        if (!place.workflow) return;
        context.report({
          node,
          messageId: "timer",
          data: { name, context: model.contextParameterName(place.workflow) ?? "context" },
        });
      },
    };
  },
};
