/**
 * What the rules know about durable code, found from the syntax alone (no type information needed):
 *
 * - A durable context is a function parameter that is
 *     - annotated `DurableContext` (or `DurableContext<Logger>`, `sdk.DurableContext`), or
 *     - unannotated, in a position where the SDK passes a context: the second parameter of the handler given to
 *       `withDurableExecution`, the first parameter of a `runInChildContext` / `map` / `parallel` branch /
 *       `withRetry` function.
 *   A parameter annotated with another type (the Lambda `Context`, `StepContext`) is never a durable context.
 * - A durable operation is `<context>.step|wait|waitForCallback|waitForCondition|createCallback|runInChildContext|
 *   map|parallel|invoke(...)` or `<context>.promise.all|allSettled|any|race(...)` on such a context.
 * - The role of a function literal comes from where it is passed:
 *     "step"     the function of step, the check of waitForCondition, the submitter of waitForCallback:
 *                it runs once per attempt and its result is checkpointed;
 *     "child"    the function of runInChildContext, map, a parallel branch, withRetry: workflow code with its own context;
 *     "handler"  the function given to withDurableExecution: workflow code;
 *     "strategy" a `retryStrategy` / `waitStrategy` property: its decision is checkpointed with the attempt;
 *     "plain"    anything else.
 * - Workflow code is code whose nearest enclosing function with a role (other than "plain") is a durable function
 *   ("child", "handler", or any function with a durable-context parameter). Code inside a "step" or "strategy"
 *   function, and code that no durable function encloses (module scope, deps.ts, demo.ts), is not workflow code.
 */

import { isDurableContextType, typeServices } from "./types.js";

export const OPERATION_METHODS = new Set([
  "step",
  "wait",
  "waitForCallback",
  "waitForCondition",
  "createCallback",
  "runInChildContext",
  "map",
  "parallel",
  "invoke",
]);
export const COMBINATOR_METHODS = new Set(["all", "allSettled", "any", "race"]);
const STEP_METHODS = new Set(["step", "waitForCondition", "waitForCallback"]);
const CHILD_METHODS = new Set(["runInChildContext", "map"]);
const STRATEGY_KEYS = new Set(["retryStrategy", "waitStrategy"]);

export function isFunctionNode(node) {
  return (
    node != null &&
    (node.type === "ArrowFunctionExpression" ||
      node.type === "FunctionExpression" ||
      node.type === "FunctionDeclaration")
  );
}

function propertyName(member) {
  if (member.type !== "MemberExpression") return undefined;
  if (!member.computed && member.property.type === "Identifier") return member.property.name;
  if (member.computed && member.property.type === "Literal" && typeof member.property.value === "string") {
    return member.property.value;
  }
  return undefined;
}

/** The static key of an object property (`func: ...`, `"func": ...`), if it has one. */
function keyName(property) {
  if (property.computed) return undefined;
  if (property.key.type === "Identifier") return property.key.name;
  if (property.key.type === "Literal") return String(property.key.value);
  return undefined;
}

/** The variable an identifier refers to, looked up from the scope of `node`. */
export function findVariable(sourceCode, node, name = node.name) {
  let scope = sourceCode.getScope(node);
  while (scope) {
    const variable = scope.set.get(name);
    if (variable) return variable;
    scope = scope.upper;
  }
  return undefined;
}

/** True if `name` at `node` is the global (not shadowed by a declaration, parameter or import). */
export function isGlobal(sourceCode, node, name) {
  const variable = findVariable(sourceCode, node, name);
  return !variable || variable.defs.length === 0;
}

function isDurableContextAnnotation(annotation) {
  const type = annotation?.typeAnnotation;
  if (!type || type.type !== "TSTypeReference") return false;
  const typeName = type.typeName;
  if (typeName.type === "Identifier") return typeName.name === "DurableContext";
  if (typeName.type === "TSQualifiedName") return typeName.right.name === "DurableContext";
  return false;
}

/** The identifier a parameter binds, if it binds a single name (`ctx`, `ctx: T`, `ctx = x`). */
function parameterIdentifier(param) {
  if (param.type === "Identifier") return param;
  if (param.type === "AssignmentPattern" && param.left.type === "Identifier") return param.left;
  if (param.type === "TSParameterProperty") return parameterIdentifier(param.parameter);
  return undefined;
}

export class DurableModel {
  constructor(sourceCode, types) {
    this.sourceCode = sourceCode;
    this.types = types;
    this.roles = new WeakMap();
  }

  /** Is this parameter identifier of `fn` (at `index`) a durable context? */
  isContextParameter(fn, index) {
    const id = parameterIdentifier(fn.params[index] ?? {});
    if (!id) return false;
    if (id.typeAnnotation) {
      if (isDurableContextAnnotation(id.typeAnnotation)) return true;
      // With type information, an alias of DurableContext (`type Ctx = DurableContext`) counts too.
      return this.types ? isDurableContextType(this.types.typeOf(id)) : false;
    }
    const role = this.roleOf(fn);
    return (role.kind === "child" && index === 0) || (role.kind === "handler" && index === 1);
  }

