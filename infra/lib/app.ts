import { Annotations, App, Validations, type Environment } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { CookbookStack } from "./cookbook-stack";
import { readConfig } from "./config";
import { discoverPatterns, REPO_ROOT } from "./discover";
import { PATTERNS, type PatternDefinition } from "./patterns";

export interface BuildOptions {
  app?: App;
  env?: Environment;
  definitions?: PatternDefinition[];
  root?: string;
  /** Run cdk-nag's AwsSolutions checks during synth (on by default: a finding fails the synth). */
  nag?: boolean;
}

/** The cookbook's CDK app: one stack, `DurableCookbook-<stage>`, with every pattern that exists. */
export function buildApp(options: BuildOptions = {}): { app: App; stack: CookbookStack } {
  const app = options.app ?? new App();
  const definitions = options.definitions ?? PATTERNS;
  const config = readConfig((key) => app.node.tryGetContext(key) as unknown, process.env, definitions);
  const unknown = (config.only ?? []).filter(
    (name) => !definitions.some((definition) => definition.name === name),
  );
  if (unknown.length > 0) {
    throw new Error(
      `Unknown pattern(s) ${unknown.join(", ")}; known: ${definitions.map((d) => d.name).join(", ")}`,
    );
  }
  const wanted = definitions.filter((definition) => !config.only || config.only.includes(definition.name));
  const root = options.root ?? REPO_ROOT;
  const discovery = discoverPatterns(wanted, root);

  const stack = new CookbookStack(app, `DurableCookbook-${config.stage}`, {
    // Unset when synthesizing without credentials: the template is then Region- and account-agnostic.
    env: options.env ?? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: "Durable functions cookbook: every pattern's durable handlers, alias live",
    config,
    patterns: discovery.present,
    root,
  });
  for (const { name, reason } of discovery.skipped) {
    Annotations.of(stack).addInfoV2("cookbook:PatternSkipped", `Pattern ${name} is not deployed: ${reason}`);
  }
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
