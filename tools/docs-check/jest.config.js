/** Jest runs the TypeScript tests through ts-jest (CommonJS). Each test builds a small repository in a temp dir. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
  // The last test type-checks every block of the real repository (a few seconds on a busy machine).
  testTimeout: 120000,
};
