import { ServiceBroker } from "moleculer";
import type { BrokerOptions, Cacher, ServiceSchema } from "moleculer";
import type { Config, ServiceName } from "./config";
import { bindConfig } from "./lib/broker-config";
import { ResilientRedisCacher } from "./lib/resilient-redis-cacher";
import { ChatValidator } from "./lib/validation";
import ApiService from "./services/api.service";
import AuthService from "./services/auth.service";
import IoService from "./services/io.service";
import MessagesService from "./services/messages.service";
import PresenceService from "./services/presence.service";
import RoomsService from "./services/rooms.service";

// Each schema types its own `this`; Moleculer's typings cannot express that, hence the casts.
const SERVICE_SCHEMAS: Record<ServiceName, ServiceSchema> = {
  api: ApiService as ServiceSchema,
  io: IoService as ServiceSchema,
  auth: AuthService as ServiceSchema,
  rooms: RoomsService as ServiceSchema,
  messages: MessagesService as ServiceSchema,
  presence: PresenceService as ServiceSchema,
};

const CACHE_TTL_SEC = 300;

/**
 * Redis when configured (shared by every node); in one process, memory. A cluster without Redis runs
 * without a cache, because per-node memory caches cannot see each other's invalidations.
 */
function cacher(config: Config): Cacher | string | null {
  if (config.redisUrl) return new ResilientRedisCacher(config.redisUrl, CACHE_TTL_SEC);
  if (!config.transporter) return "Memory";
  return null;
}

export function brokerOptions(config: Config): BrokerOptions {
  return {
    namespace: config.namespace,
    nodeID: config.nodeId ?? null,
    transporter: config.transporter,
    cacher: cacher(config),
    logger: {
      type: "Console",
      options: { formatter: config.production ? "json" : "short", colors: !config.production, moduleColors: false },
    },
    logLevel: config.logLevel,
    requestTimeout: 10_000,
    // Writes are not idempotent by themselves, so calls are never retried behind the caller's back.
    retryPolicy: { enabled: false },
    registry: { strategy: "RoundRobin", preferLocal: true },
    // On shutdown, finish the requests in flight before leaving the mesh.
    tracking: { enabled: true, shutdownTimeout: 5000 },
    validator: new ChatValidator(),
    // Moleculer announces a new node's services after a 1 s debounce, and broadcasts sent meanwhile
    // skip it; announcing at once when started closes that window for a gateway joining a cluster.
    async started(broker: ServiceBroker) {
      const { registry } = broker as unknown as { registry: { discoverer: { sendLocalNodeInfo(): Promise<void> } } };
      if (broker.transit) await registry.discoverer.sendLocalNodeInfo();
    },
  };
}

/** A broker running the services named in `config.services`. */
export function createBroker(config: Config, overrides: Partial<BrokerOptions> = {}): ServiceBroker {
  const broker = new ServiceBroker({ ...brokerOptions(config), ...overrides });
  bindConfig(broker, config);
  for (const name of config.services) broker.createService(SERVICE_SCHEMAS[name]);
  return broker;
}
