import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import {
  SECRET_MAX_AGE_SECONDS,
  SECRET_PLACEHOLDER,
  secretSetting,
  SecretSettingError,
} from "../src/secret-setting";

// src/secret-setting.ts with Secrets Manager mocked at the SDK client (every GetSecretValue it sends is counted
// on the mock), Powertools Parameters in between as in production. The same file is in every pattern.
const secretsManager = mockClient(SecretsManagerClient);
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cookbook/x-token-AbCdEf";
const env = (values: Record<string, string>): NodeJS.ProcessEnv => ({ ...values });
const reads = () => secretsManager.commandCalls(GetSecretValueCommand);

beforeEach(() => {
  secretsManager.reset();
  clearCaches();
});
afterAll(() => secretsManager.restore());

/** An error as the SDK raises it for a service error without a class of its own (a throttle). */
const serviceError = (name: string) =>
  new SecretsManagerServiceException({ name, $fault: "client", $metadata: {}, message: `${name} happened` });

async function failure(promise: Promise<unknown>): Promise<SecretSettingError> {
  const error = await promise.then(
    () => undefined,
    (failed: unknown) => failed,
  );
  expect(error).toBeInstanceOf(SecretSettingError);
  return error as SecretSettingError;
}

it("reads the value from the secret whose ARN is in <SETTING>_SECRET_ARN", async () => {
  secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: "tok-123" });
  await expect(
    secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
  ).resolves.toBe("tok-123");
  expect(reads().map((read) => read.args[0].input)).toEqual([{ SecretId: ARN }]);
});

it("reads process.env when no env is given", async () => {
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "from-process-env" });
  process.env.COOKBOOK_TEST_TOKEN_SECRET_ARN = ARN;
  try {
    await expect(secretSetting("COOKBOOK_TEST_TOKEN", { required: true })).resolves.toBe("from-process-env");
  } finally {
    delete process.env.COOKBOOK_TEST_TOKEN_SECRET_ARN;
  }
});

it("trims the value: a secret pasted with a newline still works as a header", async () => {
  secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "  tok-123\n" });
  await expect(
    secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
  ).resolves.toBe("tok-123");
});

describe("the cache", () => {
  it(`keeps the value for ${SECRET_MAX_AGE_SECONDS} s per sandbox: two reads within it send one GetSecretValue`, async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "tok-123" });
    const settings = env({ X_TOKEN_SECRET_ARN: ARN });
    expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("tok-123");
    expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("tok-123");
    expect(reads()).toHaveLength(1);
  });

  it("reads again once the value is older than that, so a rotated value is picked up", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "before-rotation" })
      .resolves({ SecretString: "after-rotation" });
    const settings = env({ X_TOKEN_SECRET_ARN: ARN });
    expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("before-rotation");
    const now = Date.now();
    const clock = jest.spyOn(Date, "now").mockReturnValue(now + (SECRET_MAX_AGE_SECONDS - 5) * 1000);
    try {
      expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("before-rotation");
      clock.mockReturnValue(now + (SECRET_MAX_AGE_SECONDS + 5) * 1000);
      expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("after-rotation");
    } finally {
      clock.mockRestore();
    }
    expect(reads()).toHaveLength(2);
  });

  it("steps that read it at the same moment on a cold sandbox share one GetSecretValue", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .callsFake(() => new Promise((resolve) => setTimeout(() => resolve({ SecretString: "tok-123" }), 20)));
    const settings = env({ X_TOKEN_SECRET_ARN: ARN });
    const values = await Promise.all(
      Array.from({ length: 5 }, () => secretSetting("X_TOKEN", { required: true, env: settings })),
    );
    expect(values).toEqual(Array<string>(5).fill("tok-123"));
    expect(reads()).toHaveLength(1);
  });

  it("a shared read that fails fails every step that waited for it, and is not kept", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .callsFakeOnce(
        () =>
          new Promise((_resolve, reject) =>
            setTimeout(() => reject(serviceError("ThrottlingException")), 20),
          ),
      )
      .resolves({ SecretString: "tok-123" });
    const settings = env({ X_TOKEN_SECRET_ARN: ARN });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, () => secretSetting("X_TOKEN", { required: true, env: settings })),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(reads()).toHaveLength(1);
    expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("tok-123");
    expect(reads()).toHaveLength(2);
  });

  it("secrets of two settings are read separately, even at the same moment", async () => {
    const OTHER = `${ARN}-other`;
    secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: "x-value" });
    secretsManager.on(GetSecretValueCommand, { SecretId: OTHER }).resolves({ SecretString: "y-value" });
    const settings = env({ X_TOKEN_SECRET_ARN: ARN, Y_TOKEN_SECRET_ARN: OTHER });
    await expect(
      Promise.all([
        secretSetting("X_TOKEN", { required: true, env: settings }),
        secretSetting("Y_TOKEN", { required: true, env: settings }),
      ]),
    ).resolves.toEqual(["x-value", "y-value"]);
    expect(reads()).toHaveLength(2);
  });

  it("does not keep a failure: the next read asks again", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(serviceError("ThrottlingException"))
      .resolves({ SecretString: "tok-123" });
    const settings = env({ X_TOKEN_SECRET_ARN: ARN });
    await failure(secretSetting("X_TOKEN", { required: true, env: settings }));
    expect(await secretSetting("X_TOKEN", { required: true, env: settings })).toBe("tok-123");
    expect(reads()).toHaveLength(2);
  });
});

