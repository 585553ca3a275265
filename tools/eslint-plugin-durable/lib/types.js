/**
 * Type information, when the file is linted with typescript-eslint's type-checked setup (`parserOptions.project` or
 * `projectService`). Every rule works without it (syntax only); with it, some answers become exact:
 *
 * - is an awaited value a `DurablePromise` (whatever expression produced it: `this.ctx.step(...)`, a helper's
 *   return value, a variable)?
 * - is a value a `DurableContext` (a type alias of it, a property holding one, a parameter typed with an alias)?
 * - is an awaited value a thenable at all (`await parse(event)` of a plain value is not a call to another system)?
 * - is the receiver of `.push()` / `.set()` a built-in Array, Map or Set (local state), or a service object?
 *
 * The checks go by the names the SDK declares (`DurablePromise`, `DurableContext`), so they need no import of
 * `typescript` and work with any TypeScript version typescript-eslint supports.
 */

/** `{ checker, typeOf(node) }` when type information is available, otherwise undefined. */
export function typeServices(context) {
  const services = context.sourceCode.parserServices;
  if (!services?.program || !services.esTreeNodeToTSNodeMap) return undefined;
  const checker = services.program.getTypeChecker();
  return {
    checker,
    typeOf(node) {
      const tsNode = services.esTreeNodeToTSNodeMap.get(node);
      return tsNode ? checker.getTypeAtLocation(tsNode) : undefined;
    },
  };
}

const NULLISH = 0x8000 | 0x10000 | 0x4000 | 0x2000; // Null | Undefined | Void | Never (ts.TypeFlags)

/** The members of a union (`A | B`), or the type itself; `null`, `undefined`, `void` and `never` left out. */
function parts(type) {
  const members = type.isUnion?.() ? type.types : [type];
  return members.filter((member) => (member.flags & NULLISH) === 0);
}

function hasName(type, name) {
  return (type.getSymbol?.() ?? type.aliasSymbol)?.getName() === name;
}

/** Every non-nullish part of the type is a `DurablePromise<T>`. */
export function isDurablePromiseType(type) {
  const members = type ? parts(type) : [];
  return members.length > 0 && members.every((member) => hasName(member, "DurablePromise"));
}

/** The type is the SDK's `DurableContext` (through any alias). */
export function isDurableContextType(type) {
  const members = type ? parts(type) : [];
  return members.length > 0 && members.every((member) => hasName(member, "DurableContext"));
}

/** `any`, `unknown` or an error type: the checker does not know, so the syntax decides. */
export function isUnknownType(type) {
  return !type || (type.flags & (1 | 2)) !== 0; // Any | Unknown
}

/** Some part of the type has a callable `then`: awaiting it waits for something. */
export function isThenableType(checker, type) {
  if (!type) return false;
  return parts(type).some((member) => {
    const then = checker.getPropertyOfType(member, "then");
    if (!then) return false;
    const declaration = then.valueDeclaration ?? then.declarations?.[0];
    const thenType = declaration ? checker.getTypeOfSymbolAtLocation(then, declaration) : undefined;
    return !thenType || thenType.getCallSignatures().length > 0;
  });
}

const COLLECTIONS = new Set(["Array", "ReadonlyArray", "Map", "Set", "WeakMap", "WeakSet"]);

/** The type is a built-in Array, Map or Set (declared in TypeScript's own lib files). */
export function isBuiltinCollectionType(checker, type) {
  const members = type ? parts(type) : [];
  return (
    members.length > 0 &&
    members.every((member) => {
      if (checker.isArrayType?.(member) || checker.isTupleType?.(member)) return true;
      const symbol = member.getSymbol?.();
      if (!symbol || !COLLECTIONS.has(symbol.getName())) return false;
      return (symbol.declarations ?? []).some((d) => d.getSourceFile().hasNoDefaultLib);
    })
  );
}
