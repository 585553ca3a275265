import { durableModel, findVariable, globalPath, isFunctionNode, propertyName } from "../durable-model.js";
import { timerName } from "./no-timer-in-workflow.js";
import { isDurablePromiseType, isThenableType, isUnknownType } from "../types.js";

const PROMISE_CHAIN = new Set(["then", "catch", "finally"]);
const ARRAY_CALLBACKS = new Set(["map", "flatMap", "forEach", "filter", "reduce", "some", "every", "find"]);
const GLOBAL_COMBINATORS = new Set(["all", "allSettled", "any", "race"]);

function unwrap(node) {
  let current = node;
  while (
    current &&
    (current.type === "TSAsExpression" ||
      current.type === "TSNonNullExpression" ||
      current.type === "TSSatisfiesExpression" ||
      current.type === "ChainExpression")
  ) {
    current = current.expression;
  }
  return current;
}

function calleeText(sourceCode, call) {
  const text = sourceCode.getText(call.callee);
  return `${text.length > 50 ? `${text.slice(0, 47)}...` : text}(...)`;
}

/**
 * The strong form of "calls to other systems only inside steps": in workflow code, every `await` awaits a durable
 * operation, or a function that receives the durable context (it runs durable operations of its own), or a helper in
 * the same file that itself only awaits those. Anything else is a call that is made again on every replay.
 */