describe("what is refused, with an error naming the setting and never its value", () => {
  it("a value in the plain environment, even next to an ARN: nothing is read", async () => {
    const error = await failure(
      secretSetting("X_TOKEN", {
        required: false,
        env: env({ X_TOKEN: "plain-tok-999", X_TOKEN_SECRET_ARN: ARN }),
      }),
    );
    expect(error.message).toContain("X_TOKEN is set in the plain environment");
    expect(error.message).toContain("X_TOKEN_SECRET_ARN");
    expect(error.message).not.toContain("plain-tok-999");
    expect(error).toMatchObject({ name: "SecretSettingError", setting: "X_TOKEN", retryable: false });
    expect(reads()).toHaveLength(0);
  });

  it("a required setting without its ARN", async () => {
    const error = await failure(secretSetting("X_TOKEN", { required: true, env: env({}) }));
    expect(error.message).toBe("X_TOKEN_SECRET_ARN is not set: it must name the secret holding X_TOKEN");
    expect(error.retryable).toBe(false);
    expect(reads()).toHaveLength(0);
  });

  it.each<[string, Error, string]>([
    [
      "a missing secret",
      new ResourceNotFoundException({
        $metadata: {},
        message: "Secrets Manager can't find the specified secret.",
      }),
      "ResourceNotFoundException: no such secret, or it has no current value",
    ],
    [
      "an unreadable secret",
      serviceError("AccessDeniedException"),
      "AccessDeniedException: the function's role may not read it",
    ],
    [
      "a secret its KMS key cannot decrypt",
      new DecryptionFailure({ $metadata: {}, message: "no" }),
      "DecryptionFailure: its KMS key cannot decrypt it",
    ],
  ])("%s: not retryable, a person must fix it", async (_what, cause, reason) => {
    secretsManager.on(GetSecretValueCommand).rejects(cause);
    const error = await failure(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.message).toBe(`X_TOKEN could not be read from the secret in X_TOKEN_SECRET_ARN (${reason})`);
    expect(error).toMatchObject({ setting: "X_TOKEN", retryable: false });
  });

  it("a missing secret fails an optional setting too: its ARN was configured", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ $metadata: {}, message: "no" }));
    const error = await failure(
      secretSetting("X_TOKEN", { required: false, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.retryable).toBe(false);
  });

  it.each<[string, Error]>([
    ["throttled", serviceError("ThrottlingException")],
    ["an internal error", new InternalServiceError({ $metadata: {}, message: "oops" })],
    [
      "a network failure",
      Object.assign(new Error("socket hang up"), { name: "TimeoutError", code: "ECONNRESET" }),
    ],
  ])("%s: retryable, Secrets Manager may answer later", async (_what, cause) => {
    secretsManager.on(GetSecretValueCommand).rejects(cause);
    const error = await failure(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error).toMatchObject({ setting: "X_TOKEN", retryable: true });
    expect(error.message).toContain("X_TOKEN could not be read from the secret in X_TOKEN_SECRET_ARN");
  });

  it.each<[string, { SecretString?: string; SecretBinary?: Uint8Array }]>([
    ["an empty value", { SecretString: "" }],
    ["only whitespace", { SecretString: " \n " }],
    ["no value at all", {}],
    ["a binary value", { SecretBinary: new Uint8Array([1, 2, 3]) }],
  ])("a secret with %s", async (_what, answer) => {
    secretsManager.on(GetSecretValueCommand).resolves(answer);
    const error = await failure(
      secretSetting("X_TOKEN", { required: false, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.message).toBe("the secret in X_TOKEN_SECRET_ARN holds no text value for X_TOKEN");
    expect(error.retryable).toBe(false);
  });

  it.each([
    ["a line break inside", "tok-1\r\nx-forged: 1"],
    ["a control character", "tok-1\u0000"],
    ["a tab", "tok\t1"],
    ["non-ASCII", "tök-1"],
    ["a zero-width space", "tok\u200b-1"],
  ])("a secret with %s in its value: a header or URL cannot carry it", async (_what, value) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
    const error = await failure(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.message).toBe(
      "the secret in X_TOKEN_SECRET_ARN holds characters an HTTP header or URL cannot carry (control characters or non-ASCII) in X_TOKEN",
    );
    expect(error).toMatchObject({ setting: "X_TOKEN", retryable: false });
    expect(error.message).not.toContain("tok");
  });

  it("a secret holding a key/value JSON object (the console's default) is refused, naming the setting", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"X_TOKEN":"tok-123"}' });
    const error = await failure(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.message).toBe(
      "the secret in X_TOKEN_SECRET_ARN holds a key/value JSON object (the console's default): store the plain value of X_TOKEN as the secret's text",
    );
    expect(error.message).not.toContain("tok-123");
  });

  it("a value that only looks like JSON, or is printable ASCII with spaces, is kept as it is", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "{not json" })
      .resolves({ SecretString: "a b~c" });
    await expect(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    ).resolves.toBe("{not json");
    clearCaches();
    await expect(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    ).resolves.toBe("a b~c");
  });

  it("a required setting whose secret still holds the stack's placeholder", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_PLACEHOLDER });
    const error = await failure(
      secretSetting("X_TOKEN", { required: true, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    );
    expect(error.message).toContain(
      "still holds the placeholder the stack put there: put the real X_TOKEN in it",
    );
    expect(error.retryable).toBe(false);
  });
});

describe("an optional setting that is not set", () => {
  it("without an ARN (or with an empty one) is undefined, and nothing is read", async () => {
    await expect(secretSetting("X_TOKEN", { required: false, env: env({}) })).resolves.toBeUndefined();
    await expect(
      secretSetting("X_TOKEN", { required: false, env: env({ X_TOKEN_SECRET_ARN: "", X_TOKEN: "" }) }),
    ).resolves.toBeUndefined();
    expect(reads()).toHaveLength(0);
  });

  it("whose secret still holds the stack's placeholder is undefined: no token is sent", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: `${SECRET_PLACEHOLDER}\n` });
    await expect(
      secretSetting("X_TOKEN", { required: false, env: env({ X_TOKEN_SECRET_ARN: ARN }) }),
    ).resolves.toBeUndefined();
    expect(reads()).toHaveLength(1);
  });
});
