import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import type Redis from "ioredis";
import { configOf } from "../lib/broker-config";
import { callerOf } from "../lib/caller";
import { ErrorCode, errors } from "../lib/errors";
import { memoryPresenceStore, redisPresenceStore } from "../lib/presence-store";
import type { PresenceStore } from "../lib/presence-store";
import { closeRedisClient, createRedisClient } from "../lib/redis";
import { idParam } from "../lib/validation";
import type { AuthUser, ChatMeta, PresenceEvent, TypingEvent } from "../types";
import type { AccessParams, RoomAccess } from "./rooms.service";

/** A gateway heartbeats every HEARTBEAT_INTERVAL; it is dead once HEARTBEAT_TTL passes without one. */
export const HEARTBEAT_INTERVAL_MS = 5000;
export const HEARTBEAT_TTL_SEC = 15;
const SWEEP_INTERVAL_MS = 5000;
/** A typing indicator nobody refreshes ends after this long. */
export const TYPING_TTL_MS = 5000;

export interface ConnectionParams {
  connId: string;
  nodeId: string;
}
export interface TypingParams {
  roomId: number;
  typing: boolean;
}

interface PresenceMethods {
  announce(this: PresenceThis, user: AuthUser, isOnline: boolean): Promise<void>;
  sweep(this: PresenceThis): Promise<void>;
  degraded(this: PresenceThis, err: unknown): never;
}
type PresenceThis = Service &
  PresenceMethods & {
    store: PresenceStore;
    redis: Redis | null;
    sweepTimer: NodeJS.Timeout | null;
    typingTimers: Map<string, NodeJS.Timeout>;
  };

const connectionParams = { connId: { type: "string", min: 1, max: 100 }, nodeId: { type: "string", min: 1, max: 200 } };

