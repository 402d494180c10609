import type Redis from "ioredis";

/**
 * Counts failures per key in a fixed window (failed logins per account and per IP). Successes are not
 * counted; a success may reset its key.
 */
export interface FailureCounter {
  count(key: string): Promise<number>;
  /** Records a failure; returns the new count and the seconds left in the window. */
  fail(key: string): Promise<{ count: number; resetInSec: number }>;
  /** Seconds until the key's window ends (0 when there is none). */
  resetIn(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export function memoryFailureCounter(windowSec: number): FailureCounter {
  const windows = new Map<string, { count: number; until: number }>();
  const live = (key: string) => {
    const entry = windows.get(key);
    if (entry && entry.until <= Date.now()) {
      windows.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    count: (key) => Promise.resolve(live(key)?.count ?? 0),
    fail(key) {
      const entry = live(key) ?? { count: 0, until: Date.now() + windowSec * 1000 };
      entry.count += 1;
      windows.set(key, entry);
      return Promise.resolve({ count: entry.count, resetInSec: Math.ceil((entry.until - Date.now()) / 1000) });
    },
    resetIn: (key) => {
      const entry = live(key);
      return Promise.resolve(entry ? Math.ceil((entry.until - Date.now()) / 1000) : 0);
    },
    reset(key) {
      windows.delete(key);
      return Promise.resolve();
    },
  };
}

/**
 * Shared by every auth replica; keys start with `prefix` (the namespace). While Redis is down nothing is
 * counted: logins keep working, unthrottled, and `onError` hears about it.
 */
export function redisFailureCounter(
  redis: Redis,
  prefix: string,
  windowSec: number,
  onError: (err: unknown) => void,
): FailureCounter {
  const k = (key: string) => `${prefix}:failures:${key}`;
  const safe = async <T>(work: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      onError(err);
      return fallback;
    }
  };
  return {
    count: (key) => safe(async () => Number((await redis.get(k(key))) ?? 0), 0),
    fail: (key) =>
      safe(
        async () => {
          const results = await redis.multi().incr(k(key)).expire(k(key), windowSec, "NX").ttl(k(key)).exec();
          const ttl = Number(results?.[2]?.[1] ?? windowSec);
          return { count: Number(results?.[0]?.[1] ?? 1), resetInSec: ttl > 0 ? ttl : windowSec };
        },
        { count: 0, resetInSec: 0 },
      ),
    resetIn: (key) => safe(async () => Math.max(0, await redis.ttl(k(key))), 0),
    reset: (key) => safe(async () => void (await redis.del(k(key))), undefined),
  };
}
