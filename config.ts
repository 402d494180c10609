/**
 * The one place that reads the environment. Every setting is validated here so a bad value stops
 * start-up with a single clear line (see server.ts) instead of failing later inside a service.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** In creation order: io attaches to the api service's HTTP server. */
export const ALL_SERVICES = ["api", "io", "auth", "rooms", "messages", "presence"] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

export interface Config {
  port: number;
  services: ServiceName[];
  /** Moleculer transporter connection string; null means the in-process local transporter. */
  transporter: string | null;
  redisUrl: string | null;
  /** postgres://… or sqlite:<file> / sqlite::memory: */
  databaseUrl: string;
  jwtSecret: string;
  /** True when the secret was generated into ./data because none was configured. */
  jwtSecretGenerated: boolean;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  nodeId: string | undefined;
  /** Moleculer namespace: clusters sharing one NATS and Redis stay apart when it differs. */
  namespace: string;
  logLevel: LogLevel;
  corsOrigins: string[];
  bodyLimit: string;
  msgRatePerSec: number;
  msgBurst: number;
  production: boolean;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

const DEFAULT_DATA_DIR = "data";

function nonEmpty(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value ? value : undefined;
}

function parseInteger(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, key);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${key} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${key} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function parseUrl(key: string, raw: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${key} is not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${key} must use ${protocols.join(" or ")}, got "${url.protocol}"`);
  }
  if (!url.hostname) throw new ConfigError(`${key} has no host`);
  return url;
}

function parseServices(env: Env): ServiceName[] {
  const raw = env.SERVICES?.trim();
  if (raw === undefined || raw === "" || raw === "*" || raw === "all") return [...ALL_SERVICES];
  const names = raw
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(ALL_SERVICES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new ConfigError(`SERVICES has unknown service(s): ${unknown.join(", ")}; known: ${ALL_SERVICES.join(", ")}`);
  }
  if (names.includes("io") && !names.includes("api")) {
    throw new ConfigError("SERVICES: io runs on the api service's HTTP server, so it needs api on the same node");
  }
  return ALL_SERVICES.filter((name) => names.includes(name));
}

function parseDatabaseUrl(env: Env): string {
  const raw = nonEmpty(env, "DATABASE_URL");
  if (raw === undefined) return `sqlite:${DEFAULT_DATA_DIR}/chat.sqlite`;
  if (raw.startsWith("sqlite:")) {
    if (raw === "sqlite:") throw new ConfigError("DATABASE_URL sqlite: needs a file name or :memory:");
    return raw;
  }
  parseUrl("DATABASE_URL", raw, ["postgres:", "postgresql:"]);
  return raw;
}

function parseTransporter(env: Env): string | null {
  const raw = nonEmpty(env, "TRANSPORTER");
  if (raw === undefined || raw === "local") return null;
  parseUrl("TRANSPORTER", raw, ["nats:"]);
  return raw;
}

function parseNamespace(env: Env): string {
  const raw = nonEmpty(env, "NAMESPACE") ?? "chat";
  if (!/^[\w-]{1,64}$/.test(raw)) throw new ConfigError(`NAMESPACE must be letters, digits, - or _, got "${raw}"`);
  return raw;
}

function parseLogLevel(env: Env): LogLevel {
  const raw = (nonEmpty(env, "LOG_LEVEL") ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  }
  return raw as LogLevel;
}

/** A size body-parser understands ("64kb", "1mb", "2048"); it would read a typo as "no limit". */
function parseBodyLimit(env: Env): string {
  const raw = nonEmpty(env, "BODY_LIMIT");
  if (raw === undefined) return "64kb";
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(raw);
  if (!match || Number(match[1]) <= 0) {
    throw new ConfigError(`BODY_LIMIT must be a positive size such as 64kb or 1mb, got "${raw}"`);
  }
  return raw;
}

function parseCorsOrigins(env: Env): string[] {
  const raw = nonEmpty(env, "CORS_ORIGINS");
  if (raw === undefined) return [];
  const origins = raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin !== "*") parseUrl("CORS_ORIGINS", origin, ["http:", "https:"]);
  }
  return origins;
}

/** A secret from the environment, or (outside production) one generated once and kept in ./data. */
function resolveJwtSecret(env: Env, production: boolean): { secret: string; generated: boolean } {
  const raw = nonEmpty(env, "JWT_SECRET");
  if (raw !== undefined) {
    if (Buffer.byteLength(raw) < 32) {
      if (production) throw new ConfigError("JWT_SECRET must be at least 32 bytes in production");
    }
    return { secret: raw, generated: false };
  }
  if (production) throw new ConfigError("JWT_SECRET is required when NODE_ENV=production");
  const file = resolve(DEFAULT_DATA_DIR, "jwt-secret");
  if (existsSync(file)) return { secret: readFileSync(file, "utf8").trim(), generated: true };
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  writeFileSync(file, secret, { mode: 0o600 });
  return { secret, generated: true };
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === "production";
  const { secret, generated } = resolveJwtSecret(env, production);
  return {
    port: parseInteger(env, "PORT", 3000, 0, 65535),
    services: parseServices(env),
    transporter: parseTransporter(env),
    redisUrl: nonEmpty(env, "REDIS_URL")
      ? parseUrl("REDIS_URL", env.REDIS_URL!.trim(), ["redis:", "rediss:"]).href
      : null,
    databaseUrl: parseDatabaseUrl(env),
    jwtSecret: secret,
    jwtSecretGenerated: generated,
    accessTokenTtlSec: parseInteger(env, "ACCESS_TOKEN_TTL", 30 * 60, 60, 24 * 3600),
    refreshTokenTtlSec: parseInteger(env, "REFRESH_TOKEN_TTL", 14 * 24 * 3600, 300, 90 * 24 * 3600),
    nodeId: nonEmpty(env, "NODE_ID"),
    namespace: parseNamespace(env),
    logLevel: parseLogLevel(env),
    corsOrigins: parseCorsOrigins(env),
    bodyLimit: parseBodyLimit(env),
    msgRatePerSec: parseInteger(env, "MSG_RATE_PER_SEC", 5, 1, 1_000_000),
    msgBurst: parseInteger(env, "MSG_BURST", 20, 1, 1_000_000),
    production,
  };
}
