/**
 * Text that someone other than the workflow wrote (the requester's description, supplier, names) on its way
 * into a chat message that an approver trusts. The medium is Slack-compatible mrkdwn, the `text` of an
 * incoming webhook. Without this a requester could write `<!channel>`, `<https://evil.example|Approve>`, a
 * new line reading "Approve: https://...", or *bold* urgency into the message the approver acts on.
 *
 * The rules, in order:
 *   1. one line: control, format and line-separator characters (new lines, bidi overrides, zero-width
 *      characters) become a space, and runs of spaces one space;
 *   2. bounded: at most `maxChars` characters, an ellipsis marking the cut (before escaping, so an escape is
 *      never cut in half);
 *   3. Slack's control sequences: `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;` (so `<!here>`, `<@U1>`
 *      and `<url|label>` show as typed, and do nothing);
 *   4. mentions that some chat tools expand from plain text (`@channel`, `@here`, `@everyone`, `@dana`):
 *      the `@` becomes a full-width `＠`;
 *   5. links: chat tools link `https://...`, `www....` and bare domains; `://` and every dot between two
 *      letters or digits get look-alike characters (`:∕∕`, `․`), so nothing is linked and it still reads;
 *   6. markup: `*`, `_`, `~` and the backtick become look-alikes (`∗`, `ˍ`, `∼`, `ˋ`), so the text cannot
 *      bold, hide or quote itself, nor open a code span that swallows the real links;
 *   7. the double quote becomes a double prime (`″`, still an inch mark): the message quotes requester text,
 *      and the text cannot close that quote and pass the rest off as the workflow's words.
 */
export function chatText(value: string, maxChars: number): string {
  return plainLine(value, maxChars)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/@/g, "＠")
    .replace(/:\/\//g, ":∕∕")
    .replace(/(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])/gu, "․")
    .replace(/\*/g, "∗")
    .replace(/_/g, "ˍ")
    .replace(/~/g, "∼")
    .replace(/`/g, "ˋ")
    .replace(/"/g, "″");
}

/**
 * Rules 1 and 2 on their own: outside text as one line without control, format (bidi, zero-width) or
 * line-separator characters, at most `maxChars` characters (counted as code points, so an emoji is never cut in
 * half), an ellipsis marking the cut. For text on its way into a record, a result, a log line or an error.
 */
export function plainLine(value: string, maxChars: number): string {
  const oneLine = value
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const characters = [...oneLine];
  return characters.length > maxChars
    ? `${characters
        .slice(0, maxChars - 1)
        .join("")
        .trimEnd()}…`
    : oneLine;
}

/** An integer amount of minor units as text, without floating point: 129900 EUR -> "1299.00 EUR". */
export function formatAmount(minorUnits: number, currency: string): string {
  const major = Math.floor(minorUnits / 100);
  const minor = String(minorUnits % 100).padStart(2, "0");
  return `${major}.${minor} ${currency}`;
}
