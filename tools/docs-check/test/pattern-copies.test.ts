import * as fs from "node:fs";
import * as path from "node:path";

// Patterns are self-contained, so each carries its own copy of the test helpers below. Copies drift; this keeps
// them identical to the steps pattern's, so a fix made in one place is made in all (copy it over, then commit).
const root = path.resolve(__dirname, "../../..");
const SHARED_TEST_FILES = [
  "test/golden-history.ts",
  "test/target.ts",
  "test/target.test.ts",
  // The fake clock's faster tick, loaded by each jest.config.js.
  "test/fast-clock.ts",
  // The tests of the shared source modules below, run in every pattern against its own copy.
  "test/http-call.test.ts",
  "test/secret-setting.test.ts",
];
// Carried only by the patterns that need them (crashes between a call and its checkpoint; answering a callback
// once the execution has suspended on it); every copy is the same as the first pattern's that carries it.
const OPTIONAL_TEST_FILES = ["test/crash.ts", "test/invocations.ts"];
const allPatterns = fs
  .readdirSync(path.join(root, "patterns"))
  .filter((name) => fs.existsSync(path.join(root, "patterns", name, "package.json")))
  .sort();
const patterns = allPatterns.filter((name) => name !== "steps");

it("finds the patterns that carry the copies", () => {
  expect(patterns.length).toBeGreaterThanOrEqual(4);
});

describe.each(SHARED_TEST_FILES)("%s", (file) => {
  const original = fs.readFileSync(path.join(root, "patterns", "steps", file), "utf8");
  it.each(patterns)("is the same in patterns/%s as in patterns/steps", (pattern) => {
    expect(fs.readFileSync(path.join(root, "patterns", pattern, file), "utf8")).toBe(original);
  });
});

describe.each(OPTIONAL_TEST_FILES)("%s, where a pattern carries it", (file) => {
  const carriers = allPatterns.filter((pattern) => fs.existsSync(path.join(root, "patterns", pattern, file)));
  const [first, ...others] = carriers;
  it("is carried by at least two patterns (else it is not a copy)", () => {
    expect(carriers.length).toBeGreaterThanOrEqual(2);
  });
  it.each(others)(`is the same in patterns/%s as in patterns/${first}`, (pattern) => {
    const original = fs.readFileSync(path.join(root, "patterns", first!, file), "utf8");
    expect(fs.readFileSync(path.join(root, "patterns", pattern, file), "utf8")).toBe(original);
  });
});

// Source modules every pattern carries: one way to call HTTP services, to read secret settings, and to make an
// AWS SDK client on first use. Identical in every pattern, so a fix made in one is made in all.
const SHARED_SOURCE_FILES = ["src/http-call.ts", "src/secret-setting.ts", "src/on-first-use.ts"];

describe.each(SHARED_SOURCE_FILES)("%s", (file) => {
  const original = fs.readFileSync(path.join(root, "patterns", "steps", file), "utf8");
  it.each(patterns)("is the same in patterns/%s as in patterns/steps", (pattern) => {
    expect(fs.readFileSync(path.join(root, "patterns", pattern, file), "utf8")).toBe(original);
  });
});
