/**
 * The REST gateway's generic behaviour (DESIGN §2, §4, §6), whatever the services behind it do:
 * body parsing and limits, the error shape, which routes exist (and that nothing else of the mesh
 * is reachable), authentication on every private route, health, and what request logs leave out.
 */
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { gzipSync } from "node:zlib";
import { Loggers } from "moleculer";
import type { LoggerBindings, LogLevels, ServiceBroker } from "moleculer";
import { loadConfig } from "../../config";
import type { ServiceName } from "../../config";
import { configOf } from "../../lib/broker-config";
import { createBroker } from "../../moleculer.config";
import type { TestApp } from "../helpers/app";
import { TEST_JWT_SECRET } from "../helpers/app";
import { client, createRoom, expectError, expectErrorShape, registerUser, uniqueName } from "../helpers/http";
import type { Client, Reply, TestUser } from "../helpers/http";
import { serverUrl } from "../helpers/servers";

type Env = Record<string, string | undefined>;

/** Every log line of a broker, at every level, as text (objects and errors fully expanded). */
export class LogCapture extends Loggers.Base {
  constructor(private readonly lines: string[]) {
    super({ level: "trace" });
  }

  override getLogHandler(bindings?: LoggerBindings): Loggers.LogHandler {
    return (level: LogLevels, args: unknown[]) => {
      const text = args
        .map((arg) =>
          typeof arg === "string" ? arg : inspect(arg, { depth: null, maxStringLength: null, breakLength: Infinity }),
        )
        .join(" ");
      this.lines.push(`${level} ${bindings?.mod ?? "?"} ${text}`);
    };
  }
}

const GATEWAY_SERVICES: ServiceName[] = ["api", "io"];

function capturingBroker(env: Env, services: ServiceName[], lines: string[], namespace: string): ServiceBroker {
  const config = loadConfig({
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "trace",
    PORT: "0",
    NAMESPACE: namespace,
    NODE_ID: `${namespace}-${services[0]}`,
    ...env,
    SERVICES: services.join(","),
  });
  return createBroker(config, { logger: new LogCapture(lines), logLevel: "trace" });
}

async function startCapturing(brokers: ServiceBroker[], gateway: ServiceBroker): Promise<TestApp> {
  for (const broker of [...brokers].reverse()) await broker.start();
  const backends = configOf(gateway)
    .services.concat(...brokers.map((b) => configOf(b).services))
    .filter((name) => !GATEWAY_SERVICES.includes(name));
  await gateway.waitForServices([...new Set(backends)], 10_000);
  const server = (gateway.getLocalService("api") as unknown as { server: HttpServer }).server;
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    brokers,
    gateway,
    async stop() {
      for (const broker of brokers) await broker.stop();
    },
  };
}

/** Like startEmbedded, but every log line (level trace) goes into `lines`. */
export function startEmbeddedCapturing(lines: string[]): Promise<TestApp> {
  const broker = capturingBroker(
    { DATABASE_URL: "sqlite::memory:" },
    [],
    lines,
    `test-logs-${uniqueName("e").slice(-10)}`,
  );
  return startCapturing([broker], broker);
}

/** Like startDistributed, but every log line of both brokers (level trace) goes into `lines`. */
export function startDistributedCapturing(lines: string[]): Promise<TestApp> {
  const env = { DATABASE_URL: serverUrl("postgres"), REDIS_URL: serverUrl("redis"), TRANSPORTER: serverUrl("nats") };
  const namespace = `test-logs-${uniqueName("d").slice(-10)}`;
  const all = loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).services;
  const gateway = capturingBroker(env, GATEWAY_SERVICES, lines, namespace);
  const services = capturingBroker(
    env,
    all.filter((name) => !GATEWAY_SERVICES.includes(name)),
    lines,
    namespace,
  );
  return startCapturing([gateway, services], gateway);
}

/** The routes anyone may call; every other /api route needs a token. */
const PUBLIC_ROUTES = new Set(["POST /api/register", "POST /api/token", "POST /api/token/refresh"]);

