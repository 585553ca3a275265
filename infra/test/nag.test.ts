import { App, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";
import { buildApp } from "../lib/app";
import { fixtureRoot, TEST_ENV } from "./helpers";

/** The app with cdk-nag's AwsSolutions pack, every defined pattern present, bundling skipped. */
function nagApp(context: Record<string, unknown> = {}) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [], ...context } });
  return buildApp({ app, env: TEST_ENV, root: fixtureRoot(), nag: true });
}

function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      // Each entry maps acknowledged finding ids to their reasons.
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ path: construct.node.path, id, reason })),
  );
}

it("passes cdk-nag's AwsSolutions checks", () => {
  const { app } = nagApp();
  expect(() => app.synth()).not.toThrow();
});

it("passes them for stage prod too (retained data, no auto-delete provider)", () => {
  const { app } = nagApp({ stage: "prod" });
  expect(() => app.synth()).not.toThrow();
});

it("acknowledges only named findings, each with its reason", () => {
  const { stack } = nagApp();
  const acks = acknowledgements(stack);
  expect(acks.length).toBeGreaterThan(0);
  for (const ack of acks) {
    expect(ack.id).toMatch(
      /^AwsSolutions::AwsSolutions-(IAM5\[Resource::<[A-Za-z0-9]+\.Arn>(:\*|\/\*)\]|S1|SMG4)$/,
    );
    expect(ack.reason.length).toBeGreaterThan(80);
  }
  // Which findings, where: the execution wildcard on each function's own durable policy and on the two
  // managed policies, the document wildcard on map-parallel's role, access logs on its bucket.
  const summary = acks.map(
    (ack) =>
      `${ack.path.replace(/^DurableCookbook-dev\//, "")} ${ack.id.replace(/^AwsSolutions::AwsSolutions-/, "")}`,
  );
  expect(summary.filter((line) => line.includes("/DurableExecutionPolicy "))).toHaveLength(7);
  expect(summary.filter((line) => /^[A-Za-z]+ApproverPolicy /.test(line)).sort()).toEqual([
    expect.stringMatching(
      /^AgentLoopApproverPolicy IAM5\[Resource::<AgentLoopHandlerFunction[A-F0-9]+\.Arn>:\*\]$/,
    ),
    expect.stringMatching(
      /^WaitCallbackApproverPolicy IAM5\[Resource::<WaitCallbackHandlerFunction[A-F0-9]+\.Arn>:\*\]$/,
    ),
  ]);
  expect(summary.filter((line) => line.startsWith("CloudTestPolicy "))).toHaveLength(7);
  // The front door: the api and the starter read executions, the webhook completes callbacks (each of the
  // checkout's executions only); the provider owns the signing secret's rotation.
  expect(summary.filter((line) => line.startsWith("EntryPointsFrontDoor/")).sort()).toEqual([
    expect.stringMatching(/^EntryPointsFrontDoor\/WebhookSecret SMG4$/),
    expect.stringMatching(
      /^EntryPointsFrontDoor\/apiRole IAM5\[Resource::<EntryPointsHandlerFunction[A-F0-9]+\.Arn>:\*\]$/,
    ),
    expect.stringMatching(
      /^EntryPointsFrontDoor\/starterRole IAM5\[Resource::<EntryPointsHandlerFunction[A-F0-9]+\.Arn>:\*\]$/,
    ),
    expect.stringMatching(
      /^EntryPointsFrontDoor\/webhookRole IAM5\[Resource::<EntryPointsHandlerFunction[A-F0-9]+\.Arn>:\*\]$/,
    ),
  ]);
  expect(summary.filter((line) => line.startsWith("MapParallelHandler/Role "))).toEqual([
    expect.stringMatching(
      /^MapParallelHandler\/Role IAM5\[Resource::<MapParallelDocuments[A-F0-9]+\.Arn>\/\*\]$/,
    ),
  ]);
  expect(summary.filter((line) => line.endsWith(" S1"))).toEqual(["MapParallelDocuments S1"]);
  // Each secret setting's secret: the provider issues and rotates the credential.
  const secretAcks = summary.filter((line) => /^[A-Za-z]+Secret SMG4$/.test(line));
  expect(secretAcks).toHaveLength(14);
  expect(secretAcks).toContain("StepsOrderApiTokenSecret SMG4");
  expect(secretAcks).toContain("SagaPaymentGatewayTokenSecret SMG4");
  expect(acks).toHaveLength(7 + 2 + 7 + 1 + 1 + 4 + 14);
});

it("still fails the synth on a finding nobody acknowledged", () => {
  const { app, stack } = nagApp();
  stack.functions
    .get("StepsHandler")!
    .addToRolePolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: ["*"] }));
  expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
});
