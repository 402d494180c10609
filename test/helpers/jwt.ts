/**
 * Hand-made JWTs for attack tests: expired, unsigned, tampered, signed with the wrong key or algorithm.
 * Everything is signed with the test secret unless a test says otherwise.
 */
import { createHmac, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { TEST_JWT_SECRET } from "./app";

export type Claims = Record<string, unknown>;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodePayload(token: string): Claims {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as Claims;
}

/** Access-token claims as the auth service issues them, for the given user. */
export function accessClaims(user: { id: number; username: string }, extra: Claims = {}): Claims {
  return { token_type: "access", user_id: user.id, username: user.username, jti: randomUUID(), ...extra };
}

/** Signs raw claims with HS256 (or `options`); `exp`/`iat` are only what the claims say. */
export function signClaims(claims: Claims, secret: string = TEST_JWT_SECRET, options: jwt.SignOptions = {}): string {
  return jwt.sign(claims, secret, { algorithm: "HS256", noTimestamp: true, ...options });
}

/** HS256 by hand, for claims jsonwebtoken refuses to sign (e.g. a non-numeric `exp`). */
export function signRawHs256(claims: Claims, secret: string = TEST_JWT_SECRET): string {
  const unsigned = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url(claims)}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

/** Seconds since the epoch, `offsetSec` from now. */
export function epoch(offsetSec = 0): number {
  return Math.floor(Date.now() / 1000) + offsetSec;
}

/** A correctly signed access token that expired a minute ago. */
export function expiredAccessToken(user: { id: number; username: string }): string {
  return signClaims(accessClaims(user, { iat: epoch(-3600), exp: epoch(-60) }));
}

/** `alg: none`: the claims with no signature at all. */
export function unsignedToken(claims: Claims): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
}

/** The same header and signature around a different payload (e.g. another user_id). */
export function withPayload(token: string, claims: Claims): string {
  const [header, , signature] = token.split(".");
  return `${header}.${base64url(claims)}.${signature}`;
}

/** One character of the payload segment changed, signature kept. */
export function flipPayloadChar(token: string): string {
  const [header, payload, signature] = token.split(".");
  // The middle of the payload: every bit of that character is part of the decoded bytes.
  const i = Math.floor(payload.length / 2);
  const flipped = payload[i] === "A" ? "B" : "A";
  return `${header}.${payload.slice(0, i)}${flipped}${payload.slice(i + 1)}.${signature}`;
}
