import {
  AccessDeniedException,
  BedrockRuntimeServiceException,
  ConverseCommand,
  InternalServerException,
  ModelNotReadyException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ConverseCommandOutput,
} from "@aws-sdk/client-bedrock-runtime";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import {
  classifyBedrockError,
  createBedrockModel,
  createHandler,
  DEFAULT_MODEL_ID,
  ModelRequestError,
  toolSpecs,
  TransientModelError,
  type AgentResult,
  type ModelRequest,
} from "../src";
import { simulatedWorld } from "../src/demo";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

/** A stand-in for BedrockRuntimeClient: records each ConverseCommand and answers (or throws) in order. */
function fakeClient(...answers: (ConverseCommandOutput | Error)[]) {
  const commands: ConverseCommand[] = [];
  return {
    commands,
    async send(command: ConverseCommand): Promise<ConverseCommandOutput> {
      commands.push(command);
      const answer = answers.shift();
      if (answer === undefined) throw new Error("fake client: no more answers");
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const $metadata = (httpStatusCode?: number) => ({ httpStatusCode, attempts: 1, totalRetryDelay: 0 });

function converseOutput(overrides: Partial<ConverseCommandOutput> = {}): ConverseCommandOutput {
  return {
    $metadata: $metadata(200),
    output: { message: { role: "assistant", content: [{ text: "Hello!" }] } },
    stopReason: "end_turn",
    usage: { inputTokens: 120, outputTokens: 8, totalTokens: 128 },
    metrics: { latencyMs: 300 },
    ...overrides,
  };
}

const request: ModelRequest = {
  system: "You are helpful.",
  maxOutputTokens: 512,
  tools: toolSpecs,
  messages: [
    { role: "user", content: [{ type: "text", text: "Where is order-1042?" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me look." },
        { type: "toolUse", toolUseId: "tu-1", name: "lookup_order", input: { orderId: "order-1042" } },
        { type: "toolUse", toolUseId: "tu-2", name: "lookup_order", input: { orderId: "order-9" } },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "toolResult",
          toolUseId: "tu-1",
          status: "success",
          json: { orderId: "order-1042", status: "delivered" },
        },
        {
          type: "toolResult",
          toolUseId: "tu-2",
          status: "error",
          text: "No order order-9 found for this customer.",
        },
      ],
    },
  ],
};

describe("request mapping", () => {
  beforeEach(() => delete process.env.BEDROCK_MODEL_ID);
  afterEach(() => delete process.env.BEDROCK_MODEL_ID);

  it("sends the conversation, the tools and the limits as a ConverseCommand", async () => {
    const client = fakeClient(converseOutput());
    await createBedrockModel({ client, modelId: () => "anthropic.claude-test" }).converse(request);

    expect(client.commands).toHaveLength(1);
    expect(client.commands[0]).toBeInstanceOf(ConverseCommand);
    const input = client.commands[0]!.input;
    expect(input.modelId).toBe("anthropic.claude-test");
    expect(input.system).toEqual([{ text: "You are helpful." }]);
    expect(input.inferenceConfig).toEqual({ maxTokens: 512, temperature: 0 });
    expect(input.messages).toEqual([
      { role: "user", content: [{ text: "Where is order-1042?" }] },
      {
        role: "assistant",
        content: [
          { text: "Let me look." },
          { toolUse: { toolUseId: "tu-1", name: "lookup_order", input: { orderId: "order-1042" } } },
          { toolUse: { toolUseId: "tu-2", name: "lookup_order", input: { orderId: "order-9" } } },
        ],
      },
      {
        role: "user",
        content: [
          {
            toolResult: {
              toolUseId: "tu-1",
              status: "success",
              content: [{ json: { orderId: "order-1042", status: "delivered" } }],
            },
          },
          {
            toolResult: {
              toolUseId: "tu-2",
              status: "error",
              content: [{ text: "No order order-9 found for this customer." }],
            },
          },
        ],
      },
    ]);
    // The tools' JSON Schemas say what the zod schemas that validate the arguments say (tool-json-schemas.test.ts).
    expect(input.toolConfig?.tools?.map((tool) => tool.toolSpec?.name)).toEqual([
      "lookup_order",
      "check_refund_policy",
      "issue_refund",
    ]);
    expect(input.toolConfig?.tools?.[0]?.toolSpec?.inputSchema).toEqual({
      json: {
        type: "object",
        properties: {
          orderId: {
            type: "string",
            pattern: "^order-\\d{1,10}$",
            description: 'The order id, for example "order-1042"',
          },
        },
        required: ["orderId"],
        additionalProperties: false,
      },
    });
  });

  it("sends each tool's JSON Schema, byte for byte", async () => {
    const client = fakeClient(converseOutput());
    await createBedrockModel({ client }).converse(request);

    const orderId = {
      type: "string",
      pattern: "^order-\\d{1,10}$",
      description: 'The order id, for example "order-1042"',
    };
    const expected = [
      {
        toolSpec: {
          name: "lookup_order",
          description: "Look up one of the customer's orders: status, items, prices.",
          inputSchema: {
            json: {
              type: "object",
              properties: { orderId },
              required: ["orderId"],
              additionalProperties: false,
            },
          },
        },
      },
      {
        toolSpec: {
          name: "check_refund_policy",
          description:
            "Check whether an order can be refunded for a reason, up to what amount, and what was already refunded.",
          inputSchema: {
            json: {
              type: "object",
              properties: {
                orderId,
                reason: {
                  type: "string",
                  enum: ["damaged", "not-delivered", "wrong-item", "changed-mind"],
                  description: "Why the customer wants their money back",
                },
              },
              required: ["orderId", "reason"],
              additionalProperties: false,
            },
          },
        },
      },
      {
        toolSpec: {
          name: "issue_refund",
          description: "Refund an order. A person must approve it first, which can take a while.",
          inputSchema: {
            json: {
              type: "object",
              properties: {
                orderId,
                reason: {
                  type: "string",
                  enum: ["damaged", "not-delivered", "wrong-item", "changed-mind"],
                  description: "Why the customer wants their money back",
                },
                amountCents: {
                  type: "integer",
                  exclusiveMinimum: 0,
                  maximum: 100000,
                  description: "Amount to refund, in cents, at most what the policy allows",
                },
                noteForApprover: {
                  type: "string",
                  minLength: 3,
                  maxLength: 300,
                  description: "One sentence for the approver, shown to them as written by you",
                },
              },
              required: ["orderId", "reason", "amountCents", "noteForApprover"],
              additionalProperties: false,
            },
          },
        },
      },
    ];
    const sent = client.commands[0]?.input.toolConfig?.tools;
    expect(sent).toEqual(expected);
    // Byte for byte, key order included: the model sees exactly this text.
    expect(JSON.stringify(sent)).toBe(JSON.stringify(expected));
  });

  it("reads the model id when it calls the model, not when it is created", async () => {
    const client = fakeClient(converseOutput(), converseOutput());
    const model = createBedrockModel({ client });

    await model.converse(request);
    process.env.BEDROCK_MODEL_ID = "us.amazon.nova-pro-v1:0";
    await model.converse(request);

    expect(client.commands.map((command) => command.input.modelId)).toEqual([
      DEFAULT_MODEL_ID,
      "us.amazon.nova-pro-v1:0",
    ]);
  });
});

describe("the client", () => {
  it("loads the Bedrock runtime module at the first model call, not when the handler is imported, and makes one client per sandbox", async () => {
    // A stand-in for the module that records when it is evaluated, what clients are made (with which
    // settings) and what they send.
    const record = { evaluated: 0, clients: [] as unknown[], sent: [] as string[] };
    await jest
      .isolateModulesAsync(async () => {
        jest.doMock("@aws-sdk/client-bedrock-runtime", () => {
          record.evaluated += 1;
          return {
            ConverseCommand: class {
              constructor(readonly input: { modelId: string }) {}
            },
            BedrockRuntimeClient: class {
              constructor(settings: unknown) {
                record.clients.push(settings);
              }
              send = async (command: { input: { modelId: string } }) => {
                record.sent.push(command.input.modelId);
                return converseOutput();
              };
            },
          };
        });
        const module = await import("../src/index");
        expect(typeof module.handler).toBe("function");
        expect(record.evaluated).toBe(0);

        // Two providers in one sandbox share the one client: it belongs to the sandbox, not to a provider.
        await module.createBedrockModel({ modelId: () => "model-a" }).converse(request);
        await module.createBedrockModel({ modelId: () => "model-b" }).converse(request);
      })
      .finally(() => jest.dontMock("@aws-sdk/client-bedrock-runtime"));
    expect(record).toEqual({ evaluated: 1, clients: [{ maxAttempts: 1 }], sent: ["model-a", "model-b"] });
  });
});

describe("response mapping", () => {
  it("keeps text and tool calls, the stop reason and the usage numbers", async () => {
    const client = fakeClient(
      converseOutput({
        output: {
          message: {
            role: "assistant",
            content: [
              { reasoningContent: { reasoningText: { text: "thinking..." } } },
              { text: "Checking." },
              {
                toolUse: {
                  toolUseId: "tooluse_Ab12",
                  name: "lookup_order",
                  input: { orderId: "order-1042" },
                },
              },
            ],
          },
        },
        stopReason: "tool_use",
        usage: { inputTokens: 812, outputTokens: 64, totalTokens: 876 },
      }),
    );
    const response = await createBedrockModel({ client }).converse(request);

    expect(response).toEqual({
      message: {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          {
            type: "toolUse",
            toolUseId: "tooluse_Ab12",
            name: "lookup_order",
            input: { orderId: "order-1042" },
          },
        ],
      },
      stopReason: "tool_use",
      usage: { inputTokens: 812, outputTokens: 64 },
    });
  });

  it("treats a reply with no message as a request error", async () => {
    const client = fakeClient(converseOutput({ output: undefined }));
    await expect(createBedrockModel({ client }).converse(request)).rejects.toThrow(
      new ModelRequestError("Bedrock returned no message", "EmptyOutput"),
    );
  });
});

describe("error classification", () => {
  const networkError = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  const unknown502 = new BedrockRuntimeServiceException({
    name: "BadGateway",
    $fault: "server",
    $metadata: $metadata(502),
    message: "Bad gateway",
  });

  it.each([
    ["ThrottlingException", new ThrottlingException({ message: "Rate exceeded", $metadata: $metadata(429) })],
    [
      "ServiceUnavailableException",
      new ServiceUnavailableException({ message: "Unavailable", $metadata: $metadata(503) }),
    ],
    ["InternalServerException", new InternalServerException({ message: "Oops", $metadata: $metadata(500) })],
    [
      "ModelNotReadyException",
      new ModelNotReadyException({ message: "Warming up", $metadata: $metadata(429) }),
    ],
    ["ModelTimeoutException", new ModelTimeoutException({ message: "Too slow", $metadata: $metadata(408) })],
    ["an unmodelled 502", unknown502],
    ["a network error", networkError],
  ])("retries %s", (_label, error) => {
    const classified = classifyBedrockError(error);
    expect(classified).toBeInstanceOf(TransientModelError);
    expect(classified.message).toContain(error.message);
  });

  it.each([
    [
      "ValidationException",
      new ValidationException({ message: "Malformed input", $metadata: $metadata(400) }),
    ],
    ["AccessDeniedException", new AccessDeniedException({ message: "No access", $metadata: $metadata(403) })],
    [
      "ResourceNotFoundException",
      new ResourceNotFoundException({ message: "No such model", $metadata: $metadata(404) }),
    ],
    [
      "ServiceQuotaExceededException",
      new ServiceQuotaExceededException({ message: "Quota", $metadata: $metadata(400) }),
    ],
    ["a plain error", new Error("Region is missing")],
  ])("does not retry %s", (_label, error) => {
    const classified = classifyBedrockError(error);
    expect(classified).toBeInstanceOf(ModelRequestError);
    expect(classified.message).toContain(error.message);
  });

  it("names the exception and the status in the message", () => {
    const error = classifyBedrockError(
      new ThrottlingException({ message: "Rate exceeded", $metadata: $metadata(429) }),
    );
    expect(error.message).toBe("Bedrock ThrottlingException (429): Rate exceeded");
    expect((error as TransientModelError).code).toBe("ThrottlingException");
  });
});

// Local only (describeLocal): the Bedrock client is a fake that answers what each test scripts.
describeLocal("the Bedrock provider inside the agent loop", () => {
  beforeAll(() => setupTestEnvironment({ skipTime: true }));
  afterAll(() => teardownTestEnvironment());

  const run = async (client: ReturnType<typeof fakeClient>) => {
    const deps = {
      ...simulatedWorld().deps,
      model: createBedrockModel({ client, modelId: () => "test-model" }),
    };
    const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: createHandler(deps) });
    const result = await runner.run({
      payload: { customerId: "cust-7", orderId: "order-1042", question: "Hi!" },
    });
    return { runner, result };
  };

  it("retries a throttled ConverseCommand as a durable step retry", async () => {
    const throttled = () => new ThrottlingException({ message: "Rate exceeded", $metadata: $metadata(429) });
    const client = fakeClient(throttled(), throttled(), converseOutput());
    const { runner, result } = await run(client);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({
      status: "ANSWERED",
      answer: "Hello!",
      usage: { inputTokens: 120, outputTokens: 8 },
    });
    expect(client.commands).toHaveLength(3);
    expect(runner.getOperation("model-turn-1").getStepDetails()?.attempt).toBe(3);
  });

  it("fails at once on a ValidationException", async () => {
    const client = fakeClient(
      new ValidationException({ message: "The model id is invalid", $metadata: $metadata(400) }),
    );
    const { runner, result } = await run(client);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError()).toMatchObject({
      errorType: "StepError",
      errorMessage: "Bedrock ValidationException (400): The model id is invalid",
    });
    expect(client.commands).toHaveLength(1);
    expect(runner.getOperation("model-turn-1").getStepDetails()?.attempt).toBe(1);
  });
});
