import * as z from "zod/mini";
import { toolInputs, toolSpecs } from "../src/tools";

// The model is shown src/tool-json-schemas.ts; the zod schemas in src/tools.ts validate what it sends. They must
// say the same thing, byte for byte (key order included: the model sees exactly this text).
describe("the JSON Schemas the model is shown", () => {
  it.each(Object.keys(toolInputs) as (keyof typeof toolInputs)[])(
    "%s: the same as z.toJSONSchema of the zod schema that validates its arguments",
    (name) => {
      const { $schema: _dialect, ...generated } = z.toJSONSchema(toolInputs[name]);
      const shown = toolSpecs.find((spec) => spec.name === name)?.inputSchema;
      expect(JSON.stringify(shown)).toBe(JSON.stringify(generated));
    },
  );
});
