/**
 * Dependencies that keep the shape of the real ones (names, lists, settings the workflow reads outside its
 * steps) but never act: calling any function in them hands the call to `onCall`, which throws. During a
 * replay check nothing may reach a real service; a call tells the check where the code did real work.
 */
export function guardDeps<T>(shape: T, onCall: (path: string) => never): T {
  const seen = new WeakMap<object, unknown>();
  const guard = (value: unknown, path: string): unknown => {
    if (typeof value === "function") return (..._args: unknown[]) => onCall(path);
    if (typeof value !== "object" || value === null) return value;
    if (value instanceof Date || value instanceof RegExp) return value;
    if (seen.has(value)) return seen.get(value);
    if (Array.isArray(value)) {
      const copy = value.map((item, index) => guard(item, `${path}[${index}]`));
      seen.set(value, copy);
      return copy;
    }
    const proxy = new Proxy(value, {
      get(target, prop) {
        const inner = Reflect.get(target, prop, target) as unknown;
        // Built-ins every object has (toString, then...) stay as they are; `then` stays absent, so a guarded
        // object is never mistaken for a promise.
        if (typeof prop === "symbol" || prop in Object.prototype) return inner;
        return guard(inner, `${path}.${prop}`);
      },
    });
    seen.set(value, proxy);
    return proxy;
  };
  return guard(shape, "deps") as T;
}
