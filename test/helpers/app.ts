/**
 * Starts the chat for a test: everything on one local broker (SQLite in memory), or the gateway and
 * the services on two brokers talking over NATS with PostgreSQL and Redis.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../config";
import type { ServiceName } from "../../config";
import { createBroker } from "../../moleculer.config";
import { serverUrl } from "./servers";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

export interface TestApp {
  baseUrl: string;
  brokers: ServiceBroker[];
  /** The broker running the gateway. */
  gateway: ServiceBroker;
  stop(): Promise<void>;
}

type Env = Record<string, string | undefined>;

function uniqueId(): string {
  return randomBytes(4).toString("hex");
}

function startBroker(env: Env, services: ServiceName[], namespace: string, nodeId: string): ServiceBroker {
  const config = loadConfig({
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    PORT: "0",
    NAMESPACE: namespace,
    NODE_ID: nodeId,
    ...env,
    SERVICES: services.join(","),
  });
  return createBroker(config, { logger: false });
}

function gatewayUrl(broker: ServiceBroker): string {
  const server = (broker.getLocalService("api") as unknown as { server: HttpServer }).server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startAll(brokers: ServiceBroker[], gateway: ServiceBroker): Promise<TestApp> {
  // Services first, so their migrations have run before the gateway takes traffic.
  for (const broker of [...brokers].reverse()) await broker.start();
  await gateway.waitForServices(["auth", "rooms", "messages", "presence"], 10_000);
  return {
    baseUrl: gatewayUrl(gateway),
    brokers,
    gateway,
    async stop() {
      for (const broker of brokers) await broker.stop();
    },
  };
}

/** Every service on one broker, local transporter, memory cache, SQLite in memory (or `env` overrides). */
export async function startEmbedded(env: Env = {}): Promise<TestApp> {
  const broker = startBroker(
    { DATABASE_URL: "sqlite::memory:", TRANSPORTER: undefined, REDIS_URL: undefined, ...env },
    ["api", "io", "auth", "rooms", "messages", "presence"],
    `test-${uniqueId()}`,
    `embedded-${uniqueId()}`,
  );
  return startAll([broker], broker);
}

/** Gateway and services on two brokers over the real NATS, PostgreSQL and Redis. */
export async function startDistributed(env: Env = {}): Promise<TestApp> {
  const shared = {
    DATABASE_URL: serverUrl("postgres"),
    REDIS_URL: serverUrl("redis"),
    TRANSPORTER: serverUrl("nats"),
    ...env,
  };
  const namespace = `test-${uniqueId()}`;
  const gateway = startBroker(shared, ["api", "io"], namespace, `gateway-${uniqueId()}`);
  const services = startBroker(shared, ["auth", "rooms", "messages", "presence"], namespace, `services-${uniqueId()}`);
  return startAll([gateway, services], gateway);
}
