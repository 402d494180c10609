import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { configOf } from "../lib/broker-config";
import { errors } from "../lib/errors";
import { toHttpError } from "../lib/http-errors";
import { ResilientRedisCacher } from "../lib/resilient-redis-cacher";
import { userFromAccessToken } from "../lib/tokens";
import type { AuthUser, ChatMeta } from "../types";

/** Services whose `<name>.health` action must answer for this gateway to be ready. */
const BACKENDS = ["auth", "rooms", "messages", "presence"];
const HEALTH_TIMEOUT_MS = 2000;

type Check = "ok" | "down";

interface ApiMethods {
  /** Provided by moleculer-web. */
  addRoute(route: Record<string, unknown>, toBottom?: boolean): void;
  readiness(this: ApiThis): Promise<{ ready: boolean; checks: Record<string, Check> }>;
  sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
}
type ApiThis = Service & ApiMethods;

// Drops "__proto__" and "constructor" keys while parsing, so a body cannot smuggle a prototype into params.
function safeJsonReviver(key: string, value: unknown): unknown {
  return key === "__proto__" || key === "constructor" ? undefined : value;
}

/** The web client's static files; from dist/services the folder is one level further up. */
const PUBLIC_DIR = [join(__dirname, "..", "public"), join(__dirname, "..", "..", "public")].find((dir) =>
  existsSync(dir),
);

/** Only these routes exist; nothing else of the mesh is reachable over HTTP. */
const PUBLIC_ALIASES = {
  "POST register": "auth.register",
  "POST token": "auth.login",
  "POST token/refresh": "auth.refresh",
};

const AUTHENTICATED_ALIASES = {
  "GET rooms": "rooms.list",
  "POST rooms": "rooms.create",
  "POST rooms/create_direct_chat": "rooms.createDirect",
  "GET rooms/:roomId": "rooms.get",
  "POST rooms/:roomId/join": "rooms.join",
  "POST rooms/:roomId/leave": "rooms.leave",
  "GET rooms/:roomId/users": "rooms.members",
  "POST rooms/:roomId/read": "rooms.read",
  "GET rooms/:roomId/messages": "messages.history",
  "POST rooms/:roomId/messages": "messages.send",
  "PATCH rooms/:roomId/messages/:messageId": "messages.edit",
  "DELETE rooms/:roomId/messages/:messageId": "messages.delete",
  "GET users/online": "presence.online",
  "GET users/me": "auth.me",
  "PUT users/me": "auth.updateMe",
  "PATCH users/me": "auth.updateMe",
};

const ApiService: ServiceSchema<ServiceSettingSchema, ApiThis> = {
  name: "api",
  mixins: [ApiGateway],

  settings: {
    // Routes are added in created(), once the port, body limit and CORS origins are known. Not `[]` or
    // undefined: for those moleculer-web adds a catch-all "/" route (mappingPolicy "all", $node.* included).
    routes: null,
    log4XXResponses: false,
    // The /test web client; index.html must always be fresh, the rest may be cached briefly.
    assets: PUBLIC_DIR ? { folder: PUBLIC_DIR, options: { maxAge: "5m", index: ["index.html"] } } : undefined,
    logRequestParams: null,
    logResponseData: null,
    onError(this: ApiThis, req: IncomingMessage, res: ServerResponse, err: unknown) {
      const { status, body, headers } = toHttpError(err);
      if (status >= 500) this.logger.error("request failed", { url: req.url, err: String(err) });
      this.sendJson(res, status, body, headers);
    },
  },

  methods: {
    /** Bearer token → ctx.meta.user. Verified here, without a hop to the auth service. */
    authenticate(this: ApiThis, _ctx: Context, _route: unknown, req: IncomingMessage): AuthUser {
      const header = req.headers.authorization ?? "";
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw errors.unauthorized("Authentication credentials were not provided.");
      return userFromAccessToken(configOf(this.broker).jwtSecret, match[1]);
    },

    async readiness(this: ApiThis) {
      const config = configOf(this.broker);
      // The HTTP server listens as soon as this service starts, before the node's other services (io's
      // Socket.IO and plain-WS endpoints) have started and before the mesh knows this node's events.
      const checks: Record<string, Check> = { node: this.broker.started ? "ok" : "down" };
      await Promise.all(
        BACKENDS.map(async (name) => {
          try {
            await this.broker.call(`${name}.health`, {}, { timeout: HEALTH_TIMEOUT_MS, retries: 0 });
            checks[name] = "ok";
          } catch {
            checks[name] = "down";
          }
        }),
      );
      if (config.transporter) checks.transporter = this.broker.transit?.connected ? "ok" : "down";
      if (this.broker.cacher instanceof ResilientRedisCacher) {
        checks.redis = (await this.broker.cacher.ping()) ? "ok" : "down";
      }
      return { ready: Object.values(checks).every((check) => check === "ok"), checks };
    },

    sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
      if (res.headersSent) return;
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
      res.end(JSON.stringify(body));
    },
  },

  created(this: ApiThis) {
    const config = configOf(this.broker);
    this.settings.port = config.port;
    this.settings.ip = "0.0.0.0";
    const bodyParsers = {
      json: { strict: true, limit: config.bodyLimit, reviver: safeJsonReviver },
      urlencoded: false,
    };
    const cors =
      config.corsOrigins.length > 0
        ? {
            origin: config.corsOrigins,
            methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allowedHeaders: ["Authorization", "Content-Type"],
            maxAge: 3600,
          }
        : undefined;
    const common = {
      path: "/api",
      mappingPolicy: "restrict",
      autoAliases: false,
      bodyParsers,
      cors,
      onBeforeCall(ctx: Context<unknown, ChatMeta>, _route: unknown, req: IncomingMessage) {
        ctx.meta.ip = req.socket.remoteAddress;
      },
    };
    // Two routes on one path need their own names, or moleculer-web merges them.
    this.addRoute({ ...common, name: "public", authentication: false, aliases: PUBLIC_ALIASES });
    this.addRoute({ ...common, name: "authenticated", authentication: true, aliases: AUTHENTICATED_ALIASES });
    this.addRoute({
      name: "home",
      path: "/",
      mappingPolicy: "restrict",
      bodyParsers: false,
      aliases: {
        "GET /"(_req: IncomingMessage, res: ServerResponse) {
          res.writeHead(302, { Location: "/test/" });
          res.end();
        },
      },
    });
    this.addRoute({
      name: "health",
      path: "/health",
      mappingPolicy: "restrict",
      bodyParsers: false,
      aliases: {
        "GET live"(this: ApiThis, _req: IncomingMessage, res: ServerResponse) {
          this.sendJson(res, 200, { status: "ok" });
        },
        async "GET ready"(this: ApiThis, _req: IncomingMessage, res: ServerResponse) {
          const { ready, checks } = await this.readiness();
          this.sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks });
        },
      },
    });
  },
};

export default ApiService;