export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow awaiting, in workflow code, anything but a durable operation or a function that receives the durable context",
    },
    schema: [],
    messages: {
      direct:
        '`await {{call}}` outside a step: it is not a durable operation and does not receive the durable context, so it is a call to another system (or a timer) that workflow code makes again on every replay, and its result is not checkpointed. Make the call in a step, so it runs once and its result comes back from the checkpoint on replay: `await {{context}}.step("descriptive-name", async () => {{callText}})`. If it runs durable operations, pass it the context.',
      helper:
        '`await {{call}}` outside a step: {{chain}}, which is not a durable operation, so workflow code makes that call again on every replay and its result is not checkpointed. Call it inside a step (`await {{context}}.step("descriptive-name", async () => {{callText}})`), or, if it runs durable operations, pass it the context and make the call in a step there.',
      global:
        "`await {{call}}` outside a step awaits the global Promise of calls that are not durable operations, so each of them is made again on every replay. Make each call in a step, and combine durable operations with `{{context}}.promise.{{method}}(...)` or `{{context}}.map(...)`.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    const types = model.types;
    const helperCache = new Map();

    function passesContext(call) {
      return call.arguments.some((argument) => {
        const value = unwrap(argument.type === "SpreadElement" ? argument.argument : argument);
        if (model.isContextValue(value)) return true;
        // `helper({ context, deps })`
        return (
          value?.type === "ObjectExpression" &&
          value.properties.some((p) => p.type === "Property" && model.isContextValue(unwrap(p.value)))
        );
      });
    }

    /**
     * `guard(context.step(...))`, `verdictOf(answer)` with `const answer = context.waitForCallback(...)`: a function
     * handed a durable operation's promise waits for durable work (what it does with the result is its own code).
     */
    function isDurableValue(value) {
      const node = unwrap(value);
      if (!node) return false;
      if (node.type === "CallExpression" && model.operation(node)) return true;
      if (types && isDurablePromiseType(types.typeOf(node))) return true;
      if (node.type === "Identifier") {
        const def = findVariable(sourceCode, node)?.defs[0];
        return (
          def?.type === "Variable" &&
          def.parent?.kind === "const" &&
          def.node.id === def.name &&
          unwrap(def.node.init)?.type === "CallExpression" &&
          Boolean(model.operation(unwrap(def.node.init)))
        );
      }
      return false;
    }

    function passesDurable(call) {
      return call.arguments.some((argument) => isDurableValue(argument));
    }

    /**
     * Does a global combinator's argument hold a call to another system: `[deps.a(), deps.b()]`,
     * `ids.map((id) => deps.load(id))`? An array built elsewhere is not judged (its elements are judged where made).
     */
    function combinedProblem(argument, seen) {
      const node = unwrap(argument);
      if (node?.type === "ArrayExpression") {
        return node.elements.some(
          (element) => element && element.type !== "SpreadElement" && judge(element, seen),
        );
      }
      if (node?.type === "CallExpression" && node.callee.type === "MemberExpression") {
        const callback = node.arguments[0];
        if (!ARRAY_CALLBACKS.has(propertyName(node.callee)) || !isFunctionNode(callback)) return false;
        if (callback.body.type !== "BlockStatement") return Boolean(judge(callback.body, seen));
        return returnedExpressions(callback).some((expression) => judge(expression, seen));
      }
      return false;
    }

    function returnedExpressions(fn) {
      const found = [];
      const visit = (node) => {
        if (!node || typeof node.type !== "string") return;
        if (node !== fn.body && isFunctionNode(node)) return;
        if (node.type === "ReturnStatement" && node.argument) found.push(node.argument);
        for (const key of sourceCode.visitorKeys[node.type] ?? []) {
          const child = node[key];
          if (Array.isArray(child)) child.forEach(visit);
          else visit(child);
        }
      };
      visit(fn.body);
      return found;
    }

    /** The function literal a callee names when it is declared in this file. */
    function localFunction(callee) {
      if (callee.type !== "Identifier") return undefined;
      const def = findVariable(sourceCode, callee)?.defs[0];
      if (def?.type === "FunctionName" && isFunctionNode(def.node)) return def.node;
      if (
        def?.type === "Variable" &&
        def.node.type === "VariableDeclarator" &&
        isFunctionNode(def.node.init)
      ) {
        return def.node.init;
      }
      return undefined;
    }

    /**
     * What is wrong with awaiting `expression`, or undefined if it is fine:
     * `{ kind: "direct" | "helper" | "global", call, chain? }`.
     */
    function judge(expression, seen = new Set()) {
      const node = unwrap(expression);
      if (!node || seen.has(node)) return undefined;
      seen.add(node);
      if (node.type === "ConditionalExpression") {
        return judge(node.consequent, seen) ?? judge(node.alternate, seen);
      }
      if (node.type === "LogicalExpression") return judge(node.left, seen) ?? judge(node.right, seen);
      if (types) {
        const type = types.typeOf(node);
        if (isDurablePromiseType(type)) return undefined;
        // Awaiting a plain value (`await parse(event)` of a function that is not async) waits for nothing.
        if (!isUnknownType(type) && !isThenableType(types.checker, type)) return undefined;
      }
      if (node.type === "Identifier") {
        // `const pending = context.step(...); ...; await pending;`
        const def = findVariable(sourceCode, node)?.defs[0];
        if (def?.type === "Variable" && def.parent?.kind === "const" && def.node.id === def.name) {
          return judge(def.node.init, seen);
        }
        return undefined;
      }
      if (node.type !== "CallExpression") return undefined;
      if (model.operation(node) || passesContext(node) || passesDurable(node)) return undefined;
      const callee = unwrap(node.callee);
      const method = callee.type === "MemberExpression" ? propertyName(callee) : undefined;
      // `await context.step(...).then((x) => x.id)`
      if (method && PROMISE_CHAIN.has(method)) return judge(callee.object, seen);
      if (timerName(sourceCode, callee)) return undefined; // no-timer-in-workflow's finding
      const path = globalPath(sourceCode, callee);
      if (path === "Promise.resolve" || path === "Promise.reject") return undefined;
      if (path?.startsWith("Promise.") && GLOBAL_COMBINATORS.has(method)) {
        // Judged element by element: durable operations in it are no-global-promise-combinator's finding;
        // a call to another system in it is this rule's.
        if (!combinedProblem(node.arguments[0], seen)) return undefined;
        return { kind: "global", call: calleeText(sourceCode, node), method };
      }
      const helper = localFunction(callee);
      if (helper) {
        if (model.isDurableFunction(helper)) return undefined;
        const inner = helperFinding(helper);
        if (!inner) return undefined;
        return {
          kind: "helper",
          call: calleeText(sourceCode, node),
          chain: [`\`${callee.name}()\``, ...inner.chain].join(" awaits "),
        };
      }
      return { kind: "direct", call: calleeText(sourceCode, node) };
    }

    /** The first awaited (or returned) call in a local helper that is not durable, following local helpers. */
    function helperFinding(fn) {
      if (helperCache.has(fn)) return helperCache.get(fn);
      helperCache.set(fn, undefined); // cycles
      let found;
      const consider = (expression) => {
        if (found || !expression) return;
        const problem = judge(expression);
        if (!problem) return;
        found = { chain: problem.chain ? [problem.chain] : [`\`${problem.call}\``] };
      };
      const visit = (node) => {
        if (found || !node || typeof node.type !== "string") return;
        if (node !== fn.body && isFunctionNode(node)) return; // a nested function runs when someone calls it
        if (node.type === "AwaitExpression") consider(node.argument);
        if (node.type === "ReturnStatement" && returnsCount) consider(node.argument);
        for (const key of sourceCode.visitorKeys[node.type] ?? []) {
          const child = node[key];
          if (Array.isArray(child)) child.forEach(visit);
          else visit(child);
        }
      };
      // What a helper returns is what the caller awaits. Without types, only a function that is not async is
      // known to hand back a promise (an async one may return a plain value: `return items.reduce(...)`).
      const returnsCount = Boolean(types) || !fn.async;
      if (fn.body.type !== "BlockStatement") {
        if (returnsCount) consider(fn.body);
      } else visit(fn.body);
      helperCache.set(fn, found);
      return found;
    }

    /**
     * Between the await and the durable function, only functions that run right there: array callbacks
     * (`items.map(async (item) => ...)`) and functions called on the spot. A function stored in a property or handed
     * to another function (`register({ find: async () => ... })`) runs where that code calls it, perhaps in a
     * step: it is judged at its call (a local helper is followed), not here.
     */
    function runsInPlace(node, workflow) {
      for (const fn of model.enclosingFunctions(node)) {
        if (fn === workflow) return true;
        const parent = fn.parent;
        if (parent.type === "CallExpression" && parent.callee === fn) continue; // (async () => ...)()
        if (
          parent.type === "CallExpression" &&
          parent.arguments.includes(fn) &&
          ARRAY_CALLBACKS.has(parent.callee.type === "MemberExpression" ? propertyName(parent.callee) : "")
        ) {
          continue;
        }
        return false;
      }
      return false;
    }

    return {
      AwaitExpression(node) {
        const place = model.placeOf(node);
        if (!place.workflow || !runsInPlace(node, place.workflow)) return;
        const problem = judge(node.argument);
        if (!problem) return;
        const contextName = model.contextParameterName(place.workflow) ?? "context";
        const argumentText = sourceCode.getText(unwrap(node.argument));
        context.report({
          node,
          messageId: problem.kind,
          data: {
            call: problem.call,
            chain: problem.chain ?? "",
            method: problem.method ?? "all",
            context: contextName,
            callText: argumentText.length <= 50 ? argumentText : problem.call,
          },
        });
      },
    };
  },
};
