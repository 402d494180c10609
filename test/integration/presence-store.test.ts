/** The Redis presence store (every cluster with REDIS_URL) against the PresenceStore contract, on the real Redis. */
import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import { redisPresenceStore } from "../../lib/presence-store";
import { presenceStoreContract } from "../helpers/realtime";
import { describeWithServers, serverUrl } from "../helpers/servers";

describeWithServers("redisPresenceStore on the real Redis", ["redis"], () => {
  let redis: Redis;
  const prefixes: string[] = [];

  function freshPrefix(): string {
    const prefix = `test-presence-${randomBytes(6).toString("hex")}`;
    prefixes.push(prefix);
    return prefix;
  }

  beforeAll(() => {
    redis = new Redis(serverUrl("redis")!, { lazyConnect: false, maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await redis.quit();
  });

  presenceStoreContract(() => redisPresenceStore(redis, freshPrefix()));

  test("stores with different prefixes (namespaces) do not see each other", async () => {
    const a = redisPresenceStore(redis, freshPrefix());
    const b = redisPresenceStore(redis, freshPrefix());
    const alice = { id: 7, username: "alice" };
    expect(await a.connect(alice, "c1", "node-1")).toBe(true);
    expect(await b.connect(alice, "c1", "node-1")).toBe(true);
    expect(await b.online()).toEqual([alice]);
    expect(await a.disconnect(alice, "c1", "node-1")).toBe(true);
    expect(await a.online()).toEqual([]);
    expect(await b.online()).toEqual([alice]);
    expect(await b.deadNodes()).toEqual(["node-1"]);
  });

  test("every key it writes is under its prefix", async () => {
    const prefix = freshPrefix();
    const store = redisPresenceStore(redis, prefix);
    await store.connect({ id: 8, username: "bob" }, "c1", "node-1");
    await store.heartbeat("node-1", 30);
    const keys = await redis.keys(`*${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`${prefix}:`)).toBe(true);
  });
});
