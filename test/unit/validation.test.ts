/**
 * The rules of lib/validation.ts: content and room names (DESIGN §6), where what passes comes back as
 * it should be stored and what fails is a 400 VALIDATION_ERROR naming the field; and the id and seq
 * parameter rules, which take digit strings from paths and queries but nothing Number() would coerce.
 */
import { Errors } from "moleculer";
import {
  ChatValidator,
  MAX_CONTENT_CODE_POINTS,
  MAX_INT4,
  MAX_ROOM_NAME_CODE_POINTS,
  idParam,
  optionalIdParam,
  seqParam,
  validateContent,
  validateRoomName,
} from "../../lib/validation";

/** The error `run` throws: a client error, 400 VALIDATION_ERROR, with `fields[field]` set. */
function validationError(run: () => unknown, field: string): Errors.MoleculerClientError {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(Errors.MoleculerClientError);
  const err = thrown as Errors.MoleculerClientError;
  expect({ code: err.code, type: err.type }).toEqual({ code: 400, type: "VALIDATION_ERROR" });
  const fields = (err.data as { fields: Record<string, string> }).fields;
  expect(Object.keys(fields)).toEqual([field]);
  expect(fields[field].length).toBeGreaterThan(0);
  return err;
}

describe("validateContent", () => {
  test("the limits are 1,000 code points for content and 100 for room names", () => {
    expect(MAX_CONTENT_CODE_POINTS).toBe(1000);
    expect(MAX_ROOM_NAME_CODE_POINTS).toBe(100);
  });

  test.each([
    ["a single character", "a"],
    ["exactly 1,000 ASCII characters", "x".repeat(1000)],
    ["exactly 1,000 emoji (2,000 UTF-16 units)", "😀".repeat(1000)],
    ["HTML", "<img src=x onerror=alert(1)>"],
    ["surrounding whitespace and newlines", "  two\nlines  "],
    ["a single non-blank character among blanks", " \t.\n "],
    ["other control characters than NUL", "bell\u0007tab\tend"],
    ["combining marks and RTL text", "e\u0301 שלום"],
  ])("accepts %s and returns it verbatim", (_, content) => {
    expect(validateContent(content)).toBe(content);
  });

  test.each([
    ["empty", ""],
    ["spaces", "   "],
    ["tabs and newlines", "\t\n\r"],
    ["no-break and ideographic spaces", "\u00a0\u3000"],
  ])("refuses blank content (%s)", (_, content) => {
    validationError(() => validateContent(content), "content");
  });

  test.each([
    ["1,001 ASCII characters", "x".repeat(1001)],
    ["1,001 emoji", "😀".repeat(1001)],
    ["1,000 emoji and one letter", `${"😀".repeat(1000)}a`],
  ])("refuses content longer than 1,000 code points (%s)", (_, content) => {
    validationError(() => validateContent(content), "content");
  });

  test.each([
    ["a lone NUL", "\u0000"],
    ["a NUL inside text", "hello\u0000world"],
    ["a NUL at the end", "hello\u0000"],
  ])("refuses %s", (_, content) => {
    validationError(() => validateContent(content), "content");
  });

  test.each([
    ["a number", 42],
    ["zero", 0],
    ["a boolean", true],
    ["null", null],
    ["undefined", undefined],
    ["an object", { text: "hi" }],
    ["an array", ["hi"]],
    ["a String object", new String("hi")],
  ])("refuses a non-string: %s", (_, content) => {
    validationError(() => validateContent(content), "content");
  });
});

describe("validateRoomName", () => {
  test.each([
    ["a plain name", "general", "general"],
    ["one character", "a", "a"],
    ["exactly 100 characters", "n".repeat(100), "n".repeat(100)],
    ["exactly 100 emoji", "😀".repeat(100), "😀".repeat(100)],
    ["100 characters plus surrounding spaces", ` ${"n".repeat(100)} `, "n".repeat(100)],
    ["inner spaces", "  team  chat ", "team  chat"],
  ])("accepts %s, trimmed", (_, name, stored) => {
    expect(validateRoomName(name)).toBe(stored);
  });

  test.each([
    ["empty", ""],
    ["whitespace only", " \t\n "],
    ["101 characters", "n".repeat(101)],
    ["101 emoji", "😀".repeat(101)],
    ["a control character", "bad\u0001name"],
    ["a NUL", "bad\u0000name"],
    ["DEL", "bad\u007fname"],
    ["a newline inside", "two\nlines"],
  ])("refuses a name that is %s", (_, name) => {
    validationError(() => validateRoomName(name), "name");
  });

  test.each([
    ["a number", 7],
    ["null", null],
    ["undefined", undefined],
    ["an array", ["general"]],
    ["an object", { name: "general" }],
  ])("refuses a non-string: %s", (_, name) => {
    validationError(() => validateRoomName(name), "name");
  });
});

describe("idParam and seqParam (the wholeNumber rule)", () => {
  const validator = new ChatValidator();

  /** Validates `{value}` like an action's params: the converted value, or the error types. */
  function check(rule: object, value: unknown): { value?: unknown; errors?: string[] } {
    const params: Record<string, unknown> = { value };
    const result = validator.compile({ value: rule })(params) as true | { type: string }[];
    return result === true ? { value: params.value } : { errors: result.map((err) => err.type) };
  }

  test.each([
    [1, 1],
    ["1", 1],
    ["12", 12],
    [MAX_INT4, MAX_INT4],
    [String(MAX_INT4), MAX_INT4],
  ])("an id of %p is accepted as the number %p", (input, output) => {
    expect(check(idParam, input)).toEqual({ value: output });
  });

  test.each([
    ["0", 0],
    ["-1", -1],
    ["a fraction", 1.5],
    ["a fractional string", "1.5"],
    ["a word", "abc"],
    ["SQL", "1 OR 1=1"],
    ["hex", "0x10"],
    ["exponent notation", "1e3"],
    ["padded with spaces", " 5 "],
    ["empty", ""],
    ["true", true],
    ["an array", [5]],
    ["an object", { id: 5 }],
    ["past the integer range", MAX_INT4 + 1],
    ["past the integer range, as a string", "99999999999"],
    ["Infinity", Infinity],
    ["NaN", NaN],
  ])("an id that is %s is refused", (_, input) => {
    expect(check(idParam, input).errors?.length).toBeGreaterThan(0);
  });

  test("a missing or null id is refused as required", () => {
    expect(check(idParam, undefined).errors).toEqual(["required"]);
    expect(check(idParam, null).errors).toEqual(["required"]);
  });

  test("an optional id may be left out", () => {
    expect(check(optionalIdParam, undefined)).toEqual({ value: undefined });
  });

  test.each([
    [0, 0],
    ["0", 0],
    ["7", 7],
  ])("a seq of %p is accepted as %p (0 is allowed)", (input, output) => {
    expect(check(seqParam, input)).toEqual({ value: output });
  });

  test.each([
    ["negative", -1],
    ["a negative string", "-1"],
    ["a word", "abc"],
    ["a fraction", 0.5],
    ["true", true],
    ["false", false],
    ["an array", [1]],
    ["empty", ""],
  ])("a seq that is %s is refused", (_, input) => {
    expect(check(seqParam, input).errors?.length).toBeGreaterThan(0);
  });
});
