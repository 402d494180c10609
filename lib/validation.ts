import { errors } from "./errors";

/** fastest-validator rule for ids coming from paths and queries ("12"), refusing "abc" or "1 OR 1=1". */
export const idParam = { type: "number", integer: true, positive: true, convert: true } as const;
export const optionalIdParam = { ...idParam, optional: true } as const;
/** A seq cursor: 0 or more. */
export const seqParam = { type: "number", integer: true, min: 0, convert: true } as const;

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