const PresenceService: ServiceSchema<ServiceSettingSchema, PresenceThis> = {
  name: "presence",

  actions: {
    /** For the gateways' readiness probe: answers when the presence store does. */
    health: {
      visibility: "public",
      async handler(this: PresenceThis): Promise<{ ok: true }> {
        await this.store.onlineAmong([0]);
        if (this.redis) await this.redis.ping();
        return { ok: true };
      },
    },

    /** A gateway reports a new authenticated connection of ctx.meta.user. */
    connect: {
      visibility: "public",
      params: connectionParams,
      async handler(this: PresenceThis, ctx: Context<ConnectionParams, ChatMeta>): Promise<{ cameOnline: boolean }> {
        const user = callerOf(ctx);
        const cameOnline = await this.store
          .connect(user, ctx.params.connId, ctx.params.nodeId)
          .catch((err) => this.degraded(err));
        if (cameOnline) await this.announce(user, true);
        return { cameOnline };
      },
    },

    /** A gateway reports a closed connection of ctx.meta.user. */
    disconnect: {
      visibility: "public",
      params: connectionParams,
      async handler(this: PresenceThis, ctx: Context<ConnectionParams, ChatMeta>): Promise<{ wentOffline: boolean }> {
        const user = callerOf(ctx);
        const wentOffline = await this.store
          .disconnect(user, ctx.params.connId, ctx.params.nodeId)
          .catch((err) => this.degraded(err));
        if (wentOffline) await this.announce(user, false);
        return { wentOffline };
      },
    },

    /**
     * A gateway says it is alive; its connections survive while it keeps saying so. `known: false` tells
     * a gateway that was taken for dead (a long pause) to report its connections again.
     */
    heartbeat: {
      visibility: "public",
      params: { nodeId: connectionParams.nodeId },
      async handler(this: PresenceThis, ctx: Context<{ nodeId: string }>): Promise<{ known: boolean }> {
        const known = await this.store
          .heartbeat(ctx.params.nodeId, HEARTBEAT_TTL_SEC)
          .catch((err) => this.degraded(err));
        return { known };
      },
    },

    /** A gateway that shuts down hands back all its connections at once. */
    dropNode: {
      visibility: "public",
      params: { nodeId: connectionParams.nodeId },
      async handler(this: PresenceThis, ctx: Context<{ nodeId: string }>): Promise<{ wentOffline: number }> {
        const users = await this.store.dropNode(ctx.params.nodeId).catch((err) => this.degraded(err));
        for (const user of users) await this.announce(user, false);
        return { wentOffline: users.length };
      },
    },

    /** Everyone online (GET /api/users/online/, socket `presence.online`). */
    online: {
      visibility: "published",
      async handler(this: PresenceThis): Promise<{ users: AuthUser[] }> {
        const users = await this.store.online().catch((err) => this.degraded(err));
        return { users: users.sort((a, b) => a.id - b.id) };
      },
    },

    /** Which of these users are online; nobody, rather than an error, when presence is degraded. */
    onlineAmong: {
      visibility: "public",
      params: { ids: { type: "array", items: "number", max: 1000 } },
      async handler(this: PresenceThis, ctx: Context<{ ids: number[] }>): Promise<number[]> {
        return this.store.onlineAmong(ctx.params.ids).catch((err: unknown) => {
          this.logger.warn("presence store unavailable", String(err));
          return [];
        });
      },
    },

    /** Typing indicator for the other members of a room; not stored, and it ends by itself. */
    typing: {
      visibility: "published",
      params: { roomId: idParam, typing: "boolean" },
      async handler(this: PresenceThis, ctx: Context<TypingParams, ChatMeta>): Promise<{ ok: true }> {
        const user = callerOf(ctx);
        const { roomId, typing } = ctx.params;
        const access = await ctx.call<RoomAccess, AccessParams>("rooms.access", { roomId, userId: user.id });
        if (!access.exists) throw errors.notFound("Room");
        if (!access.role) throw errors.forbidden("Only members of this room can do that", ErrorCode.NOT_A_MEMBER);
        const key = `${roomId}:${user.id}`;
        clearTimeout(this.typingTimers.get(key));
        this.typingTimers.delete(key);
        const event: TypingEvent = {
          room_id: roomId,
          user_id: user.id,
          username: user.username,
          typing,
          expires_in_ms: TYPING_TTL_MS,
        };
        if (typing) {
          const timer = setTimeout(() => {
            this.typingTimers.delete(key);
            this.broker
              .broadcast("room.typing", { ...event, typing: false })
              .catch((err: unknown) => this.logger.warn("typing expiry broadcast failed", String(err)));
          }, TYPING_TTL_MS);
          timer.unref();
          this.typingTimers.set(key, timer);
        }
        await ctx.broadcast<TypingEvent>("room.typing", event);
        return { ok: true };
      },
    },
  },

  methods: {
    /** Tells every gateway; the rooms are included so each gateway need not look them up. */
    async announce(this: PresenceThis, user: AuthUser, isOnline: boolean): Promise<void> {
      const roomIds = await this.broker.call<number[], { userId: number }>("rooms.roomIdsOf", { userId: user.id });
      await this.broker.broadcast<PresenceEvent>("presence.changed", {
        user_id: user.id,
        username: user.username,
        is_online: isOnline,
        room_ids: roomIds,
      });
    },

    async sweep(this: PresenceThis): Promise<void> {
      for (const nodeId of await this.store.deadNodes()) {
        const users = await this.store.dropNode(nodeId);
        this.logger.warn("gateway heartbeat expired; dropped its connections", { nodeId, users: users.length });
        for (const user of users) await this.announce(user, false);
      }
    },

    degraded(this: PresenceThis, err: unknown): never {
      this.logger.warn("presence store unavailable", String(err));
      throw new Errors.MoleculerRetryableError(
        "Presence is temporarily unavailable",
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
      );
    },
  },

  created(this: PresenceThis) {
    this.typingTimers = new Map();
    this.sweepTimer = null;
    this.redis = null;
  },

  started(this: PresenceThis) {
    const { redisUrl, namespace } = configOf(this.broker);
    this.redis = redisUrl ? createRedisClient(redisUrl) : null;
    this.redis?.on("error", () => undefined); // failures surface on the commands, where they are handled
    this.store = this.redis ? redisPresenceStore(this.redis, namespace) : memoryPresenceStore();
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.logger.warn("presence sweep failed", String(err)));
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  },

  async stopped(this: PresenceThis) {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    if (this.redis) await closeRedisClient(this.redis);
  },
};

export default PresenceService;