/** Every declared alias under /api that needs a token, with its path parameters filled in. */
const AUTHENTICATED_ROUTES: [method: string, path: string][] = [
  ["GET", "/api/rooms/"],
  ["POST", "/api/rooms/"],
  ["POST", "/api/rooms/create_direct_chat/"],
  ["GET", "/api/rooms/1/"],
  ["POST", "/api/rooms/1/join/"],
  ["POST", "/api/rooms/1/leave/"],
  ["GET", "/api/rooms/1/users/"],
  ["POST", "/api/rooms/1/read/"],
  ["GET", "/api/rooms/1/messages/"],
  ["POST", "/api/rooms/1/messages/"],
  ["PATCH", "/api/rooms/1/messages/1/"],
  ["DELETE", "/api/rooms/1/messages/1/"],
  ["GET", "/api/users/online/"],
  ["GET", "/api/users/me/"],
  ["PUT", "/api/users/me/"],
  ["PATCH", "/api/users/me/"],
];

/** Action paths of the mesh that must never answer over HTTP. */
const INTERNAL_PATHS = [
  "/api/$node/list",
  "/api/$node/services",
  "/api/$node/actions",
  "/api/$node/health",
  "/api/$node/options",
  "/api/%24node/list",
  "/api/~node/list",
  "/api/~node/actions",
  "/$node/list",
  "/~node/list",
  "/api/auth/resolveToken",
  "/api/auth/resolve-token",
  "/api/auth/register",
  "/api/auth/login",
  "/api/auth/user",
  "/api/auth/usersByIds",
  "/api/auth/health",
  "/api/auth.resolveToken",
  "/api/rooms/access",
  "/api/rooms/findRoom",
  "/api/rooms/roomIdsOf",
  "/api/rooms/memberStatuses",
  "/api/messages/lastSeqs",
  "/api/messages/latestPage",
  "/api/messages/sync",
  "/api/presence/online",
  "/api/api/listAliases",
  "/api/list-aliases",
  "/api/io/broadcast",
  "/api/api/broadcast",
  "/$node/options",
  "/$node/services",
  "/$node/actions",
  "/$node/health",
  "/auth/resolveToken",
  "/auth/register",
  "/auth/me",
  "/rooms/access",
  "/rooms/list",
  "/messages/sync",
  "/api/listAliases",
];

/** Filled-in example of an alias path such as /api/rooms/:roomId/messages/:messageId. */
function concretePath(fullPath: string): string {
  return fullPath.replace(/:\w+/g, "1");
}

