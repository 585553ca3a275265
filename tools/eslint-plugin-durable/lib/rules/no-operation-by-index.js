import { propertyName } from "../durable-model.js";

export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow selecting operations by position in tests (getOperationByIndex): select them by name",
    },
    schema: [],
    messages: {
      byIndex:
        '`getOperationByIndex()` picks an operation by its position among all operations, children included. Adding, removing or reordering any operation before it silently points the test at another operation, and the test may still pass. Select it by name: `runner.getOperation("reserve-stock")`, or `runner.getOperation("charge-item", 2)` for the third operation with a repeated name.',
    },
  },
  create(context) {
    return {
      CallExpression(node) {
        if (propertyName(node.callee) === "getOperationByIndex") {
          context.report({ node: node.callee.property, messageId: "byIndex" });
        }
      },
    };
  },
};
