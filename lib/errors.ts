import { Errors } from "moleculer";

/** Machine-readable error codes shared by every service, the gateway and the socket layer. */
export const ErrorCode = {
  VALIDATION_ERROR: "VALIDATION_ERROR",
  INVALID_JSON: "INVALID_JSON",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  USERNAME_TAKEN: "USERNAME_TAKEN",
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  UNAUTHORIZED: "UNAUTHORIZED",
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  ROOM_FULL: "ROOM_FULL",
  ALREADY_MEMBER: "ALREADY_MEMBER",
  NOT_A_MEMBER: "NOT_A_MEMBER",
  DIRECT_ROOM: "DIRECT_ROOM",
  MESSAGE_DELETED: "MESSAGE_DELETED",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type FieldErrors = Record<string, string>;

function clientError(message: string, status: number, code: ErrorCode, data?: unknown): Errors.MoleculerClientError {
  return new Errors.MoleculerClientError(message, status, code, data);
}

export const errors = {
  validation: (fields: FieldErrors, message = "Invalid input") =>
    clientError(message, 400, ErrorCode.VALIDATION_ERROR, { fields }),
  badRequest: (code: ErrorCode, message: string) => clientError(message, 400, code),
  unauthorized: (
    message = "Authentication credentials were not provided or are invalid",
    code: ErrorCode = ErrorCode.UNAUTHORIZED,
  ) => clientError(message, 401, code),
  forbidden: (message = "You do not have permission to perform this action", code: ErrorCode = ErrorCode.FORBIDDEN) =>
    clientError(message, 403, code),
  notFound: (what: string) => clientError(`${what} not found`, 404, ErrorCode.NOT_FOUND),
  conflict: (code: ErrorCode, message: string) => clientError(message, 409, code),
  rateLimited: (retryAfterSec: number) =>
    clientError("Too many requests, slow down", 429, ErrorCode.RATE_LIMITED, { retryAfter: retryAfterSec }),
};