export function gatewaySuite(
  start: () => Promise<TestApp>,
  startCapturingLogs: (lines: string[]) => Promise<TestApp>,
): void {
  let app: TestApp;
  let api: Client;
  let user: TestUser;

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
    user = await registerUser(api, "gw");
  });
  afterAll(() => app?.stop());

  function raw(
    method: string,
    path: string,
    body: string | Buffer | ReadableStream | undefined,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const init: RequestInit & { duplex?: "half" } = { method, headers, body };
    if (body instanceof ReadableStream) init.duplex = "half";
    return fetch(app.baseUrl + path, init).then(async (res) => {
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: the assertions on the body will say so
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    });
  }

  const JSON_TYPE = { "content-type": "application/json" };

  describe("request bodies", () => {
    test.each([
      ["a truncated object", '{"username": "a", "password": '],
      ["trailing garbage", '{"username": "a"} trailing'],
      ["single quotes", "{'username': 'a'}"],
      ["a trailing comma", '{"username": "a",}'],
      ["an unquoted key", "{username: 1}"],
      ["NaN", '{"a": NaN}'],
      ["a bare word", "hello"],
      ["a JSON string, not an object", '"just a string"'],
      ["a JSON number", "42"],
      ["null", "null"],
    ])("malformed JSON (%s) is a 400 INVALID_JSON", async (_label, body) => {
      expectError(await raw("POST", "/api/register/", body, JSON_TYPE), 400, "INVALID_JSON");
    });

    test("malformed JSON on an authenticated route is also 400 INVALID_JSON, and nothing is created", async () => {
      const before = await api.get("/api/rooms/?mine=1", user.access);
      const res = await raw("POST", "/api/rooms/", '{"name": "x"', {
        ...JSON_TYPE,
        authorization: `Bearer ${user.access}`,
      });
      expectError(res, 400, "INVALID_JSON");
      expect((await api.get("/api/rooms/?mine=1", user.access)).body.count).toBe(before.body.count);
    });

    test("a JSON array body is refused with a 400, not a 500", async () => {
      const res = await raw("POST", "/api/register/", "[1, 2]", JSON_TYPE);
      expect(res.status).toBe(400);
      expectErrorShape(res);
    });

    test("a 2 MB body is a 413 PAYLOAD_TOO_LARGE", async () => {
      const body = JSON.stringify({ username: uniqueName(), password: "x".repeat(2 * 1024 * 1024) });
      expectError(await raw("POST", "/api/register/", body, JSON_TYPE), 413, "PAYLOAD_TOO_LARGE");
    });

    test("a 2 MB body sent chunked, without Content-Length, is a 413 PAYLOAD_TOO_LARGE", async () => {
      const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"name": "'));
          if (sent >= 2 * 1024 * 1024) {
            controller.enqueue(new TextEncoder().encode('"}'));
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      });
      const res = await raw("POST", "/api/rooms/", stream, { ...JSON_TYPE, authorization: `Bearer ${user.access}` });
      expectError(res, 413, "PAYLOAD_TOO_LARGE");
    });

    test("a body just over the 64 KB default limit is refused, one under it is parsed", async () => {
      const over = JSON.stringify({ content: "x".repeat(65 * 1024) });
      expectError(await raw("POST", "/api/register/", over, JSON_TYPE), 413, "PAYLOAD_TOO_LARGE");
      const under = JSON.stringify({ username: "x".repeat(60 * 1024), password: "correct-horse" });
      const res = await raw("POST", "/api/register/", under, JSON_TYPE);
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("username");
    });

    test("a JSON body in a charset other than UTF-8 is a 415 with a code, not a 500", async () => {
      const res = await raw("POST", "/api/register/", "{}", { "content-type": "application/json; charset=latin1" });
      expect(res.status).toBe(415);
      expectErrorShape(res);
    });

    test("an unknown Content-Encoding is a 415 with a code, not a 500", async () => {
      const res = await raw("POST", "/api/register/", "{}", { ...JSON_TYPE, "content-encoding": "bogus" });
      expect(res.status).toBe(415);
      expectErrorShape(res);
    });

    test.each(["gzip", "deflate"])(
      "a %s Content-Encoding with a body that does not inflate is a 400 INVALID_JSON, not a 500",
      async (encoding) => {
        const res = await raw("POST", "/api/register/", "not compressed at all", {
          ...JSON_TYPE,
          "content-encoding": encoding,
        });
        expectError(res, 400, "INVALID_JSON");
      },
    );

    test("a gzip-compressed JSON body is inflated and accepted", async () => {
      const username = uniqueName();
      const body = gzipSync(JSON.stringify({ username, password: "correct-horse-battery" }));
      const res = await raw("POST", "/api/register/", body, { ...JSON_TYPE, "content-encoding": "gzip" });
      expect(res.status).toBe(201);
      expect(res.body.user.username).toBe(username);
    });

    test("a small gzip body that inflates past the limit (a zip bomb) is a 413 PAYLOAD_TOO_LARGE", async () => {
      const body = gzipSync(JSON.stringify({ username: "a", password: " ".repeat(2 * 1024 * 1024) }));
      expect(body.length).toBeLessThan(64 * 1024);
      const res = await raw("POST", "/api/register/", body, { ...JSON_TYPE, "content-encoding": "gzip" });
      expectError(res, 413, "PAYLOAD_TOO_LARGE");
    });

    test("a body that is not JSON (text/plain) is not parsed: the fields are missing, 400 VALIDATION_ERROR", async () => {
      const body = JSON.stringify({ username: uniqueName(), password: "correct-horse-battery" });
      const res = await raw("POST", "/api/register/", body, { "content-type": "text/plain" });
      expectError(res, 400, "VALIDATION_ERROR");
    });

    test("unknown JSON fields are ignored", async () => {
      const username = uniqueName();
      const res = await api.post("/api/register/", {
        username,
        password: "correct-horse-battery",
        is_staff: true,
        is_superuser: true,
        id: 1,
        password_hash: "scrypt$1$1$1$AAAA$AAAA",
        role: "admin",
      });
      expect(res.status).toBe(201);
      expect(res.body.user).toEqual({ id: expect.any(Number), username, email: "", first_name: "" });
      const me = await api.get("/api/users/me/", res.body.access);
      expect(me.body).toEqual(res.body.user);
      // the smuggled hash did not replace the real one
      const login = await api.post("/api/token/", { username, password: "correct-horse-battery" });
      expect(login.status).toBe(200);
    });

    test.each([
      ["__proto__", '"__proto__": {"polluted": true, "is_staff": true}'],
      ["constructor.prototype", '"constructor": {"prototype": {"polluted": true}}'],
    ])("a %s key in a register body is harmless", async (_label, evil) => {
      const username = uniqueName();
      const body = `{"username": "${username}", "password": "correct-horse-battery", ${evil}}`;
      const res = await raw("POST", "/api/register/", body, JSON_TYPE);
      if (res.status === 201) {
        expect(res.body.user).toEqual({ id: expect.any(Number), username, email: "", first_name: "" });
        const me = await api.get("/api/users/me/", res.body.access);
        expect(me.body).toEqual(res.body.user);
        expect(Object.getPrototypeOf(me.body)).toBe(Object.prototype);
      } else {
        expect(res.status).toBe(400);
        expectErrorShape(res);
      }
      expect(({} as any).polluted).toBeUndefined();
      expect(({} as any).is_staff).toBeUndefined();
      expect((Object.prototype as any).polluted).toBeUndefined();
    });

    test("__proto__ in a query string is harmless", async () => {
      const res = await api.get(
        "/api/rooms/?__proto__[polluted]=yes&constructor[prototype][polluted]=yes&mine=1",
        user.access,
      );
      expect(res.status).toBeLessThan(500);
      expect(({} as any).polluted).toBeUndefined();
    });
  });

  describe("routes", () => {
    test.each([
      ["GET", "/api/nope/"],
      ["GET", "/api/"],
      ["GET", "/api"],
      ["GET", "/nope"],
      ["GET", "/api/register/"],
      ["DELETE", "/api/register/"],
      ["GET", "/api/token/"],
      ["DELETE", "/api/users/me/"],
      ["POST", "/api/users/me/"],
      ["PUT", "/api/rooms/1/"],
      ["GET", "/api/rooms/1/messages/1/extra/"],
      ["POST", "/health/live"],
      ["GET", "/health/"],
      ["GET", "/health/nope"],
    ])("%s %s is a 404 NOT_FOUND", async (method, path) => {
      expectError(await api.request(method, path, undefined, user.access), 404, "NOT_FOUND");
    });

    test.each(INTERNAL_PATHS)(
      "the internal action path %s is a 404 (GET and POST, with and without a token)",
      async (path) => {
        for (const method of ["GET", "POST"]) {
          for (const token of [undefined, user.access]) {
            const res = await api.request(method, path, method === "POST" ? {} : undefined, token);
            if (path.startsWith("/api/rooms/") && method === "GET") {
              // GET /api/rooms/<x> is the room-detail route: <x> is read as a room id, never as an action.
              expect(res.status).toBe(token ? 400 : 401);
              expect(res.body.code).toBe(token ? "VALIDATION_ERROR" : "UNAUTHORIZED");
              continue;
            }
            expect({ method, token: !!token, status: res.status, code: res.body?.code }).toEqual({
              method,
              token: !!token,
              status: 404,
              code: "NOT_FOUND",
            });
          }
        }
      },
    );

    test("every alias maps to a published action: nothing public, protected or internal is routed", async () => {
      const aliases: { actionName?: string; fullPath: string; methods: string }[] =
        await app.gateway.call("api.listAliases");
      const routed = aliases.filter((alias) => alias.actionName).map((alias) => alias.actionName!);
      expect(routed.length).toBeGreaterThan(0);
      const actions = app.gateway.registry.getActionList({ skipInternal: false, withEndpoints: false }) as {
        name: string;
        action?: { visibility?: string };
      }[];
      const visibility = new Map(actions.map((a) => [a.name, a.action?.visibility ?? "published"]));
      for (const name of routed) {
        expect({ name, visibility: visibility.get(name) }).toEqual({ name, visibility: "published" });
        expect(name.startsWith("$")).toBe(false);
      }
      for (const alias of aliases) expect(alias.fullPath).not.toMatch(/\*/);
    });

    test("every route maps only its declared aliases: no catch-all route, no auto-aliases, no whitelist", () => {
      const routes = (app.gateway.getLocalService("api") as unknown as { routes: Record<string, any>[] }).routes;
      expect(routes.length).toBeGreaterThan(0);
      for (const route of routes) {
        expect({ path: route.path, mappingPolicy: route.mappingPolicy }).toEqual({
          path: route.path,
          mappingPolicy: "restrict",
        });
        expect(route.opts.autoAliases).toBeFalsy();
        expect(route.opts.whitelist).toBeUndefined();
      }
    });

    test("the public routes are exactly register, token and token/refresh; everything else needs a token", async () => {
      const aliases: { fullPath: string; methods: string; routePath: string }[] =
        await app.gateway.call("api.listAliases");
      const underApi = aliases.filter((alias) => alias.routePath === "/api");
      const declared = underApi.map((alias) => `${alias.methods} ${alias.fullPath.replace(/\/$/, "")}`);
      for (const route of PUBLIC_ROUTES) expect(declared).toContain(route);
      // Every declared route that is not public refuses an anonymous caller, new routes included.
      for (const route of new Set(declared)) {
        if (PUBLIC_ROUTES.has(route)) continue;
        const [method, path] = route.split(" ");
        const res = await api.request(method, concretePath(path) + "/", method === "GET" ? undefined : {});
        expect({ route, status: res.status, code: res.body?.code }).toEqual({
          route,
          status: 401,
          code: "UNAUTHORIZED",
        });
      }
    });

    test.each(AUTHENTICATED_ROUTES)("%s %s without a token is a 401 UNAUTHORIZED", async (method, path) => {
      const res = await api.request(method, path, method === "GET" || method === "DELETE" ? undefined : {});
      expectError(res, 401, "UNAUTHORIZED");
    });

    test.each(AUTHENTICATED_ROUTES)("%s %s with a garbage token is a 401 UNAUTHORIZED", async (method, path) => {
      const res = await api.request(method, path, method === "GET" || method === "DELETE" ? undefined : {}, "x.y.z");
      expectError(res, 401, "UNAUTHORIZED");
    });

    test("a 401 does not reach the service: a POST without a token creates no room", async () => {
      const name = uniqueName("anon");
      expectError(await api.post("/api/rooms/", { name }), 401, "UNAUTHORIZED");
      const mine = await api.get("/api/rooms/?page_size=100", user.access);
      expect(mine.body.results.map((room: { name: string }) => room.name)).not.toContain(name);
    });

    test("public routes answer with and without a trailing slash", async () => {
      const username = uniqueName();
      const password = "correct-horse-battery";
      expect((await api.post("/api/register", { username, password })).status).toBe(201);
      const a = await api.post("/api/token", { username, password });
      const b = await api.post("/api/token/", { username, password });
      expect([a.status, b.status]).toEqual([200, 200]);
      expect((await api.post("/api/token/refresh", { refresh: a.body.refresh })).status).toBe(200);
      expect((await api.post("/api/token/refresh/", { refresh: b.body.refresh })).status).toBe(200);
    });

    test("authenticated routes answer with and without a trailing slash", async () => {
      const roomId = await createRoom(api, user);
      for (const path of ["/api/users/me", "/api/rooms", `/api/rooms/${roomId}`, `/api/rooms/${roomId}/messages`]) {
        const without = await api.get(path, user.access);
        const withSlash = await api.get(`${path}/`, user.access);
        expect({ path, without: without.status, withSlash: withSlash.status }).toEqual({
          path,
          without: 200,
          withSlash: 200,
        });
      }
      const sent = await api.post(`/api/rooms/${roomId}/messages`, { content: "no slash" }, user.access);
      expect(sent.status).toBe(201);
    });
  });

  describe("health", () => {
    test("GET /health/live is 200 without a token", async () => {
      const res = await api.get("/health/live");
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: "ok" });
    });

    test("GET /health/ready is 200 with every check ok, including the transporter and Redis when configured", async () => {
      const res = await api.get("/health/ready");
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("ready");
      expect(res.body.checks).toMatchObject({ auth: "ok", rooms: "ok", messages: "ok" });
      expect(Object.values(res.body.checks).every((check) => check === "ok")).toBe(true);
      const config = configOf(app.gateway);
      if (config.transporter) expect(res.body.checks.transporter).toBe("ok");
      if (config.redisUrl) expect(res.body.checks.redis).toBe("ok");
    });

    test("GET /health/ready is 503 naming the backend that is gone", async () => {
      const own = await start();
      try {
        const owner = own.brokers.find((broker) => broker.getLocalService("rooms"))!;
        await owner.destroyService(owner.getLocalService("rooms"));
        const ownApi = client(own.baseUrl);
        let res = await ownApi.get("/health/ready");
        for (let i = 0; i < 50 && res.status === 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          res = await ownApi.get("/health/ready");
        }
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ status: "not_ready", checks: { rooms: "down", auth: "ok" } });
        expect((await ownApi.get("/health/live")).status).toBe(200);
      } finally {
        await own.stop();
      }
    });
  });

  describe("errors", () => {
    test("every error answer is JSON {error, code[, fields]} with a machine-readable code", async () => {
      const replies: Reply[] = [
        await raw("POST", "/api/register/", "{", JSON_TYPE),
        await api.post("/api/register/", {}),
        await api.post("/api/token/", { username: uniqueName(), password: "whatever-1" }),
        await api.get("/api/users/me/"),
        await api.get("/api/users/me/", "garbage"),
        await api.get("/api/nope/"),
        await api.get("/api/rooms/999999999/", user.access),
        await api.get("/api/rooms/abc/", user.access),
        await api.post("/api/rooms/", { name: "" }, user.access),
      ];
      for (const res of replies) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectErrorShape(res);
      }
      expect(replies[1].body.fields).toEqual(expect.objectContaining({ username: expect.any(String) }));
    });

    test("an error never leaks a stack trace or internal names", async () => {
      const replies = [
        await api.post("/api/register/", { username: 1, password: [] }),
        await api.get("/api/rooms/abc/", user.access),
        await raw("POST", "/api/register/", "{", JSON_TYPE),
      ];
      for (const res of replies) {
        const text = JSON.stringify(res.body);
        expect(text).not.toMatch(/\bat .*\.(js|ts):\d+/);
        expect(text).not.toMatch(/Sequelize|node_modules|MoleculerError|ValidationError\b/);
      }
    });
  });

  describe("request logs", () => {
    test("never contain passwords or tokens, at any level", async () => {
      const lines: string[] = [];
      const logged = await startCapturingLogs(lines);
      try {
        const http = client(logged.baseUrl);
        const username = uniqueName("logs");
        const password = "Very-Secret-Passw0rd";
        const reg = await http.post("/api/register/", { username, password, password2: password });
        expect(reg.status).toBe(201);
        const login = await http.post("/api/token/", { username, password });
        const wrong = await http.post("/api/token/", { username, password: "Wrong-Secret-Passw0rd" });
        expect(wrong.status).toBe(401);
        const mismatch = await http.post("/api/register/", {
          username: uniqueName(),
          password: "Other-Secret-Passw0rd",
          password2: "Other-Secret-Passw0rdX",
        });
        expect(mismatch.status).toBe(400);
        const short = await http.post("/api/register/", { username: uniqueName(), password: "Sh0rt!" });
        expect(short.status).toBe(400);
        const rotated = await http.post("/api/token/refresh/", { refresh: login.body.refresh });
        expect(rotated.status).toBe(200);
        // a reuse: the service logs a warning about it
        expect((await http.post("/api/token/refresh/", { refresh: login.body.refresh })).status).toBe(401);
        expect((await http.get("/api/users/me/", rotated.body.access)).status).toBe(200);
        expect((await http.put("/api/users/me/", { first_name: "Logged" }, rotated.body.access)).status).toBe(200);
        expect((await http.get("/api/users/me/", `${rotated.body.access}x`)).status).toBe(401);
        const roomId = await createRoom(http, { ...reg.body.user, access: reg.body.access } as TestUser);
        const sent = await http.post(`/api/rooms/${roomId}/messages/`, { content: "hi" }, reg.body.access);
        expect(sent.status).toBe(201);

        // The capture works: the gateway logged these requests.
        expect(lines.some((line) => line.includes("/api/token/refresh/"))).toBe(true);

        const secrets = [
          password,
          "Wrong-Secret-Passw0rd",
          "Other-Secret-Passw0rd",
          "Sh0rt!",
          ...[reg.body.access, reg.body.refresh, login.body.access, login.body.refresh]
            .concat([rotated.body.access, rotated.body.refresh])
            // a token's signature alone is as good as the token for an attacker holding the claims
            .flatMap((token: string) => [token, token.split(".")[2]]),
          TEST_JWT_SECRET,
          "scrypt$",
        ];
        for (const secret of secrets) {
          const leaks = lines.filter((line) => line.includes(secret));
          expect({ secret, leaks }).toEqual({ secret, leaks: [] });
        }
      } finally {
        await logged.stop();
      }
    });
  });
}
