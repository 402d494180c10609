/** config.ts: the environment, parsed and validated; a bad value stops start-up with one line. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_SERVICES, ConfigError, loadConfig } from "../../config";
import { TEST_JWT_SECRET } from "../helpers/app";

type Env = Record<string, string | undefined>;

const SECRET = TEST_JWT_SECRET;
const ROOT = join(__dirname, "..", "..");

/** A config from `env` plus a valid secret, so no test writes a generated one into the working directory. */
function load(env: Env = {}) {
  return loadConfig({ JWT_SECRET: SECRET, ...env });
}

/** Expects loadConfig(env) to throw a ConfigError whose message matches every pattern. */
function expectConfigError(env: Env, ...patterns: RegExp[]): void {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  for (const pattern of patterns) expect((thrown as Error).message).toMatch(pattern);
}

describe("loadConfig defaults", () => {
  test("an empty environment (plus a secret) gives one local node running every service", () => {
    const config = load();
    expect(config).toMatchObject({
      port: 3000,
      transporter: null,
      redisUrl: null,
      databaseUrl: "sqlite:data/chat.sqlite",
      jwtSecret: SECRET,
      jwtSecretGenerated: false,
      accessTokenTtlSec: 1800,
      refreshTokenTtlSec: 1_209_600,
      nodeId: undefined,
      logLevel: "info",
      corsOrigins: [],
      bodyLimit: "64kb",
      production: false,
    });
    expect([...config.services].sort()).toEqual([...ALL_SERVICES].sort());
    expect(config.services).toEqual(expect.arrayContaining(["api", "auth", "rooms", "messages"]));
  });

  test("blank values count as unset", () => {
    const config = load({
      PORT: " ",
      SERVICES: "",
      TRANSPORTER: "  ",
      DATABASE_URL: "",
      REDIS_URL: " ",
      LOG_LEVEL: "",
    });
    expect(config).toMatchObject({
      port: 3000,
      transporter: null,
      redisUrl: null,
      databaseUrl: "sqlite:data/chat.sqlite",
      logLevel: "info",
    });
    expect([...config.services].sort()).toEqual([...ALL_SERVICES].sort());
  });

  test("reads every setting it is given", () => {
    const config = load({
      PORT: "8080",
      SERVICES: "auth,rooms",
      TRANSPORTER: "nats://nats.internal:4222",
      DATABASE_URL: "postgres://chat@db.internal:5432/chat",
      REDIS_URL: "redis://cache.internal:6379",
      ACCESS_TOKEN_TTL: "900",
      REFRESH_TOKEN_TTL: "86400",
      NODE_ID: "node-7",
      LOG_LEVEL: "DEBUG",
      CORS_ORIGINS: "https://chat.example.com, http://localhost:5173",
      BODY_LIMIT: "128kb",
    });
    expect(config).toMatchObject({
      port: 8080,
      transporter: "nats://nats.internal:4222",
      databaseUrl: "postgres://chat@db.internal:5432/chat",
      redisUrl: "redis://cache.internal:6379",
      accessTokenTtlSec: 900,
      refreshTokenTtlSec: 86400,
      nodeId: "node-7",
      logLevel: "debug",
      corsOrigins: ["https://chat.example.com", "http://localhost:5173"],
      bodyLimit: "128kb",
    });
    expect([...config.services].sort()).toEqual(["auth", "rooms"]);
  });

  test("TRANSPORTER=local means the in-process transporter", () => {
    expect(load({ TRANSPORTER: "local" }).transporter).toBeNull();
  });

  test("DATABASE_URL accepts postgresql:// and sqlite files", () => {
    expect(load({ DATABASE_URL: "postgresql://u@h:5432/d" }).databaseUrl).toBe("postgresql://u@h:5432/d");
    expect(load({ DATABASE_URL: "sqlite::memory:" }).databaseUrl).toBe("sqlite::memory:");
    expect(load({ DATABASE_URL: "sqlite:/var/lib/chat.db" }).databaseUrl).toBe("sqlite:/var/lib/chat.db");
  });
});

describe("SERVICES", () => {
  test.each(["*", "all"])("%s means every service", (value) => {
    expect([...load({ SERVICES: value }).services].sort()).toEqual([...ALL_SERVICES].sort());
  });

  test("trims names, ignores empty items and drops duplicates", () => {
    expect([...load({ SERVICES: " rooms , auth,,rooms " }).services].sort()).toEqual(["auth", "rooms"]);
  });

  test("an unknown service is a ConfigError naming it", () => {
    expectConfigError({ JWT_SECRET: SECRET, SERVICES: "bogus" }, /SERVICES/, /bogus/);
  });

  test("names every unknown service, even next to known ones", () => {
    expectConfigError({ JWT_SECRET: SECRET, SERVICES: "auth,bogus,rooms,nope" }, /bogus/, /nope/);
  });

  test("service names are case-sensitive", () => {
    expectConfigError({ JWT_SECRET: SECRET, SERVICES: "Auth" }, /Auth/);
  });
});

