import type { ServiceBroker } from "moleculer";

/**
 * Cache keys of the cached read actions, built here so that the writers that invalidate them and the
 * actions' `cache.keys` agree (Moleculer's key format is "<action>:<key1>|<key2>").
 */
export const cacheKeys = {
  roomAccess: (roomId: number, userId: number) => `rooms.access:${roomId}|${userId}`,
  roomAccessAll: (roomId: number) => `rooms.access:${roomId}|*`,
  room: (roomId: number) => `rooms.findRoom:${roomId}`,
  latestMessages: (roomId: number) => `messages.latestPage:${roomId}`,
  user: (userId: number) => `auth.user:${userId}`,
};

/** Drops exact cache keys (cheap on Redis, unlike pattern cleans that scan the keyspace). */
export async function invalidate(broker: ServiceBroker, ...keys: string[]): Promise<void> {
  if (broker.cacher && keys.length > 0) await broker.cacher.del(keys);
}
