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

/**
 * The publish and subscribe clients of the Socket.IO Redis adapter, which fires commands without
 * handling their promises. Commands wait for a reconnect instead of failing after a few retries (the
 * subscriptions must outlive an outage), and a command that fails anyway (its client being closed) is
 * not left as an unhandled rejection, which would end the process.
 */
export function createAdapterClients(url: string): [Redis, Redis] {
  const pub = new Redis(url, { maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) {
    const send = client.sendCommand.bind(client);
    client.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
      const result = send(...args);
      if (result instanceof Promise) result.catch(() => undefined);
      return result;
    };
  }
  return [pub, sub];
}

/**
 * Closes a client whatever state it is in. quit() needs a connection: without one it fails (offline
 * queue off) or waits for ever (queue on), and either way leaves the client reconnecting, which keeps
 * the process alive after shutdown.
 */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === "ready") await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
