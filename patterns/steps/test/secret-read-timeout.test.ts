import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import { SECRET_READ_TIMEOUTS, SecretSettingError, secretSetting } from "../src/secret-setting";

// src/secret-setting.ts is the same in every pattern: this is tested once, here, against a real endpoint that
// accepts the connection and never answers (the SDK's default client would wait for ever).
describe("a Secrets Manager that never answers", () => {
  const silent = http.createServer(() => undefined);
  const saved = { ...process.env };
  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    clearCaches();
  });
  afterAll(async () => {
    process.env = saved;
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it("fails the read in bounded time, as a retryable error naming the setting", async () => {
    const started = Date.now();
    const read = secretSetting("ORDER_API_TOKEN", {
      required: false,
      env: {
        ORDER_API_TOKEN_SECRET_ARN:
          "arn:aws:secretsmanager:us-east-1:111111111111:secret:order-api-token-AbCdEf",
      },
    });
    const error = await read.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(SecretSettingError);
    expect(error).toMatchObject({ setting: "ORDER_API_TOKEN", retryable: true });
    // One attempt, cut at the request timeout (plus the connection's own time): never the invocation's timeout.
    expect(Date.now() - started).toBeLessThan(
      SECRET_READ_TIMEOUTS.requestTimeout + SECRET_READ_TIMEOUTS.connectionTimeout,
    );
  });
});
