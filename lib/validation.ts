import { Validators } from "moleculer";
import { errors } from "./errors";

/** Largest id or seq the database holds (a PostgreSQL integer). */
export const MAX_INT4 = 2_147_483_647;

interface RuleContext {
  schema: { min?: number };
  messages: unknown;
}
interface RuleCompiler {
  makeError(opts: { type: string; actual: string; expected?: number; messages: unknown }): string;
}

/**
 * fastest-validator rule "wholeNumber": an integer, or a string of digits (paths and queries), within
 * `min` and the database's integer range. Unlike `convert: true` it refuses what Number() would quietly
 * turn into a number: true, null, "", [5].
 */
function wholeNumberRule(
  this: RuleCompiler,
  { schema, messages }: RuleContext,
): { sanitized: boolean; source: string } {
  const min = schema.min ?? 0;
  return {
    sanitized: true,
    source: `
      var origValue = value;
      if (typeof value === "string" && /^-?[0-9]{1,16}$/.test(value)) value = Number(value);
      if (typeof value !== "number" || !Number.isInteger(value)) {
        ${this.makeError({ type: "numberInteger", actual: "origValue", messages })}
        return value;
      }
      if (value < ${min}) {
        ${this.makeError({ type: "numberMin", expected: min, actual: "origValue", messages })}
      }
      if (value > ${MAX_INT4}) {
        ${this.makeError({ type: "numberMax", expected: MAX_INT4, actual: "origValue", messages })}
      }
      return value;
    `,
  };
}

/** Moleculer's fastest-validator with the project's own rules. */
export class ChatValidator extends Validators.Fastest {
  constructor() {
    super();
    // The typings do not expose the fastest-validator instance Moleculer wraps.
    (this as unknown as { validator: { add(name: string, rule: unknown): void } }).validator.add(
      "wholeNumber",
      wholeNumberRule,
    );
  }
}

/** Ids from paths, queries and bodies ("12" or 12), refusing "abc", "1 OR 1=1", true or [12]. */
export const idParam = { type: "wholeNumber", min: 1 } as const;
export const optionalIdParam = { ...idParam, optional: true } as const;
/** A seq cursor: 0 or more. */
export const seqParam = { type: "wholeNumber", min: 0 } as const;

export const MAX_CONTENT_CODE_POINTS = 1000;
export const MAX_ROOM_NAME_CODE_POINTS = 100;

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Message content rules: 1..1000 code points, not blank, no NUL. Returns the content verbatim. */
export function validateContent(content: unknown): string {
  if (typeof content !== "string") throw errors.validation({ content: "Content must be a string" });
  if (content.includes("\u0000")) throw errors.validation({ content: "Content must not contain NUL characters" });
  if (content.trim().length === 0) throw errors.validation({ content: "Content must not be empty" });
  if (codePoints(content) > MAX_CONTENT_CODE_POINTS) {
    throw errors.validation({ content: `Content must be at most ${MAX_CONTENT_CODE_POINTS} characters` });
  }
  return content;
}

/** Room name rules: 1..100 code points after trimming, no control characters. Returns it trimmed. */
export function validateRoomName(name: unknown): string {
  if (typeof name !== "string") throw errors.validation({ name: "Name must be a string" });
  const trimmed = name.trim();
  if (trimmed.length === 0) throw errors.validation({ name: "Name must not be empty" });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed))
    throw errors.validation({ name: "Name must not contain control characters" });
  if (codePoints(trimmed) > MAX_ROOM_NAME_CODE_POINTS) {
    throw errors.validation({ name: `Name must be at most ${MAX_ROOM_NAME_CODE_POINTS} characters` });
  }
  return trimmed;
}
