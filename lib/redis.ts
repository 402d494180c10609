import Redis from "ioredis";

/**
 * An ioredis client for service state (presence, rate limits). Commands fail fast while Redis is down
 * instead of queueing, so callers can degrade rather than hang; the client keeps reconnecting.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  });
}
