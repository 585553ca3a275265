import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";

/**
 * Secrets Manager as the deployed function sees it: each secret setting's ARN in `<SETTING>_SECRET_ARN`, and
 * GetSecretValue answered by aws-sdk-client-mock on SecretsManagerClient (the client Powertools makes). The
 * mock keeps the record of every GetSecretValue asked. `restore` puts the environment back, restores the
 * client and clears Powertools' cache, so no value leaks into the next test.
 */
export function secretsManager() {
  const mock = mockClient(SecretsManagerClient);
  const set: string[] = [];
  const arnOf = (setting: string) =>
    `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${setting.toLowerCase()}-AbCdEf`;
  const previousRegion = process.env.AWS_REGION;
  process.env.AWS_REGION ??= "eu-west-1";
  const configure = (setting: string) => {
    set.push(setting);
    process.env[`${setting}_SECRET_ARN`] = arnOf(setting);
    return mock.on(GetSecretValueCommand, { SecretId: arnOf(setting) });
  };
  return {
    arnOf,
    /** The secret of `setting` holds `value`. */
    holds: (setting: string, value: string) => {
      configure(setting).resolves({ ARN: arnOf(setting), Name: setting, SecretString: value });
    },
    /** The secret's ARN is set, and no such secret exists. */
    missing: (setting: string) => {
      configure(setting).rejects(
        new ResourceNotFoundException({
          $metadata: { httpStatusCode: 400 },
          message: "Secrets Manager can't find the specified secret.",
        }),
      );
    },
    /** The secret exists, and the function's role may not read it. */
    denied: (setting: string) => {
      configure(setting).rejects(
        new SecretsManagerServiceException({
          name: "AccessDeniedException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
          message: `User: arn:aws:sts::123456789012:assumed-role/fn is not authorized to perform: secretsmanager:GetSecretValue on resource: ${arnOf(setting)}`,
        }),
      );
    },
    /** The GetSecretValue requests Secrets Manager received, by ARN. */
    reads: (setting?: string) =>
      mock
        .commandCalls(GetSecretValueCommand)
        .map((call) => call.args[0].input.SecretId)
        .filter((arn) => setting === undefined || arn === arnOf(setting)),
    restore: () => {
      for (const setting of set) delete process.env[`${setting}_SECRET_ARN`];
      if (previousRegion === undefined) delete process.env.AWS_REGION;
      mock.restore();
      clearCaches();
    },
  };
}

export type SecretsManagerWorld = ReturnType<typeof secretsManager>;
