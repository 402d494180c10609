import type Redis from "ioredis";

/** Token buckets keyed by caller: `rate` tokens per second, at most `burst` saved up. */
export interface RateLimiter {
  /** Takes one token; when none is left, says how long until the next one. */
  take(key: string): Promise<{ allowed: boolean; retryAfterMs: number }>;
}

export interface RateLimit {
  ratePerSec: number;
  burst: number;
}

export function memoryRateLimiter({ ratePerSec, burst }: RateLimit): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const now = Date.now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * ratePerSec) / 1000);
      bucket.at = now;
      buckets.set(key, bucket);
      // Full buckets carry no information: forget them so the map does not grow with every user ever seen.
      if (buckets.size > 10_000) {
        for (const [k, b] of buckets) if (b.tokens >= burst) buckets.delete(k);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return Promise.resolve({ allowed: true, retryAfterMs: 0 });
      }
      return Promise.resolve({ allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSec) });
    },
  };
}

// One atomic step of a token bucket kept in a Redis hash, timed by the Redis clock so nodes agree.
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

/**
 * Shared by every node; keys start with `prefix` (the namespace). If Redis cannot answer, the request
 * is let through: sending must not depend on Redis.
 */
export function redisRateLimiter(
  redis: Redis,
  prefix: string,
  { ratePerSec, burst }: RateLimit,
  onError: (err: unknown) => void,
): RateLimiter {
  return {
    async take(key) {
      try {
        const [allowed, wait] = (await redis.eval(TAKE_SCRIPT, 1, `${prefix}:ratelimit:${key}`, ratePerSec, burst)) as [
          number,
          number,
        ];
        return { allowed: allowed === 1, retryAfterMs: wait };
      } catch (err) {
        onError(err);
        return { allowed: true, retryAfterMs: 0 };
      }
    },
  };
}
