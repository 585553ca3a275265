import { durableModel, isFunctionNode } from "../durable-model.js";

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const isObject = (node) => node?.type === "ObjectExpression";
const isArray = (node) => node?.type === "ArrayExpression";
const isStringLike = (node) =>
  (node?.type === "Literal" && typeof node.value === "string") || node?.type === "TemplateLiteral";
const isReference = (node) => node?.type === "Identifier" || node?.type === "MemberExpression";
const isNothing = (node) =>
  (node?.type === "Identifier" && node.name === "undefined") ||
  (node?.type === "Literal" && node.value === null);

/**
 * The name argument of an operation: a node, "missing" (the unnamed overload is used), or undefined when the
 * call cannot tell (e.g. `context.invoke(a, b)` with two variables).
 */
function nameArgument(method, args) {
  const [first, second, third] = args;
  if (isNothing(first)) return "missing";
  switch (method) {
    case "step":
    case "runInChildContext":
    case "waitForCallback":
    case "waitForCondition":
      // name, fn[, config]  |  fn[, config]
      if (!first || isFunctionNode(first)) return "missing";
      if (isReference(first) && (args.length === 1 || isObject(second))) return "missing";
      return first;
    case "wait":
      // name, duration  |  duration
      if (args.length < 2 || isObject(first)) return "missing";
      return first;
    case "createCallback":
      // name[, config]  |  [config]
      if (!first || isObject(first)) return "missing";
      return isStringLike(first) ? first : undefined;
    case "map":
      // name, items, fn[, config]  |  items, fn[, config]
      if (isFunctionNode(second) || isArray(first)) return "missing";
      if (isFunctionNode(third)) return first;
      return undefined;
    case "parallel":
      // name, branches[, config]  |  branches[, config]
      if (args.length === 1 || isArray(first)) return "missing";
      if (isArray(second)) return first;
      return undefined;
    case "invoke":
      // name, functionId[, input[, config]]  |  functionId[, input[, config]]
      if (args.length === 1 || isObject(second) || isArray(second)) return "missing";
      if (args.length === 4 || (isStringLike(first) && isStringLike(second))) return first;
      return undefined;
    default:
      // promise.all|allSettled|any|race: name, promises  |  promises
      if (args.length === 1 || isArray(first)) return "missing";
      return first;
  }
}

/** "reserveStock", "Reserve stock", "reserve_stock" -> "reserve-stock". */
export function toKebabCase(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

const EXAMPLE = {
  step: '"reserve-stock", async () => ...',
  wait: '"wait-before-reminder", { days: 3 }',
  waitForCallback: '"wait-for-approval", async (callbackId) => ...',
  waitForCondition: '"wait-until-shipped", async (state) => ..., config',
  createCallback: '"payment-confirmation"',
  runInChildContext: '"ship-order", async (child) => ...',
  map: '"charge-each-item", items, async (child, item) => ...',
  parallel: '"check-all-vendors", branches',
  invoke: '"score-credit", functionId, input',
};

export default {
  meta: {
    type: "suggestion",
    hasSuggestions: true,
    docs: {
      description: "Require every durable operation to have a descriptive kebab-case name",
    },
    schema: [],
    messages: {
      missing:
        '`{{label}}(...)` has no name. Replay checks each operation\'s name against its checkpoint, and the name is how you find the operation in tests (`runner.getOperation("...")`), in logs and in the execution history. Give it a descriptive kebab-case name first: `{{label}}({{example}})`.',
      empty:
        "`{{label}}(...)` has an empty name. The name is how you find the operation in tests, logs and the execution history: say what it does, in kebab-case (`{{label}}({{example}})`).",
      notKebab:
        'Operation name "{{name}}" is not kebab-case: use lower-case words joined by dashes, like "{{kebab}}". Rename before the first deploy: once executions are in flight, renaming an operation breaks their replay (ship a rename as a new version).',
      templateNotKebab:
        "Operation name `{{name}}` is not kebab-case: use lower-case words joined by dashes around the business key, like `charge-${orderId}`. Rename before the first deploy: once executions are in flight, renaming an operation breaks their replay.",
      notDescriptive:
        "Operation name `{{name}}` is only a value, which says nothing about what the operation does. Prefix it with the action, like `charge-${orderId}`, so tests, logs and the execution history can tell operations apart.",
      useKebab: 'Rename to "{{kebab}}" (only safe before executions are in flight).',
    },
  },
  create(context) {
    const model = durableModel(context);
    const sourceCode = context.sourceCode;
    return {
      CallExpression(node) {
        const operation = model.operation(node);
        if (!operation) return;
        const name = nameArgument(operation.method, node.arguments);
        const data = {
          label: operation.label,
          example: EXAMPLE[operation.method] ?? '"descriptive-name", ...',
        };
        if (name === "missing") {
          context.report({ node, messageId: "missing", data });
          return;
        }
        if (name?.type === "Literal") {
          if (name.value.trim() === "") {
            context.report({ node: name, messageId: "empty", data });
          } else if (!KEBAB.test(name.value)) {
            const kebab = toKebabCase(name.value);
            context.report({
              node: name,
              messageId: "notKebab",
              data: { name: name.value, kebab: kebab || "descriptive-name" },
              suggest: kebab
                ? [
                    {
                      messageId: "useKebab",
                      data: { kebab },
                      fix: (fixer) => fixer.replaceText(name, JSON.stringify(kebab)),
                    },
                  ]
                : [],
            });
          }
          return;
        }
        if (name?.type === "TemplateLiteral") {
          const statics = name.quasis.map((quasi) => quasi.value.cooked ?? "");
          const text = sourceCode.getText(name);
          if (!/[a-z]/i.test(statics.join(""))) {
            context.report({ node: name, messageId: "notDescriptive", data: { name: text } });
          } else if (!KEBAB.test(statics.join("x"))) {
            context.report({ node: name, messageId: "templateNotKebab", data: { name: text } });
          }
        }
      },
    };
  },
};
