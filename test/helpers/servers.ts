/**
 * The real PostgreSQL, Redis and NATS of integration tests come from DATABASE_URL, REDIS_URL and
 * TRANSPORTER. Suites needing them run when the URLs are set; in CI (CI=true) a missing URL or an
 * unreachable server is a failure, never a silent skip.
 */
import { Socket } from "node:net";

export type Server = "postgres" | "redis" | "nats";

const ENV_KEYS: Record<Server, string> = { postgres: "DATABASE_URL", redis: "REDIS_URL", nats: "TRANSPORTER" };

export function serverUrl(server: Server): string | undefined {
  const value = process.env[ENV_KEYS[server]];
  if (!value) return undefined;
  if (server === "postgres" && !/^postgres(ql)?:/.test(value)) return undefined;
  if (server === "nats" && !value.startsWith("nats:")) return undefined;
  return value;
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(Number(parsed.port || defaultPort), parsed.hostname);
  });
}

const DEFAULT_PORTS: Record<Server, number> = { postgres: 5432, redis: 6379, nats: 4222 };

/** Throws unless every server is configured and accepting connections. */
export async function assertServersUp(servers: Server[]): Promise<void> {
  for (const server of servers) {
    const url = serverUrl(server);
    if (!url) throw new Error(`${ENV_KEYS[server]} is not set`);
    if (!(await reachable(url, DEFAULT_PORTS[server])))
      throw new Error(`${server} at ${ENV_KEYS[server]} is unreachable`);
  }
}

/**
 * `describe` for suites that need real servers: runs them when configured (failing in beforeAll if
 * one is down), skips them on a developer machine without the URLs, and fails in CI without them.
 */
export function describeWithServers(name: string, servers: Server[], body: () => void): void {
  const configured = servers.every((server) => serverUrl(server) !== undefined);
  if (configured) {
    describe(name, () => {
      beforeAll(() => assertServersUp(servers));
      body();
    });
  } else if (process.env.CI === "true") {
    describe(name, () => {
      test(`needs ${servers.map((s) => ENV_KEYS[s]).join(", ")}`, () => assertServersUp(servers));
    });
  } else {
    describe.skip(`${name} (set ${servers.map((s) => ENV_KEYS[s]).join(", ")} to run)`, body);
  }
}