  /** The name of the durable-context parameter of `fn`, if it has one. */
  contextParameterName(fn) {
    for (let index = 0; index < fn.params.length; index += 1) {
      if (this.isContextParameter(fn, index)) return parameterIdentifier(fn.params[index]).name;
    }
    return undefined;
  }

  isContextVariable(variable) {
    const def = variable?.defs[0];
    if (!def || def.type !== "Parameter" || !isFunctionNode(def.node)) return false;
    const fn = def.node;
    const index = fn.params.findIndex((param) => parameterIdentifier(param) === def.name);
    return index >= 0 && this.isContextParameter(fn, index);
  }

  /** The context variable `node` refers to, or undefined if it is not a durable context. */
  contextVariable(node) {
    if (node?.type !== "Identifier") return undefined;
    const variable = findVariable(this.sourceCode, node);
    return this.isContextVariable(variable) ? variable : undefined;
  }

  /**
   * Is the expression a durable context: a context variable (syntax), or, with type information, any expression
   * whose type is `DurableContext` (`this.ctx`, `deps.context`).
   */
  isContextValue(node) {
    if (!node) return false;
    if (this.contextVariable(node)) return true;
    return this.types ? isDurableContextType(this.types.typeOf(node)) : false;
  }

  /**
   * If `call` is a durable operation, `{ context, method, label }`: `context` is the receiver identifier,
   * `method` is e.g. "step" or "promise.all", `label` is e.g. "context.step".
   */
  operation(call) {
    if (call?.type !== "CallExpression" || call.callee.type !== "MemberExpression") return undefined;
    const name = propertyName(call.callee);
    const receiver = call.callee.object;
    if (OPERATION_METHODS.has(name) && this.contextVariable(receiver)) {
      return { context: receiver, method: name, label: `${receiver.name}.${name}` };
    }
    if (
      COMBINATOR_METHODS.has(name) &&
      receiver.type === "MemberExpression" &&
      propertyName(receiver) === "promise" &&
      this.contextVariable(receiver.object)
    ) {
      return {
        context: receiver.object,
        method: `promise.${name}`,
        label: `${receiver.object.name}.promise.${name}`,
      };
    }
    return undefined;
  }

  /** Where a function literal is passed decides what the SDK does with it. See the file comment. */
  roleOf(fn) {
    let role = this.roles.get(fn);
    if (!role) {
      this.roles.set(fn, { kind: "plain" }); // guards against cycles while the role is computed
      role = this.computeRole(fn);
      this.roles.set(fn, role);
    }
    return role;
  }

  computeRole(fn) {
    const parent = fn.parent;
    if (!parent) return { kind: "plain" };
    if (parent.type === "CallExpression" && parent.arguments.includes(fn)) {
      const firstFunction = parent.arguments.find(isFunctionNode);
      const operation = this.operation(parent);
      if (operation && firstFunction === fn) {
        if (STEP_METHODS.has(operation.method)) return { kind: "step", operation };
        if (CHILD_METHODS.has(operation.method)) return { kind: "child", operation };
      }
      const callee =
        parent.callee.type === "MemberExpression" ? propertyName(parent.callee) : parent.callee.name;
      if (callee === "withDurableExecution" && parent.arguments[0] === fn) return { kind: "handler" };
      if (callee === "withRetry" && firstFunction === fn) {
        return { kind: "child", operation: { method: "withRetry", label: "withRetry" } };
      }
      // A helper in this file that hands the function on to an operation:
      // `bestEffort(context, "record", () => write(Date.now()))` where bestEffort does `context.step(name, work)`.
      const forwarded = this.forwardedRole(parent, parent.arguments.indexOf(fn));
      if (forwarded) return forwarded;
    }
    // context.parallel([async (child) => ..., { name, func: async (child) => ... }])
    let branchList = parent;
    if (parent.type === "Property" && parent.value === fn && keyName(parent) === "func") {
      branchList = parent.parent?.parent;
    }
    if (branchList?.type === "ArrayExpression" && branchList.parent?.type === "CallExpression") {
      const operation = this.operation(branchList.parent);
      if (operation?.method === "parallel" && branchList.parent.arguments.includes(branchList)) {
        return { kind: "child", operation };
      }
    }
    if (parent.type === "Property" && parent.value === fn && STRATEGY_KEYS.has(keyName(parent))) {
      return { kind: "strategy" };
    }
    return { kind: "plain" };
  }

