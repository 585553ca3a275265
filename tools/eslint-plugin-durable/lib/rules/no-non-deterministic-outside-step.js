import {
  durableModel,
  findVariable,
  globalPath,
  isFunctionNode,
  isGlobal,
  propertyName,
} from "../durable-model.js";

/** Globals reached through an alias or `globalThis` (`const now = Date.now`, `globalThis.Math.random()`). */
const GLOBAL_CALLS = new Map([
  ["Date", "clock"],
  ["Date.now", "clock"],
  ["performance.now", "clock"],
  ["process.hrtime", "clock"],
  ["process.hrtime.bigint", "clock"],
  ["Math.random", "random"],
  ["crypto.randomUUID", "id"],
  ["crypto.getRandomValues", "random"],
  ["fetch", "io"],
]);

const RANDOM_METHODS = new Set([
  "randomUUID",
  "randomBytes",
  "randomInt",
  "getRandomValues",
  "randomFill",
  "randomFillSync",
]);
/** Modules whose every export makes a new id (uuid's v4, nanoid, ulid, cuid). */
const ID_MODULES = new Set([
  "uuid",
  "nanoid",
  "ulid",
  "ulidx",
  "cuid",
  "@paralleldrive/cuid2",
  "short-uuid",
  "ksuid",
]);
const ID_FUNCTIONS = new Set(["nanoid", "ulid", "cuid", "createId"]);

const WHAT = {
  clock: "reads the clock",
  random: "makes random values",
  id: "makes a new random id",
  io: "calls the outside world",
};
const FIX = {
  clock: 'read it in a step: `const now = await context.step("read-clock", async () => Date.now())`',
  random: 'make it in a step: `const roll = await context.step("roll-dice", async () => Math.random())`',
  id: 'make it in a step (`const id = await context.step("new-request-id", async () => randomUUID())`), or derive it from a business key, which stays stable across retries too',
  io: 'make the call in a step: `const reply = await context.step("fetch-quote", async () => ...)`, so it runs once and its result is checkpointed',
};

/**
 * What a call or `new` expression does that differs between runs, if anything:
 * `{ kind, text }` (kind: clock | random | id | io), or undefined.
 */
function nonDeterminism(sourceCode, node) {
  const callee = node.callee;
  const text = (s, via) => (via ? { text: s, via } : { text: s });
  if (node.type === "NewExpression") {
    if (
      callee.type === "Identifier" &&
      callee.name === "Date" &&
      node.arguments.length === 0 &&
      isGlobal(sourceCode, node, "Date")
    ) {
      return { kind: "clock", ...text("new Date()") };
    }
    // `new C()` after `const C = Date`, `new globalThis.Date()`.
    if (node.arguments.length === 0 && globalPath(sourceCode, callee) === "Date") {
      return { kind: "clock", ...text(`new ${sourceCode.getText(callee)}()`, "Date") };
    }
    return undefined;
  }
  if (node.type !== "CallExpression") return undefined;
  const aliased = aliasedGlobal(sourceCode, callee);
  if (aliased) return aliased;
  if (callee.type === "Identifier") {
    const name = callee.name;
    if (name === "Date" && isGlobal(sourceCode, node, "Date")) return { kind: "clock", ...text("Date()") };
    if (name === "fetch") return { kind: "io", ...text("fetch()") };
    if (RANDOM_METHODS.has(name))
      return { kind: name === "randomUUID" ? "id" : "random", ...text(`${name}()`) };
    const variable = findVariable(sourceCode, callee);
    const def = variable?.defs[0];
    if (def?.type === "ImportBinding" && ID_MODULES.has(def.parent.source.value)) {
      return { kind: "id", ...text(`${name}()`) };
    }
    if (!def && ID_FUNCTIONS.has(name)) return { kind: "id", ...text(`${name}()`) };
    if (looksLikeUuidMaker(name) && def?.type !== "FunctionName" && !isLocalFunction(def)) {
      return { kind: "id", ...text(`${name}()`) };
    }
    return undefined;
  }
  if (callee.type !== "MemberExpression") return undefined;
  const method = propertyName(callee);
  const object = callee.object;
  const objectName = object.type === "Identifier" ? object.name : undefined;
  if (objectName === "Date" && method === "now" && isGlobal(sourceCode, node, "Date")) {
    return { kind: "clock", ...text("Date.now()") };
  }
  if (objectName === "Math" && method === "random" && isGlobal(sourceCode, node, "Math")) {
    return { kind: "random", ...text("Math.random()") };
  }
  if (objectName === "performance" && method === "now" && isGlobal(sourceCode, node, "performance")) {
    return { kind: "clock", ...text("performance.now()") };
  }
  if (
    (objectName === "process" && method === "hrtime") ||
    (object.type === "MemberExpression" && propertyName(object) === "hrtime" && method === "bigint")
  ) {
    return { kind: "clock", ...text(`${sourceCode.getText(callee)}()`) };
  }
  if (RANDOM_METHODS.has(method)) {
    return { kind: method === "randomUUID" ? "id" : "random", ...text(`${sourceCode.getText(callee)}()`) };
  }
  if (method === "fetch" && (objectName === "globalThis" || objectName === "window")) {
    return { kind: "io", ...text(`${objectName}.fetch()`) };
  }
  if (method && looksLikeUuidMaker(method)) return { kind: "id", ...text(`${sourceCode.getText(callee)}()`) };
  // AWS SDK v3: client.send(new GetItemCommand(...)), or a call on something named like a client.
  if (method === "send") {
    const [first] = node.arguments;
    const commandName =
      first?.type === "NewExpression" && first.callee.type === "Identifier" ? first.callee.name : undefined;
    const receiver = object.type === "Identifier" ? object.name : propertyName(object);
    if (commandName?.endsWith("Command") || /client$/i.test(receiver ?? "")) {
      return {
        kind: "io",
        ...text(`${sourceCode.getText(object)}.send(${commandName ? `new ${commandName}(...)` : "..."})`),
      };
    }
  }
  return undefined;
}

