import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "aws-cdk-lib";
import { buildApp } from "../../lib/app";
import { TEST_ENV } from "../helpers";

/** A function as the synthesized template deploys it: its handler, its uploaded asset and its environment. */
export interface DeployedFunction {
  logicalId: string;
  /** `index.<export>`, as Lambda resolves it inside the asset. */
  handler: string;
  /** The asset directory in the cloud assembly, exactly what `cdk deploy` uploads. */
  assetDir: string;
  runtime: string;
  /** The template's environment, each intrinsic rendered the way the account would (see `physicalValue`). */
  environment: Record<string, string>;
}

export interface Synthesized {
  outdir: string;
  template: {
    Resources: Record<
      string,
      { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
    >;
  };
  functions: DeployedFunction[];
  /** The value a `{ Ref: logicalId }` takes in the account, for the resources the functions' environments name. */
  physicalValue: (logicalId: string) => string;
}

/**
 * `cdk synth` with bundling on, into a fresh cloud assembly, with the context a user gives `cdk deploy`
 * (`patternEnvironment`: the plain URLs of the outside services). cdk-nag runs as in a real synth.
 */
export function synthesize(context: Record<string, unknown>): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), "cookbook-rehearsal-"));
  const app = new App({ outdir, context });
  const { stack } = buildApp({ app, env: TEST_ENV });
  const assembly = app.synth();
  const template = JSON.parse(
    readFileSync(
      path.join(assembly.directory, assembly.getStackArtifact(stack.artifactId).templateFile),
      "utf8",
    ),
  ) as Synthesized["template"];
  const physicalValue = (logicalId: string): string => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`the template has no resource ${logicalId}`);
    switch (resource.Type) {
      case "AWS::SecretsManager::Secret":
        return `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:${logicalId}-AbCdEf`;
      case "AWS::Lambda::Alias": {
        // The alias ARN names the function it points at (its physical name is its logical id here).
        const { FunctionName, Name } = (resource.Properties ?? {}) as {
          FunctionName?: { Ref?: string };
          Name?: string;
        };
        const functionName = FunctionName?.Ref ?? logicalId;
        return `arn:aws:lambda:${TEST_ENV.region}:${TEST_ENV.account}:function:${functionName}:${Name ?? "live"}`;
      }
      case "AWS::S3::Bucket":
        return logicalId.toLowerCase();
      default:
        return logicalId;
    }
  };
  const render = (value: unknown, name: string): string => {
    if (typeof value === "string") return value;
    const ref = (value as { Ref?: unknown }).Ref;
    if (typeof ref === "string") return physicalValue(ref);
    throw new Error(`${name}: cannot render ${JSON.stringify(value)} for the rehearsal`);
  };
  // What `cdk deploy` uploads: each file asset of the assets manifest, by the S3 key the template points at.
  const assets = JSON.parse(
    readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), "utf8"),
  ) as { files: Record<string, { source: { path: string; packaging: string } }> };
  const functions = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === "AWS::Lambda::Function")
    .map(([logicalId, resource]) => {
      const properties = resource.Properties as {
        Handler: string;
        Runtime: string;
        Code: { S3Key?: string };
        Environment?: { Variables?: Record<string, unknown> };
      };
      const hash = String(properties.Code.S3Key ?? "").replace(/\.zip$/, "");
      const asset = assets.files[hash];
      if (!asset || asset.source.packaging !== "zip") {
        throw new Error(
          `${logicalId}: its code ${properties.Code.S3Key} is not a file asset of this assembly`,
        );
      }
      const variables = properties.Environment?.Variables ?? {};
      return {
        logicalId,
        handler: properties.Handler,
        runtime: properties.Runtime,
        assetDir: path.join(assembly.directory, asset.source.path),
        environment: Object.fromEntries(
          Object.entries(variables).map(([name, value]) => [name, render(value, `${logicalId} ${name}`)]),
        ),
      };
    });
  return { outdir, template, functions, physicalValue };
}
