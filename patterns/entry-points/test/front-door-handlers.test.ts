// The deployed front door's handlers, imported as Lambda loads them: no AWS SDK client module is evaluated
// until a request needs it (the cold start pays only for the code that runs).
it("imports the front door's handlers without evaluating the Lambda, Secrets Manager or DynamoDB client modules", async () => {
  const evaluated: string[] = [];
  const modules = [
    "@aws-sdk/client-lambda",
    "@aws-lambda-powertools/parameters/secrets",
    "@aws-sdk/client-dynamodb",
  ];
  await jest
    .isolateModulesAsync(async () => {
      for (const name of modules) {
        jest.doMock(name, () => {
          evaluated.push(name);
          return {};
        });
      }
      const handlers = await import("../src/front-door/handlers");
      expect(
        [handlers.apiHandler, handlers.webhookHandler, handlers.starterHandler].map((h) => typeof h),
      ).toEqual(["function", "function", "function"]);
    })
    .finally(() => modules.forEach((name) => jest.dontMock(name)));
  expect(evaluated).toEqual([]);
});