  /**
   * The role a function argument gets from a local helper (declared in this file) that passes its parameter at
   * `index` straight to a durable operation: a step's function, a child context's function.
   */
  forwardedRole(call, index) {
    if (call.callee.type !== "Identifier" || index < 0) return undefined;
    const def = findVariable(this.sourceCode, call.callee)?.defs[0];
    let helper;
    if (def?.type === "FunctionName" && isFunctionNode(def.node)) helper = def.node;
    else if (def?.type === "Variable" && isFunctionNode(def.node.init)) helper = def.node.init;
    const param = helper && parameterIdentifier(helper.params[index] ?? {});
    if (!param) return undefined;
    const variable = findVariable(this.sourceCode, param);
    for (const reference of variable?.references ?? []) {
      const use = reference.identifier;
      const operation = use.parent?.type === "CallExpression" ? this.operation(use.parent) : undefined;
      if (!operation || !use.parent.arguments.includes(use)) continue;
      if (STEP_METHODS.has(operation.method)) return { kind: "step", operation, via: call.callee.name };
      if (CHILD_METHODS.has(operation.method)) return { kind: "child", operation, via: call.callee.name };
    }
    return undefined;
  }

  /** A function whose body is workflow code: it receives a durable context, or the SDK runs it as one. */
  isDurableFunction(fn) {
    const role = this.roleOf(fn);
    if (role.kind === "child" || role.kind === "handler") return true;
    if (role.kind === "step" || role.kind === "strategy") return false;
    return fn.params.some((_, index) => this.isContextParameter(fn, index));
  }

  /**
   * Where `node` runs: `{ workflow: fn }` inside workflow code (fn = the durable function),
   * `{ step: fn }` inside a step-like or strategy function, `{}` elsewhere.
   */
  placeOf(node) {
    const ancestors = this.sourceCode.getAncestors(node);
    for (let i = ancestors.length - 1; i >= 0; i -= 1) {
      const fn = ancestors[i];
      if (!isFunctionNode(fn)) continue;
      const role = this.roleOf(fn);
      if (role.kind === "step" || role.kind === "strategy") return { step: fn, role };
      if (this.isDurableFunction(fn)) return { workflow: fn };
    }
    return {};
  }

  /** The functions enclosing `node`, innermost first. */
  enclosingFunctions(node) {
    return this.sourceCode.getAncestors(node).filter(isFunctionNode).reverse();
  }
}

const models = new WeakMap();
/** One model per file, shared by the rules that lint it. */
export function durableModel(context) {
  const sourceCode = context.sourceCode;
  let model = models.get(sourceCode);
  if (!model) {
    model = new DurableModel(sourceCode, typeServices(context));
    models.set(sourceCode, model);
  }
  return model;
}

export { propertyName };

const GLOBAL_OBJECTS = new Set(["globalThis", "window", "global", "self"]);

/**
 * The global an expression stands for, seen through aliases: `Date.now`, `globalThis.Date.now`, `now` after
 * `const now = Date.now`, `random` after `const { random } = Math`, `C.now` after `const C = Date`,
 * `Date.now.bind(Date)`. Returns a dotted path ("Date.now", "Math.random", "Date", "setTimeout") or undefined
 * when the expression is not (an alias of) a global. Only `const` aliases are followed: a `let` may be reassigned.
 */
export function globalPath(sourceCode, node, seen = new Set()) {
  if (!node || seen.has(node)) return undefined;
  seen.add(node);
  switch (node.type) {
    case "Identifier": {
      const variable = findVariable(sourceCode, node);
      if (!variable || variable.defs.length === 0) {
        return GLOBAL_OBJECTS.has(node.name) ? "globalThis" : node.name;
      }
      const def = variable.defs[0];
      if (variable.defs.length !== 1 || def.type !== "Variable" || def.parent?.kind !== "const")
        return undefined;
      const declarator = def.node;
      if (!declarator.init) return undefined;
      const base = globalPath(sourceCode, declarator.init, seen);
      if (!base) return undefined;
      if (declarator.id.type === "Identifier") return base;
      if (declarator.id.type === "ObjectPattern") {
        const property = declarator.id.properties.find(
          (p) =>
            p.type === "Property" &&
            (p.value === def.name || (p.value.type === "AssignmentPattern" && p.value.left === def.name)),
        );
        const key = property && keyName(property);
        if (!key) return undefined;
        return base === "globalThis" ? key : `${base}.${key}`;
      }
      return undefined;
    }
    case "MemberExpression": {
      const key = propertyName(node);
      if (!key) return undefined;
      const base = globalPath(sourceCode, node.object, seen);
      if (!base) return undefined;
      return base === "globalThis" ? key : `${base}.${key}`;
    }
    case "CallExpression": {
      // `Date.now.bind(Date)` is still the clock.
      if (node.callee.type === "MemberExpression" && propertyName(node.callee) === "bind") {
        return globalPath(sourceCode, node.callee.object, seen);
      }
      return undefined;
    }
    case "TSAsExpression":
    case "TSNonNullExpression":
    case "TSSatisfiesExpression":
      return globalPath(sourceCode, node.expression, seen);
    case "ChainExpression":
      return globalPath(sourceCode, node.expression, seen);
    default:
      return undefined;
  }
}
