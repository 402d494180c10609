import type Redis from "ioredis";
import type { AuthUser } from "../types";

/**
 * Who is connected, counted per connection (socket) so that a second tab does not flap a user's
 * presence. Gateways heartbeat their node; connections of a node whose heartbeat expired are swept.
 */
export interface PresenceStore {
  /** Records a connection; true when the user just came online. */
  connect(user: AuthUser, connId: string, nodeId: string): Promise<boolean>;
  /** Forgets a connection; true when the user just went offline. */
  disconnect(user: AuthUser, connId: string, nodeId: string): Promise<boolean>;
  /** Marks a gateway node alive for `ttlSec` seconds; false when it was not (new, or taken for dead). */
  heartbeat(nodeId: string, ttlSec: number): Promise<boolean>;
  /** Drops every connection of one node (it stopped, or its heartbeat expired); returns who went offline. */
  dropNode(nodeId: string): Promise<AuthUser[]>;
  /** Nodes that have connections but no live heartbeat. */
  deadNodes(): Promise<string[]>;
  online(): Promise<AuthUser[]>;
  onlineAmong(ids: number[]): Promise<number[]>;
}

export function memoryPresenceStore(): PresenceStore {
  const connections = new Map<number, Map<string, string>>(); // user → conn → node
  const names = new Map<number, string>();
  const aliveUntil = new Map<string, number>();

  const disconnect = (user: AuthUser, connId: string): boolean => {
    const conns = connections.get(user.id);
    if (!conns?.delete(connId)) return false;
    if (conns.size > 0) return false;
    connections.delete(user.id);
    names.delete(user.id);
    return true;
  };

  return {
    connect(user, connId, nodeId) {
      const conns = connections.get(user.id) ?? new Map<string, string>();
      const cameOnline = conns.size === 0;
      conns.set(connId, nodeId);
      connections.set(user.id, conns);
      names.set(user.id, user.username);
      return Promise.resolve(cameOnline);
    },
    disconnect(user, connId) {
      return Promise.resolve(disconnect(user, connId));
    },
    heartbeat(nodeId, ttlSec) {
      const wasAlive = (aliveUntil.get(nodeId) ?? 0) >= Date.now();
      aliveUntil.set(nodeId, Date.now() + ttlSec * 1000);
      return Promise.resolve(wasAlive);
    },
    dropNode(nodeId) {
      const wentOffline: AuthUser[] = [];
      for (const [userId, conns] of [...connections]) {
        const user = { id: userId, username: names.get(userId) ?? "" };
        for (const [connId, node] of [...conns]) {
          if (node === nodeId && disconnect(user, connId)) wentOffline.push(user);
        }
      }
      aliveUntil.delete(nodeId);
      return Promise.resolve(wentOffline);
    },
    deadNodes() {
      const now = Date.now();
      const nodes = new Set<string>();
      for (const conns of connections.values()) for (const node of conns.values()) nodes.add(node);
      return Promise.resolve([...nodes].filter((node) => (aliveUntil.get(node) ?? 0) < now));
    },
    online() {
      return Promise.resolve([...names].map(([id, username]) => ({ id, username })));
    },
    onlineAmong(ids) {
      return Promise.resolve(ids.filter((id) => connections.has(id)));
    },
  };
}

function presenceKeys(prefix: string) {
  return {
    user: (userId: number) => `${prefix}:presence:user:${userId}`, // hash conn → node
    node: (nodeId: string) => `${prefix}:presence:node:${nodeId}`, // set of "user|conn"
    alive: (nodeId: string) => `${prefix}:presence:alive:${nodeId}`, // expiring heartbeat
    nodes: `${prefix}:presence:nodes`, // set of nodes with connections
    online: `${prefix}:presence:online`, // hash user → username
  };
}

// Each script is one atomic step, so concurrent connects and disconnects of one user (on any node)
// see a consistent connection count and exactly one of them reports the transition.
const CONNECT_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3] .. '|' .. ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return redis.call('HSETNX', KEYS[4], ARGV[3], ARGV[4])
`;
const DISCONNECT_SCRIPT = `
redis.call('SREM', KEYS[2], ARGV[2] .. '|' .. ARGV[1])
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 and redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
  return 1
end
return 0
`;

/** Keys start with `prefix` (the Moleculer namespace), so clusters sharing a Redis stay apart. */
export function redisPresenceStore(redis: Redis, prefix: string): PresenceStore {
  const KEY = presenceKeys(prefix);
  const disconnect = async (user: AuthUser, connId: string, nodeId: string): Promise<boolean> => {
    const result = await redis.eval(
      DISCONNECT_SCRIPT,
      3,
      KEY.user(user.id),
      KEY.node(nodeId),
      KEY.online,
      connId,
      String(user.id),
    );
    return result === 1;
  };

  return {
    async connect(user, connId, nodeId) {
      const result = await redis.eval(
        CONNECT_SCRIPT,
        4,
        KEY.user(user.id),
        KEY.node(nodeId),
        KEY.nodes,
        KEY.online,
        connId,
        nodeId,
        String(user.id),
        user.username,
      );
      return result === 1;
    },
    disconnect,
    async heartbeat(nodeId, ttlSec) {
      return (await redis.set(KEY.alive(nodeId), "1", "EX", ttlSec, "GET")) !== null;
    },
    async dropNode(nodeId) {
      const members = await redis.smembers(KEY.node(nodeId));
      const names = members.length > 0 ? await redis.hgetall(KEY.online) : {};
      const wentOffline: AuthUser[] = [];
      for (const member of members) {
        const [userId, connId] = member.split("|");
        const user = { id: Number(userId), username: names[userId] ?? "" };
        if (await disconnect(user, connId, nodeId)) wentOffline.push(user);
      }
      await redis.multi().del(KEY.node(nodeId)).srem(KEY.nodes, nodeId).del(KEY.alive(nodeId)).exec();
      return wentOffline;
    },
    async deadNodes() {
      const nodes = await redis.smembers(KEY.nodes);
      if (nodes.length === 0) return [];
      const alive = await redis.mget(nodes.map(KEY.alive));
      return nodes.filter((_, i) => alive[i] === null);
    },
    async online() {
      const all = await redis.hgetall(KEY.online);
      return Object.entries(all).map(([id, username]) => ({ id: Number(id), username }));
    },
    async onlineAmong(ids) {
      if (ids.length === 0) return [];
      const names = await redis.hmget(KEY.online, ...ids.map(String));
      return ids.filter((_, i) => names[i] !== null);
    },
  };
}
