/** Jest runs the TypeScript tests through ts-jest (CommonJS). Bundling and cdk-nag make some tests take seconds. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
  testTimeout: 60000,
};
