import { AsyncLocalStorage } from "node:async_hooks";
import type { DurableContext } from "@aws/durable-execution-sdk-js";

/** One durable operation the code asked for, at the position replay gives it. */
export interface ProbedCall {
  position: string;
  /** The position of the context it was called in ("" for the handler's own context). */
  parent: string;
  method: string;
  name?: string;
}

/**
 * Watches which durable operations the code under check asks for, and where. It sits between the handler and
 * the SDK's DurableContext (and every child context the SDK hands back), numbering operations the way replay
 * does: each context counts its own operations 1, 2, 3..., a child's are "3-1", "3-2", a map's items "4-1",
 * "4-2" by index. The SDK still does the work; the probe only records it, and marks the code that runs inside
 * a step (or a submitter, or a condition check) with the step's position, so a dependency called from there
 * knows which operation called it.
 */
export class ContextProbe {
  readonly calls: ProbedCall[] = [];
  private readonly running = new AsyncLocalStorage<string>();

  /** The position of the step body (or submitter, or check) running now, if any. */
  currentStep(): string | undefined {
    return this.running.getStore();
  }

  wrap(context: DurableContext, position = ""): DurableContext {
    let count = 0;
    const record = (method: string, name: unknown): string => {
      count += 1;
      const at = position ? `${position}-${count}` : String(count);
      const call: ProbedCall = { position: at, parent: position, method };
      if (typeof name === "string") call.name = name;
      this.calls.push(call);
      return at;
    };
    const inStep =
      <F extends (...args: never[]) => unknown>(at: string, fn: F) =>
      (...args: Parameters<F>) =>
        this.running.run(at, () => fn(...args));
    // The closures below hand child contexts back to this same probe.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const probe = this;
    /** Calls `method` with the function argument (the first one, after an optional name) replaced. */
    const through = (method: string, replace: (at: string, fn: never) => unknown, nameless = false) =>
      function (...args: unknown[]) {
        const named = !nameless && (typeof args[0] === "string" || args[0] === undefined);
        const at = record(method, named ? args[0] : undefined);
        const index = args.findIndex((arg) => typeof arg === "function");
        if (index >= 0) args[index] = replace(at, args[index] as never);
        return (context as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
      };
    const child = (at: string, fn: (ctx: DurableContext) => unknown) => (ctx: DurableContext) =>
      fn(probe.wrap(ctx, at));

    const wrapped: Partial<Record<string, unknown>> = {
      step: through("step", inStep),
      waitForCondition: through("waitForCondition", inStep),
      waitForCallback: through("waitForCallback", inStep),
      runInChildContext: through("runInChildContext", child),
      createCallback: through("createCallback", (_at, fn) => fn),
      wait: function (...args: unknown[]) {
        record("wait", typeof args[0] === "string" ? args[0] : undefined);
        return (context.wait as (...a: unknown[]) => unknown)(...args);
      },
      invoke: function (...args: unknown[]) {
        // invoke(name, functionId, ...) or invoke(functionId, ...): two strings first means it has a name.
        record("invoke", typeof args[1] === "string" ? args[0] : undefined);
        return (context.invoke as (...a: unknown[]) => unknown)(...args);
      },
      map: function (...args: unknown[]) {
        const named = !Array.isArray(args[0]);
        const at = record("map", named ? args[0] : undefined);
        const index = named ? 2 : 1;
        const mapFunc = args[index] as (ctx: DurableContext, ...rest: unknown[]) => unknown;
        args[index] = (ctx: DurableContext, item: unknown, itemIndex: number, all: unknown[]) => {
          const itemAt = `${at}-${itemIndex + 1}`;
          probe.calls.push({ position: itemAt, parent: at, method: "map-item" });
          return mapFunc(probe.wrap(ctx, itemAt), item, itemIndex, all);
        };
        return (context.map as (...a: unknown[]) => unknown)(...args);
      },
      parallel: function (...args: unknown[]) {
        const named = !Array.isArray(args[0]);
        const at = record("parallel", named ? args[0] : undefined);
        const index = named ? 1 : 0;
        const branches = args[index] as Array<
          ((ctx: DurableContext) => unknown) | { name?: string; func: (ctx: DurableContext) => unknown }
        >;
        args[index] = branches.map((branch, branchIndex) => {
          const branchAt = `${at}-${branchIndex + 1}`;
          const run = (fn: (ctx: DurableContext) => unknown) => (ctx: DurableContext) => {
            probe.calls.push({ position: branchAt, parent: at, method: "parallel-branch" });
            return fn(probe.wrap(ctx, branchAt));
          };
          return typeof branch === "function" ? run(branch) : { ...branch, func: run(branch.func) };
        });
        return (context.parallel as (...a: unknown[]) => unknown)(...args);
      },
      promise: new Proxy(context.promise, {
        get(target, prop) {
          const combinator = Reflect.get(target, prop, target) as unknown;
          if (typeof combinator !== "function") return combinator;
          return (...args: unknown[]) => {
            record(`promise.${String(prop)}`, typeof args[0] === "string" ? args[0] : undefined);
            return (combinator as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }),
    };
    return new Proxy(context, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && prop in wrapped) return wrapped[prop];
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
