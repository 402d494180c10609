import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { ErrorCode, errors } from "./errors";
import type { AuthUser } from "../types";

/** Claims in the style of djangorestframework-simplejwt, so the original clients can read them. */
export interface AccessClaims {
  token_type: "access";
  user_id: number;
  username: string;
  jti: string;
  exp: number;
}

export interface RefreshClaims {
  token_type: "refresh";
  user_id: number;
  jti: string;
  family: string;
  exp: number;
}

export type TokenClaims = AccessClaims | RefreshClaims;

const ALGORITHM = "HS256";

export function signAccessToken(secret: string, user: { id: number; username: string }, ttlSec: number): string {
  const claims = { token_type: "access", user_id: user.id, username: user.username, jti: randomUUID() };
  return jwt.sign(claims, secret, { algorithm: ALGORITHM, expiresIn: ttlSec });
}

export function signRefreshToken(
  secret: string,
  userId: number,
  family: string,
  ttlSec: number,
): { token: string; jti: string; expiresAt: Date } {
  const jti = randomUUID();
  const token = jwt.sign({ token_type: "refresh", user_id: userId, jti, family }, secret, {
    algorithm: ALGORITHM,
    expiresIn: ttlSec,
  });
  return { token, jti, expiresAt: new Date(Date.now() + ttlSec * 1000) };
}

/**
 * Verifies signature (HS256 only: `alg: none` and RS/HS confusion are refused), expiry (an `exp`
 * claim is mandatory) and the token type the caller expects; anything else is a 401.
 */
export function verifyToken<T extends TokenClaims["token_type"]>(
  secret: string,
  token: string,
  expectedType: T,
): Extract<TokenClaims, { token_type: T }> {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, secret, { algorithms: [ALGORITHM] });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw errors.unauthorized("Token has expired", ErrorCode.TOKEN_EXPIRED);
    throw errors.unauthorized("Token is invalid");
  }
  if (typeof payload !== "object" || typeof payload.exp !== "number") {
    throw errors.unauthorized("Token is invalid");
  }
  if (payload.token_type !== expectedType || !Number.isInteger(payload.user_id)) {
    throw errors.unauthorized(`Token is not a valid ${expectedType} token`);
  }
  return payload as Extract<TokenClaims, { token_type: T }>;
}

/** The caller named by a valid access token. */
export function userFromAccessToken(secret: string, token: string): AuthUser {
  const claims = verifyToken(secret, token, "access");
  return { id: claims.user_id, username: claims.username };
}
