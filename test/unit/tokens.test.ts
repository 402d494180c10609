/** lib/tokens.ts: what the gateway and the auth service accept as a JWT, and what they refuse. */
import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { Errors } from "moleculer";
import { signAccessToken, signRefreshToken, userFromAccessToken, verifyToken } from "../../lib/tokens";
import { TEST_JWT_SECRET } from "../helpers/app";
import {
  accessClaims,
  decodePayload,
  epoch,
  expiredAccessToken,
  flipPayloadChar,
  signClaims,
  signRawHs256,
  unsignedToken,
  withPayload,
} from "../helpers/jwt";

const SECRET = TEST_JWT_SECRET;
const alice = { id: 7, username: "alice" };

/** Runs `fn`, expecting a 401 client error with `code`; returns the error for further checks. */
function expect401(fn: () => unknown, code = "UNAUTHORIZED"): Errors.MoleculerClientError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(Errors.MoleculerClientError);
  const err = thrown as Errors.MoleculerClientError;
  expect(err.code).toBe(401);
  expect(err.type).toBe(code);
  return err;
}

describe("signAccessToken / userFromAccessToken", () => {
  test("round-trips the user and carries simplejwt-style claims with an expiry of now + ttl", () => {
    const token = signAccessToken(SECRET, alice, 1800);
    expect(userFromAccessToken(SECRET, token)).toEqual({ id: 7, username: "alice" });
    const claims = decodePayload(token);
    expect(claims).toMatchObject({ token_type: "access", user_id: 7, username: "alice", jti: expect.any(String) });
    expect(claims.exp).toBeGreaterThanOrEqual(epoch(1800) - 2);
    expect(claims.exp).toBeLessThanOrEqual(epoch(1800) + 2);
    expect(JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString())).toMatchObject({ alg: "HS256" });
  });

  test("gives every token its own jti", () => {
    const a = decodePayload(signAccessToken(SECRET, alice, 60));
    const b = decodePayload(signAccessToken(SECRET, alice, 60));
    expect(a.jti).not.toBe(b.jti);
  });
});

describe("signRefreshToken", () => {
  test("returns the token with its jti, family and expiry, and it verifies as a refresh token", () => {
    const before = Date.now();
    const { token, jti, expiresAt } = signRefreshToken(SECRET, 7, "family-1", 3600);
    const claims = verifyToken(SECRET, token, "refresh");
    expect(claims).toMatchObject({ token_type: "refresh", user_id: 7, jti, family: "family-1" });
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);
  });
});

describe("verifyToken refuses", () => {
  test("an expired access token with TOKEN_EXPIRED", () => {
    expect401(() => userFromAccessToken(SECRET, expiredAccessToken(alice)), "TOKEN_EXPIRED");
  });

  test("an expired refresh token with TOKEN_EXPIRED", () => {
    const token = signClaims({ token_type: "refresh", user_id: 7, jti: "j", family: "f", exp: epoch(-1) });
    expect401(() => verifyToken(SECRET, token, "refresh"), "TOKEN_EXPIRED");
  });

  test("a token without exp", () => {
    expect401(() => userFromAccessToken(SECRET, signClaims(accessClaims(alice))));
  });

  test("a token whose exp is not a number", () => {
    const token = signRawHs256(accessClaims(alice, { exp: "never" }));
    // Correctly signed, so only the claim itself can be the reason for the refusal.
    expect(userFromAccessToken(SECRET, signRawHs256(accessClaims(alice, { exp: epoch(600) })))).toEqual(alice);
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test("a token that is not valid yet (nbf in the future)", () => {
    expect401(() => userFromAccessToken(SECRET, signClaims(accessClaims(alice, { exp: epoch(600), nbf: epoch(300) }))));
  });

  test("a token with one payload character changed", () => {
    const token = signAccessToken(SECRET, alice, 600);
    expect401(() => userFromAccessToken(SECRET, flipPayloadChar(token)));
  });

  test("a token whose payload was swapped for another user's, signature kept", () => {
    const token = signAccessToken(SECRET, alice, 600);
    const forged = withPayload(token, { ...decodePayload(token), user_id: 1, username: "admin" });
    expect401(() => userFromAccessToken(SECRET, forged));
  });

  test("an unsigned token (alg: none)", () => {
    expect401(() => userFromAccessToken(SECRET, unsignedToken(accessClaims(alice, { exp: epoch(600) }))));
  });

  test("alg: none even with a signature segment appended", () => {
    const signed = signAccessToken(SECRET, alice, 600);
    const none = unsignedToken(accessClaims(alice, { exp: epoch(600) }));
    expect401(() => userFromAccessToken(SECRET, none + signed.split(".")[2]));
  });

  test("a token signed with another secret", () => {
    const token = signAccessToken("another-secret-that-is-long-enough-0123456789", alice, 600);
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test("a token signed with the right secret but HS512 (the algorithm is pinned to HS256)", () => {
    const token = signClaims(accessClaims(alice, { exp: epoch(600) }), SECRET, { algorithm: "HS512" });
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test("an RS256 token", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const token = jwt.sign(accessClaims(alice, { exp: epoch(600) }), privateKey, { algorithm: "RS256" });
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test("a refresh token where an access token is expected", () => {
    const { token } = signRefreshToken(SECRET, 7, "family-1", 600);
    const err = expect401(() => userFromAccessToken(SECRET, token));
    expect(err.message).toMatch(/access/);
  });

  test("an access token where a refresh token is expected", () => {
    const token = signAccessToken(SECRET, alice, 600);
    expect401(() => verifyToken(SECRET, token, "refresh"));
  });

  test("a token without token_type", () => {
    const { token_type: _omit, ...claims } = accessClaims(alice, { exp: epoch(600) });
    expect401(() => userFromAccessToken(SECRET, signClaims(claims)));
  });

  test.each([
    ["a string", "7"],
    ["a fraction", 7.5],
    ["missing", undefined],
    ["null", null],
  ])("a token whose user_id is %s", (_label, userId) => {
    const token = signClaims(accessClaims(alice, { exp: epoch(600), user_id: userId }));
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test("a signed token whose payload is a bare string, not claims", () => {
    const token = jwt.sign("just a string", SECRET, { algorithm: "HS256" });
    expect401(() => userFromAccessToken(SECRET, token));
  });

  test.each([
    ["an empty string", ""],
    ["garbage", "not-a-jwt"],
    ["three empty segments", ".."],
    ["non-base64 segments", "a.b.c"],
    ["a header only", "eyJhbGciOiJIUzI1NiJ9"],
  ])("%s", (_label, token) => {
    expect401(() => userFromAccessToken(SECRET, token));
  });
});
