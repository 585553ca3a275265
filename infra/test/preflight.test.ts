import { describe as describeError, preflight, SETUP_HELP, type StsLike } from "../scripts/preflight";

const sts = (overrides: Partial<StsLike>): StsLike => ({
  region: async () => "us-east-2",
  getCallerIdentity: async () => ({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/dana" }),
  ...overrides,
});
const error = (name: string, message: string, extra: object = {}) =>
  Object.assign(new Error(message), { name, ...extra });

it("reports who and where when the credentials work", async () => {
  expect(await preflight(sts({}))).toEqual({
    ok: true,
    identity: { account: "123456789012", arn: "arn:aws:iam::123456789012:user/dana", region: "us-east-2" },
  });
});

it.each([
  [
    "no Region",
    { region: async () => Promise.reject(new Error("Region is missing")) },
    "No AWS Region is configured.",
  ],
  ["an empty Region", { region: async () => "" }, "No AWS Region is configured."],
  [
    "no credentials",
    {
      getCallerIdentity: async () =>
        Promise.reject(error("CredentialsProviderError", "Could not load credentials from any providers")),
    },
    "No AWS credentials were found (environment, shared config files, SSO or instance role).",
  ],
  [
    "expired credentials",
    {
      getCallerIdentity: async () =>
        Promise.reject(error("ExpiredToken", "The security token included in the request is expired")),
    },
    "The AWS credentials have expired (The security token included in the request is expired). Log in again, e.g. `aws sso login`.",
  ],
  [
    "a wrong key",
    {
      getCallerIdentity: async () =>
        Promise.reject(
          error("InvalidClientTokenId", "The security token included in the request is invalid."),
        ),
    },
    "AWS rejected the credentials (InvalidClientTokenId): the access key or secret is wrong or was deactivated.",
  ],
  [
    "no network",
    {
      getCallerIdentity: async () =>
        Promise.reject(
          error("Error", "getaddrinfo ENOTFOUND sts.us-east-2.amazonaws.com", { code: "ENOTFOUND" }),
        ),
    },
    "Could not reach AWS STS to check the credentials (getaddrinfo ENOTFOUND sts.us-east-2.amazonaws.com). Check the network or proxy settings.",
  ],
])("explains %s instead of a stack trace", async (_label, overrides, problem) => {
  expect(await preflight(sts(overrides))).toEqual({ ok: false, problem, help: SETUP_HELP });
});

it("explains the setup: credentials, Region, bootstrap", () => {
  expect(SETUP_HELP).toContain("aws sso login");
  expect(SETUP_HELP).toContain("AWS_REGION");
  expect(SETUP_HELP).toContain("pnpm --filter @durable-cookbook/infra run bootstrap");
  expect(describeError(error("Weird", "something else"))).toBe(
    "Checking the credentials with STS failed: Weird: something else",
  );
});
