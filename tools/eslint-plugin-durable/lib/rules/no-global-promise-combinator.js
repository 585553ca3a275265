import { durableModel, findVariable, globalPath, propertyName } from "../durable-model.js";
import { isDurablePromiseType } from "../types.js";

const WHY = {
  race: "which one settles first is not checkpointed: on replay, operations that finished return from their checkpoints at once, so another one can win and the replay takes a different branch than the run it replays",
  any: "which one fulfils first is not checkpointed: on replay, operations that finished return from their checkpoints at once, so another one can win and the replay takes a different branch than the run it replays",
  all: "the combined outcome is not checkpointed: when one fails, Promise.all rejects while the others keep running with nothing waiting for them, and if several fail, which error surfaces can change between replays",
};

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow the global Promise.race, Promise.any and Promise.all around durable operations in workflow code: use context.promise.*",
    },
    schema: [],
    messages: {
      combinator:
        '`Promise.{{method}}(...)` around durable operations in workflow code: {{why}}. Use the durable form, which checkpoints the outcome: `await {{context}}.promise.{{method}}("descriptive-name", [...])` (or `{{context}}.map` / `{{context}}.parallel` for a list of work).',
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    const types = model.types;

    function isDurableValue(node) {
      if (!node) return false;
      if (node.type === "CallExpression") {
        if (model.operation(node)) return true;
        if (node.arguments.some((argument) => model.isContextValue(argument))) return true;
      }
      if (types && isDurablePromiseType(types.typeOf(node))) return true;
      if (node.type === "Identifier") {
        const def = findVariable(sourceCode, node)?.defs[0];
        if (def?.type === "Variable" && def.parent?.kind === "const" && def.node.id === def.name) {
          return def.node.init !== node && containsDurable(def.node.init);
        }
      }
      return false;
    }

    /** A durable operation (or a value typed DurablePromise) anywhere in the argument of the combinator. */
    function containsDurable(root) {
      let found = false;
      const visit = (node) => {
        if (found || !node || typeof node.type !== "string") return;
        if (isDurableValue(node)) {
          found = true;
          return;
        }
        for (const key of sourceCode.visitorKeys[node.type] ?? []) {
          const child = node[key];
          if (Array.isArray(child)) child.forEach(visit);
          else visit(child);
        }
      };
      visit(root);
      if (!found && types && root) {
        // An array of DurablePromise built elsewhere: `const pending: DurablePromise<T>[] = ...`.
        const type = types.typeOf(root);
        const element = type && types.checker.getIndexTypeOfType?.(type, 1); // IndexKind.Number
        if (element && isDurablePromiseType(element)) found = true;
      }
      return found;
    }

    return {
      CallExpression(node) {
        if (node.callee.type !== "MemberExpression") return;
        const method = propertyName(node.callee);
        if (!Object.hasOwn(WHY, method)) return;
        if (globalPath(sourceCode, node.callee) !== `Promise.${method}`) return;
        const place = model.placeOf(node);
        if (!place.workflow) return;
        if (!node.arguments.some(containsDurable)) return;
        context.report({
          node,
          messageId: "combinator",
          data: {
            method,
            why: WHY[method],
            context: model.contextParameterName(place.workflow) ?? "context",
          },
        });
      },
    };
  },
};