/**
 * A call of a clock, randomness or fetch global through an alias or `globalThis` (`now()` after
 * `const now = Date.now`, `globalThis.Date.now()`). The plain spellings (`Date.now()`) are left to the checks
 * below, which word them as written.
 */
function aliasedGlobal(sourceCode, callee) {
  const path = globalPath(sourceCode, callee);
  const kind = path && GLOBAL_CALLS.get(path);
  if (!kind) return undefined;
  const written = sourceCode.getText(callee);
  if (written === path) return undefined;
  return { kind, text: `${written}()`, via: path };
}

/** "`Date.now()`", or "`now()` (`Date.now`)" for an alias. */
function quoted({ text, via }) {
  return via ? `\`${text}\` (\`${via}\`)` : `\`${text}\``;
}

/** `uuid()`, `uuidv4()`, `generateUuid()`: but not `isUuid()`, `parseUuid()`, `validateUUID()`. */
function looksLikeUuidMaker(name) {
  return /uuid/i.test(name) && !/^(is|validate|parse|format|assert|to|normalize)/i.test(name);
}

function isLocalFunction(def) {
  return (
    def?.type === "Variable" &&
    def.node.type === "VariableDeclarator" &&
    (def.node.init?.type === "ArrowFunctionExpression" || def.node.init?.type === "FunctionExpression")
  );
}

/** The function literal a callee identifier names, if it is declared in this file. */
function localFunctionOf(sourceCode, callee) {
  if (callee.type !== "Identifier") return undefined;
  const def = findVariable(sourceCode, callee)?.defs[0];
  if (def?.type === "FunctionName" && isFunctionNode(def.node)) return def.node;
  if (isLocalFunction(def)) return def.node.init;
  return undefined;
}

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow clocks, randomness, new ids and calls to the outside world in workflow code outside steps, directly or through a helper in the same file",
    },
    schema: [],
    messages: {
      direct:
        "{{text}} {{what}} outside a step. Workflow code runs again on every replay, and this gives a different answer each time, so the replay can take another branch or name operations differently than the run it replays (the SDK then fails with NonDeterministicExecutionError){{io}}. Instead, {{fix}}.",
      helper:
        '{{call}} {{what}} ({{chain}} at line {{line}}) outside a step. Workflow code runs again on every replay, and this gives a different answer each time, so the replay can take another branch or name operations differently than the run it replays{{io}}. Call {{call}} inside a step instead, so its result is checkpointed: `await context.step("descriptive-name", async () => {{callText}})`.',
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const model = durableModel(context);
    const helperCache = new Map();

    /** The first non-deterministic call a local helper makes, following calls to other local helpers. */
    function helperFinding(fn, seen = new Set()) {
      if (helperCache.has(fn)) return helperCache.get(fn);
      if (seen.has(fn) || model.isDurableFunction(fn)) return undefined;
      seen.add(fn);
      let found;
      const visit = (node) => {
        if (found || !node || typeof node.type !== "string") return;
        if (node.type === "CallExpression" || node.type === "NewExpression") {
          const direct = nonDeterminism(sourceCode, node);
          if (direct) {
            found = { ...direct, chain: [direct], line: node.loc.start.line };
            return;
          }
          const inner = node.type === "CallExpression" ? localFunctionOf(sourceCode, node.callee) : undefined;
          const nested = inner && inner !== fn ? helperFinding(inner, seen) : undefined;
          if (nested) {
            found = { ...nested, chain: [{ text: `${node.callee.name}()` }, ...nested.chain] };
            return;
          }
        }
        for (const key of sourceCode.visitorKeys[node.type] ?? []) {
          const child = node[key];
          if (Array.isArray(child)) child.forEach(visit);
          else visit(child);
        }
      };
      visit(fn.body);
      helperCache.set(fn, found);
      return found;
    }

    const ioNote = (kind) =>
      kind === "io"
        ? "; a call outside a step is also repeated on every replay, so the other side sees it again and again"
        : "";

    function check(node) {
      const direct = nonDeterminism(sourceCode, node);
      if (direct) {
        if (!model.placeOf(node).workflow) return;
        context.report({
          node,
          messageId: "direct",
          data: {
            text: quoted(direct),
            what: WHAT[direct.kind],
            fix: FIX[direct.kind],
            io: ioNote(direct.kind),
          },
        });
        return;
      }
      if (node.type !== "CallExpression") return;
      const helper = localFunctionOf(sourceCode, node.callee);
      if (!helper) return;
      if (!model.placeOf(node).workflow) return;
      const finding = helperFinding(helper);
      if (!finding) return;
      context.report({
        node,
        messageId: "helper",
        data: {
          call: `\`${node.callee.name}()\``,
          callText:
            sourceCode.getText(node).length <= 40 ? sourceCode.getText(node) : `${node.callee.name}(...)`,
          what: WHAT[finding.kind],
          chain: finding.chain.map(quoted).join(" calls "),
          line: String(finding.line),
          io: ioNote(finding.kind),
        },
      });
    }

    return { CallExpression: check, NewExpression: check };
  },
};
