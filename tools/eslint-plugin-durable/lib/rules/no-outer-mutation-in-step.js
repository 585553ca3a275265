import { durableModel, findVariable, globalPath, isFunctionNode, propertyName } from "../durable-model.js";
import { isBuiltinCollectionType, isUnknownType } from "../types.js";

/** Calls that change their first argument in place. */
const MUTATING_FUNCTIONS = new Set([
  "Object.assign",
  "Object.defineProperty",
  "Object.defineProperties",
  "Object.setPrototypeOf",
  "Reflect.set",
  "Reflect.deleteProperty",
  "Reflect.defineProperty",
]);

const MUTATING_METHODS = new Set([
  "push",
  "pop",
  "shift",
  "unshift",
  "splice",
  "sort",
  "reverse",
  "fill",
  "copyWithin",
  "set",
  "add",
  "delete",
  "clear",
]);

const WHERE = {
  step: "step function",
  waitForCondition: "waitForCondition check",
  waitForCallback: "waitForCallback submitter",
  runInChildContext: "child context function",
  map: "map item function",
  parallel: "parallel branch",
  withRetry: "withRetry block",
};

/** The identifiers a write target binds: `x`, `x.a.b`, `x[i]`, `[x, y]`, `{ a: x }`. */
function writtenIdentifiers(target) {
  switch (target?.type) {
    case "Identifier":
      return [target];
    case "MemberExpression": {
      let object = target.object;
      while (object.type === "MemberExpression") object = object.object;
      return object.type === "Identifier" ? [object] : [];
    }
    case "ArrayPattern":
      return target.elements.flatMap(writtenIdentifiers);
    case "ObjectPattern":
      return target.properties.flatMap((property) =>
        writtenIdentifiers(property.type === "RestElement" ? property.argument : property.value),
      );
    case "AssignmentPattern":
      return writtenIdentifiers(target.left);
    case "RestElement":
      return writtenIdentifiers(target.argument);
    case "TSNonNullExpression":
    case "TSAsExpression":
      return writtenIdentifiers(target.expression);
    default:
      return [];
  }
}

function contains(outer, inner) {
  return outer.range[0] <= inner.range[0] && inner.range[1] <= outer.range[1];
}

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow assigning to or mutating variables declared outside a step (or child-context) function from inside it",
    },
    schema: [
      {
        type: "object",
        properties: {
          variables: {
            enum: ["all", "workflow"],
            description:
              '"all" (default): any variable declared outside the function. "workflow": only variables declared in workflow code (a durable function), so a test can count step runs in a variable of its own.',
          },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      step: '`{{name}}` is declared outside this {{where}} and {{how}} inside it. On replay the step does not run again (its checkpointed result is returned instead), so in every later invocation `{{name}}` keeps the value it had before the step, and code after the step sees the wrong value. Return the value from the step instead: `const {{name}} = await context.step("descriptive-name", async () => ...)`.',
      child:
        "`{{name}}` is declared outside this {{where}} and {{how}} inside it. A finished child context is not re-entered on replay (its checkpointed result is returned instead), so in every later invocation `{{name}}` keeps the value it had before, and code after it sees the wrong value. Return the value from the function and use the result of the operation instead.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    const types = model.types;
    const onlyWorkflowVariables = context.options[0]?.variables === "workflow";

    function check(node, identifiers, how) {
      for (const identifier of identifiers) {
        const variable = findVariable(sourceCode, identifier);
        if (!variable || variable.defs.length === 0) continue; // a global: not ours to judge
        const declaredIn = variable.scope.block;
        for (const fn of model.enclosingFunctions(node)) {
          if (contains(fn, declaredIn)) break; // declared inside this function (or a parameter of it)
          const role = model.roleOf(fn);
          if (role.kind !== "step" && role.kind !== "child") continue;
          if (onlyWorkflowVariables && !declaredInWorkflow(declaredIn)) break;
          context.report({
            node,
            messageId: role.kind,
            data: { name: identifier.name, where: WHERE[role.operation.method] ?? "function", how },
          });
          return;
        }
      }
    }

    function declaredInWorkflow(block) {
      const functions = [block, ...sourceCode.getAncestors(block)].filter(isFunctionNode);
      return functions.some((fn) => model.isDurableFunction(fn));
    }

    return {
      AssignmentExpression(node) {
        check(
          node,
          writtenIdentifiers(node.left),
          node.left.type === "MemberExpression" ? "changed" : "assigned",
        );
      },
      UpdateExpression(node) {
        check(node, writtenIdentifiers(node.argument), `changed with \`${node.operator}\``);
      },
      UnaryExpression(node) {
        if (node.operator !== "delete" || node.argument.type !== "MemberExpression") return;
        check(node, writtenIdentifiers(node.argument), "changed with `delete`");
      },
      CallExpression(node) {
        const path = globalPath(sourceCode, node.callee);
        if (path && MUTATING_FUNCTIONS.has(path) && node.arguments[0]) {
          check(node, writtenIdentifiers(node.arguments[0]), `changed with \`${path}()\``);
          return;
        }
        const method = propertyName(node.callee);
        if (!MUTATING_METHODS.has(method)) return;
        const receiver = node.callee.object;
        if (receiver.type === "Identifier") {
          check(node, [receiver], `changed with \`.${method}()\``);
          return;
        }
        // `state.items.push(...)`: local state reached through a member chain. A chain on a parameter or an
        // import (`deps.store.set(...)`) is a service the step calls, not state of the workflow.
        const [root] = writtenIdentifiers(receiver);
        if (!root || receiver.type !== "MemberExpression") return;
        const def = findVariable(sourceCode, root)?.defs[0];
        if (def?.type !== "Variable") return;
        if (types) {
          // With types, only a built-in Array, Map or Set is local state; a class of your own is a service.
          const type = types.typeOf(receiver);
          if (!isUnknownType(type) && !isBuiltinCollectionType(types.checker, type)) return;
        }
        check(node, [root], `changed with \`${sourceCode.getText(receiver)}.${method}()\``);
      },
    };
  },
};
