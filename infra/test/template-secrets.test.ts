import { InvalidConfigError } from "../lib/config";
import { PATTERNS, SECRET_PLACEHOLDER, secretSettings } from "../lib/patterns";
import { synthFixture } from "./helpers";

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment
   -- the synthesized CloudFormation template is untyped JSON */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every plain URL each pattern's README lists (the secret settings, the chat webhook URL among them, are not here). */
const PLAIN_URLS: Record<string, string[]> = {
  steps: ["INVENTORY_API_URL", "PAYMENTS_API_URL", "SHIPPING_API_URL", "NOTIFICATIONS_API_URL"],
  "wait-callback": ["PURCHASING_API_URL", "SUPPLIER_API_URL", "APPROVAL_PAGE_URL"],
  "map-parallel": [
    "CRM_API_URL",
    "LEDGER_API_URL",
    "TAX_REGISTRY_API_URL",
    "INVOICING_API_URL",
    "FX_ATLAS_URL",
    "FX_BEACON_URL",
    "FX_CEDAR_URL",
  ],
  saga: [
    "FLIGHTS_API_URL",
    "HOTELS_API_URL",
    "CARS_API_URL",
    "ITINERARIES_API_URL",
    "OPERATIONS_API_URL",
    "PAYMENTS_API_URL",
    "PAYMENT_GATEWAY_URL",
  ],
  "agent-loop": ["BACK_OFFICE_URL"],
  "entry-points": ["ORDERS_API_URL", "PAYMENTS_API_URL", "WAREHOUSE_API_URL", "ALERTS_API_URL"],
};
const patternEnvironment = Object.fromEntries(
  Object.entries(PLAIN_URLS).map(([pattern, names]) => [
    pattern,
    Object.fromEntries(
      names.map((name) => [name, `https://${name.toLowerCase().replace(/_/g, "-")}.example.com/base/`]),
    ),
  ]),
);

/** Every string in a JSON value, with its path. */
function strings(value: unknown, at = "$"): Array<{ at: string; text: string }> {
  if (typeof value === "string") return [{ at, text: value }];
  if (Array.isArray(value)) return value.flatMap((inner, index) => strings(inner, `${at}[${index}]`));
  if (typeof value === "object" && value !== null)
    return Object.entries(value).flatMap(([key, inner]) => [
      { at: `${at}.${key}#key`, text: key },
      ...strings(inner, `${at}.${key}`),
    ]);
  return [];
}

describe("with every plain URL configured", () => {
  const { template } = synthFixture({ patternEnvironment: JSON.stringify(patternEnvironment) });
  const json: Json = template.toJSON();
  const resources = json.Resources as Record<string, Json>;
  const functions = Object.values(resources).filter((r) => r.Type === "AWS::Lambda::Function");

  it("the durable functions get every URL as configured", () => {
    for (const [pattern, names] of Object.entries(PLAIN_URLS)) {
      const withUrls = functions.filter((fn) =>
        names.every(
          (name) => fn.Properties.Environment?.Variables?.[name] === patternEnvironment[pattern]![name],
        ),
      );
      expect(withUrls.length).toBeGreaterThanOrEqual(1);
    }
  });

  it("no environment variable that looks like a secret holds anything but a secret's ARN", () => {
    const variables = functions.flatMap((fn) =>
      Object.entries((fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>),
    );
    const secretLike = variables.filter(([name]) =>
      /(_TOKEN$|SECRET|PASSWORD|_API_KEY$|WEBHOOK_URL$)/i.test(name),
    );
    // 14 declared settings + the front door's WEBHOOK_SECRET_ARN.
    expect(secretLike).toHaveLength(15);
    for (const [name, value] of secretLike) {
      expect(name).toMatch(/_SECRET_ARN$/);
      expect(value).toEqual({ Ref: expect.stringMatching(/Secret[A-F0-9]{8}$/) });
    }
    const declared = PATTERNS.flatMap(secretSettings);
    for (const setting of declared) expect(variables.map(([name]) => name)).not.toContain(setting);
  });

  it("the placeholder is the only secret value in the template; no URL carries a credential", () => {
    const all = strings(json);
    const secretStrings = Object.values(resources)
      .filter((r) => r.Type === "AWS::SecretsManager::Secret")
      .map((r) => r.Properties.SecretString as unknown);
    // The 14 settings hold the placeholder; the front door's signing secret is generated (GenerateSecretString).
    expect(secretStrings.filter((value) => value === SECRET_PLACEHOLDER)).toHaveLength(14);
    expect(secretStrings.filter((value) => value !== SECRET_PLACEHOLDER)).toEqual([undefined]);
    const urls = all.filter(({ text }) => /^https?:\/\//.test(text));
    expect(urls.length).toBeGreaterThanOrEqual(Object.values(PLAIN_URLS).flat().length);
    for (const { at, text } of urls) {
      const url = new URL(text);
      expect({ at, userinfo: url.username + url.password }).toEqual({ at, userinfo: "" });
      expect({ at, query: [...url.searchParams.keys()].filter((key) => /token|key|sig/i.test(key)) }).toEqual(
        {
          at,
          query: [],
        },
      );
    }
    // Nothing shaped like a bearer token or a key anywhere: Bearer headers, sk-/xox-/ghp_ style tokens.
    for (const { at, text } of all) {
      expect({ at, text }).not.toEqual({
        at,
        text: expect.stringMatching(/Bearer\s|\bsk-|\bxox[abp]-|\bghp_/),
      });
    }
  });
});

it("refuses, at synth, a token set through patternEnvironment, naming the key", () => {
  expect(() =>
    synthFixture({
      patternEnvironment: JSON.stringify({ steps: { ORDER_API_TOKEN: "tok_live_123" } }),
    }),
  ).toThrow(InvalidConfigError);
  expect(() =>
    synthFixture({
      patternEnvironment: JSON.stringify({
        "wait-callback": { APPROVAL_CHAT_WEBHOOK_URL: "https://hooks.example.com/T0/B0/x" },
      }),
    }),
  ).toThrow("patternEnvironment.wait-callback.APPROVAL_CHAT_WEBHOOK_URL is a secret setting");
});
