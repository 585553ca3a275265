import rule from "../lib/rules/no-operation-by-index.js";
import { run } from "./rule-tester.js";

run("no-operation-by-index", rule, {
  valid: [
    'runner.getOperation("reserve-stock");',
    'runner.getOperation("charge-item", 2);',
    'runner.getOperationByNameAndIndex("charge-item", 2);',
    'runner.getOperationById("c4ca4238a0b92382");',
    // An unrelated method that merely contains the word.
    "list.getOperationByIndexes(0);",
  ],
  invalid: [
    {
      code: "const first = runner.getOperationByIndex(0);",
      errors: [{ messageId: "byIndex", line: 1, column: 22 }],
    },
    {
      code: 'expect(result.runner.getOperationByIndex(3).getName()).toBe("charge-payment");',
      errors: [{ messageId: "byIndex" }],
    },
    {
      // Computed access does not hide it.
      code: 'const op = runner["getOperationByIndex"](1);',
      errors: [{ messageId: "byIndex" }],
    },
  ],
});
