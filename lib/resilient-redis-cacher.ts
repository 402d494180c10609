import { Cachers } from "moleculer";
import type Redis from "ioredis";
import type { GenericObject, LoggerInstance } from "moleculer";

/**
 * The Redis cacher, degraded gracefully: when Redis is down a read is a miss and a write or a clean is
 * skipped, so requests are served from the database instead of failing. Commands fail fast (no
 * offline queue) rather than waiting for a reconnect. Entries carry a TTL, which bounds how long a
 * clean skipped during an outage can leave an old entry behind.
 */
export class ResilientRedisCacher extends Cachers.Redis {
  private lastWarning = 0;
  // Set by the base class in init(); its typings leave it out.
  declare logger: LoggerInstance;

  constructor(redisUrl: string, ttlSec: number) {
    super({
      ttl: ttlSec,
      redis: {
        ...redisOptionsFromUrl(redisUrl),
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
      },
    });
  }

  private degraded<T>(operation: string, fallback: T): (err: unknown) => T {
    return (err: unknown) => {
      const now = Date.now();
      if (now - this.lastWarning > 10_000) {
        this.lastWarning = now;
        this.logger.warn(`Redis cacher ${operation} failed; serving without cache`, String(err));
      }
      return fallback;
    };
  }

  override get(key: string): Promise<GenericObject | null> {
    return super.get(key).catch(this.degraded("get", null));
  }

  override set(key: string, data: unknown, ttl?: number): Promise<unknown> {
    return super.set(key, data, ttl).catch(this.degraded("set", undefined));
  }

  override del(key: string | string[]): Promise<unknown> {
    return super.del(key).catch(this.degraded("del", undefined));
  }

  override clean(match?: string | string[]): Promise<unknown> {
    return super.clean(match).catch(this.degraded("clean", undefined));
  }

  /** The base class's quit() fails on a client that is not connected and leaves it reconnecting for ever. */
  override close(): Promise<unknown> {
    const client = (this as unknown as { client?: Redis }).client;
    if (client && client.status !== "ready") client.disconnect();
    return super.close().catch(() => undefined);
  }

  /** True when Redis answers a PING now. */
  async ping(): Promise<boolean> {
    try {
      // The typings do not expose the ioredis client the cacher holds.
      const client = (this as unknown as { client: { ping(): Promise<string> } }).client;
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    }
  }
}

function redisOptionsFromUrl(url: string): Record<string, unknown> {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
}
