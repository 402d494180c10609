import { ErrorCode } from "./errors";
import type { FieldErrors } from "./errors";

/** The error body of every REST answer: `{error, code, fields?}`. */
export interface ErrorBody {
  error: string;
  code: string;
  fields?: FieldErrors;
}

export interface HttpError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  status?: unknown;
  type?: unknown;
  data?: unknown;
}

/** fastest-validator reports `[{field, message}]`; clients get `{field: message}`. */
function validatorFields(data: unknown): FieldErrors | undefined {
  if (!Array.isArray(data)) return undefined;
  const fields: FieldErrors = {};
  for (const item of data as { field?: string; message?: string }[]) {
    if (item.field && !fields[item.field]) fields[item.field] = item.message ?? "Invalid value";
  }
  return fields;
}

/**
 * Maps anything thrown while serving a request (client errors of the services, body-parser and
 * moleculer-web errors, infrastructure faults) to a status and a stable error body. Only client
 * errors keep their message; everything else becomes a generic 5xx.
 */
export function toHttpError(thrown: unknown): HttpError {
  const err = (thrown ?? {}) as ErrorLike;
  const status = typeof err.code === "number" ? err.code : typeof err.status === "number" ? err.status : 500;
  const type = typeof err.type === "string" ? err.type : undefined;
  const message = err.message ?? "Error";

  // body-parser
  if (type === "entity.too.large" || status === 413) {
    return {
      status: 413,
      body: { error: "Request body is too large", code: ErrorCode.PAYLOAD_TOO_LARGE },
      headers: {},
    };
  }
  // A body that does not inflate (moleculer-web keeps zlib's string code, e.g. Z_DATA_ERROR, and drops
  // the 400), or that ended before its Content-Length.
  if (
    (typeof err.code === "string" && err.code.startsWith("Z_")) ||
    type === "request.aborted" ||
    type === "request.size.invalid"
  ) {
    return { status: 400, body: { error: "Malformed request body", code: ErrorCode.INVALID_JSON }, headers: {} };
  }
  if (type === "entity.parse.failed") {
    return { status: 400, body: { error: "Malformed JSON body", code: ErrorCode.INVALID_JSON }, headers: {} };
  }
  if (type === "encoding.unsupported" || type === "charset.unsupported" || status === 415) {
    return { status: 415, body: { error: "Unsupported body encoding", code: ErrorCode.VALIDATION_ERROR }, headers: {} };
  }
  // fastest-validator (422 in Moleculer) and our own validation errors
  if (type === ErrorCode.VALIDATION_ERROR) {
    const data = err.data as { fields?: FieldErrors } | undefined;
    const fields = data?.fields ?? validatorFields(err.data) ?? {};
    const error = status === 422 ? "Invalid input" : message;
    return { status: 400, body: { error, code: ErrorCode.VALIDATION_ERROR, fields }, headers: {} };
  }
  // moleculer-web's own authentication errors
  if (type === "NO_TOKEN" || type === "INVALID_TOKEN") {
    return { status: 401, body: { error: message, code: ErrorCode.UNAUTHORIZED }, headers: {} };
  }
  if (err.name === "NotFoundError" || (status === 404 && type === "NOT_FOUND")) {
    return { status: 404, body: { error: message, code: ErrorCode.NOT_FOUND }, headers: {} };
  }
  // A service is missing or slow: the request may be retried, and the client did nothing wrong.
  if (
    ["ServiceNotFoundError", "ServiceNotAvailableError", "RequestTimeoutError", "MaxCallLevelError"].includes(
      err.name ?? "",
    )
  ) {
    return {
      status: 503,
      body: { error: "Service temporarily unavailable", code: ErrorCode.SERVICE_UNAVAILABLE },
      headers: { "Retry-After": "1" },
    };
  }
  if (status === 429) {
    const retryAfter = (err.data as { retryAfter?: number } | undefined)?.retryAfter ?? 1;
    return {
      status,
      body: { error: message, code: ErrorCode.RATE_LIMITED },
      headers: { "Retry-After": String(retryAfter) },
    };
  }
  if (status >= 400 && status < 500) {
    return { status, body: { error: message, code: type ?? "BAD_REQUEST" }, headers: {} };
  }
  return { status: 500, body: { error: "Internal server error", code: ErrorCode.INTERNAL_ERROR }, headers: {} };
}
