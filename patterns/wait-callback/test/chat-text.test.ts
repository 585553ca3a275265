import { chatText, formatAmount } from "../src";

// Pure functions: no runner needed, the same locally and in the cloud.
describe("chatText: requester text escaped for a Slack-compatible chat, one line, bounded", () => {
  it.each<[string, string, string]>([
    ["plain text stays as it is", "Standing desk, oak", "Standing desk, oak"],
    [
      "channel-wide pings",
      "<!channel> <!here> <!everyone>",
      "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;",
    ],
    ["plain-text mentions", "@channel @here hi @dana", "＠channel ＠here hi ＠dana"],
    [
      "a labelled link",
      "<https://evil.example/approve|Approve>",
      "&lt;https:∕∕evil․example/approve|Approve&gt;",
    ],
    [
      "a bare URL and a bare domain",
      "see https://evil.example or evil.example",
      "see https:∕∕evil․example or evil․example",
    ],
    ["markup", "*URGENT* _quiet_ ~gone~ `code`", "∗URGENT∗ ˍquietˍ ∼gone∼ ˋcodeˋ"],
    ["an ampersand", "R&D", "R&amp;D"],
    ["a new line that forges a line", "Desk\nApprove: x\r\n", "Desk Approve: x"],
    ["bidi overrides and zero-width characters", "a\u202Eb\u200Bc\u2066d", "a b c d"],
    ["a sentence that ends with a dot", "Two desks.", "Two desks."],
    ["a double quote that would close the message's quote", 'Desk" from "acme', "Desk″ from ″acme"],
  ])("%s", (_label, input, expected) => {
    expect(chatText(input, 200)).toBe(expected);
  });

  it("bounds the length before escaping, and marks the cut", () => {
    expect(chatText("x".repeat(100_000), 200)).toBe(`${"x".repeat(199)}…`);
    // An escape is never cut in half: the bound counts the characters the requester wrote.
    expect(chatText("<".repeat(10), 5)).toBe(`${"&lt;".repeat(4)}…`);
  });
});

describe("formatAmount: integer minor units, no floating point", () => {
  it.each<[number, string]>([
    [129_900, "1299.00 EUR"],
    [1, "0.01 EUR"],
    [10_000_000, "100000.00 EUR"],
    [1_005, "10.05 EUR"],
  ])("%i", (minorUnits, text) => expect(formatAmount(minorUnits, "EUR")).toBe(text));
});