describe("malformed URLs are ConfigErrors", () => {
  test.each([
    ["not a URL", "not a url"],
    ["an unsupported database", "mysql://root@db:3306/chat"],
    ["postgres without a host", "postgres://"],
    ["an http URL", "http://db.internal:5432/chat"],
  ])("DATABASE_URL: %s", (_label, value) => {
    expectConfigError({ JWT_SECRET: SECRET, DATABASE_URL: value }, /DATABASE_URL/);
  });

  test("DATABASE_URL: sqlite without a file name", () => {
    expectConfigError({ JWT_SECRET: SECRET, DATABASE_URL: "sqlite:" }, /DATABASE_URL/);
  });

  test.each([
    ["not a URL", "nats"],
    ["another transporter", "redis://127.0.0.1:6379"],
    ["nats without a host", "nats://"],
    ["a typo in the scheme", "nast://127.0.0.1:4222"],
  ])("TRANSPORTER: %s", (_label, value) => {
    expectConfigError({ JWT_SECRET: SECRET, TRANSPORTER: value }, /TRANSPORTER/);
  });

  test.each([
    ["not a URL", "localhost:6379"],
    ["an http URL", "http://127.0.0.1:6379"],
    ["redis without a host", "redis://"],
  ])("REDIS_URL: %s", (_label, value) => {
    expectConfigError({ JWT_SECRET: SECRET, REDIS_URL: value }, /REDIS_URL/);
  });

  test("CORS_ORIGINS: an origin that is not an http(s) URL", () => {
    expectConfigError({ JWT_SECRET: SECRET, CORS_ORIGINS: "https://ok.example.com,ftp://files.example.com" }, /CORS/);
  });

  test("the error names the variable but does not echo a URL that may hold a password", () => {
    let message = "";
    try {
      loadConfig({ JWT_SECRET: SECRET, DATABASE_URL: "mysql://root:hunter2@db/chat" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toMatch(/hunter2/);
  });
});

describe("JWT_SECRET", () => {
  test("production refuses to start without a secret", () => {
    expectConfigError({ NODE_ENV: "production" }, /JWT_SECRET/, /required/);
  });

  test("production treats a blank secret as missing", () => {
    expectConfigError({ NODE_ENV: "production", JWT_SECRET: "   " }, /JWT_SECRET/);
  });

  test("production refuses a secret shorter than 32 bytes", () => {
    expectConfigError({ NODE_ENV: "production", JWT_SECRET: "x".repeat(31) }, /JWT_SECRET/, /32/);
  });

  test("production accepts a 32-byte secret", () => {
    const config = loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) });
    expect(config).toMatchObject({ production: true, jwtSecret: "x".repeat(32), jwtSecretGenerated: false });
  });

  test("outside production a short secret is accepted (server.ts warns about it)", () => {
    expect(loadConfig({ JWT_SECRET: "short" }).jwtSecret).toBe("short");
  });

  test("outside production a missing secret is generated once into data/ (mode 600) and reused", () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), "chat-config-"));
    try {
      process.chdir(dir);
      const first = loadConfig({});
      expect(first.jwtSecretGenerated).toBe(true);
      expect(Buffer.byteLength(first.jwtSecret)).toBeGreaterThanOrEqual(32);
      const file = join(dir, "data", "jwt-secret");
      expect(readFileSync(file, "utf8")).toBe(first.jwtSecret);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadConfig({}).jwtSecret).toBe(first.jwtSecret);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("numbers and levels", () => {
  test.each(["abc", "-1", "65536", "70000", "3000.5", "0x50", "80 80"])("PORT=%s is a ConfigError", (value) => {
    expectConfigError({ JWT_SECRET: SECRET, PORT: value }, /PORT/);
  });

  test("PORT=0 (any free port) is allowed", () => {
    expect(load({ PORT: "0" }).port).toBe(0);
  });

  test.each([
    ["ACCESS_TOKEN_TTL", "ten"],
    ["ACCESS_TOKEN_TTL", "30"],
    ["REFRESH_TOKEN_TTL", "-5"],
    ["MSG_RATE_PER_SEC", "0"],
    ["MSG_BURST", "1.5"],
  ])("%s=%s is a ConfigError", (key, value) => {
    expectConfigError({ JWT_SECRET: SECRET, [key]: value }, new RegExp(key));
  });

  test.each(["verbose", "warning", "1"])("LOG_LEVEL=%s is a ConfigError listing the levels", (value) => {
    expectConfigError({ JWT_SECRET: SECRET, LOG_LEVEL: value }, /LOG_LEVEL/, /fatal, error, warn, info, debug, trace/);
  });

  test.each(["lots", "64 kilobytes", "-1kb", "0"])("BODY_LIMIT=%s is a ConfigError", (value) => {
    // body-parser reads an unparsable limit as "no limit at all".
    expectConfigError({ JWT_SECRET: SECRET, BODY_LIMIT: value }, /BODY_LIMIT/);
  });

  test.each(["100kb", "1mb", "2048", "512b"])("BODY_LIMIT=%s is accepted", (value) => {
    expect(load({ BODY_LIMIT: value }).bodyLimit).toBe(value);
  });
});

describe("node dist/server.js with a bad configuration", () => {
  function run(env: Env): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["dist/server.js"], { cwd: ROOT, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`server did not exit within 15 s; stderr: ${stderr}`));
      }, 15_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const base: Env = { PATH: process.env.PATH, HOME: process.env.HOME, JWT_SECRET: SECRET, PORT: "0" };

  test("SERVICES=bogus exits 1 with exactly one 'Configuration error:' line naming it, no stack", async () => {
    const { code, stdout, stderr } = await run({ ...base, SERVICES: "bogus" });
    expect(code).toBe(1);
    const lines = stderr.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Configuration error: /);
    expect(lines[0]).toContain("bogus");
    expect(stderr).not.toMatch(/\s+at\s/);
    expect(stdout).toBe("");
  });

  test("NODE_ENV=production without JWT_SECRET exits 1 with one line, before listening anywhere", async () => {
    const { code, stderr } = await run({ ...base, JWT_SECRET: undefined, NODE_ENV: "production" });
    expect(code).toBe(1);
    const lines = stderr.split("\n").filter((line) => line !== "");
    expect(lines).toEqual([expect.stringMatching(/^Configuration error: .*JWT_SECRET/)]);
  });
});
