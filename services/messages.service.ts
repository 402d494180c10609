import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type Redis from "ioredis";
import { Op } from "sequelize";
import type { Transaction, WhereOptions } from "sequelize";
import { configOf } from "../lib/broker-config";
import { cacheKeys, invalidate } from "../lib/cache-keys";
import { isUniqueViolation } from "../lib/database";
import { callerOf } from "../lib/caller";
import { ErrorCode, errors } from "../lib/errors";
import { memoryRateLimiter, redisRateLimiter } from "../lib/rate-limiter";
import type { RateLimiter } from "../lib/rate-limiter";
import { closeRedisClient, createRedisClient } from "../lib/redis";
import { MAX_INT4, idParam, seqParam, validateContent } from "../lib/validation";
import { DbMixin } from "../mixins/db.mixin";
import type { DbThis } from "../mixins/db.mixin";
import { Message, RoomSequence, initMessage, initRoomSequence } from "../models/message.model";
import type { AuthUser, ChatMeta, MessageDTO, MessageEvent, PublicUserDTO, RoomDeletedEvent } from "../types";
import type { AccessParams, RoomAccess } from "./rooms.service";

export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 100;
/** Most messages one sync returns per room; `has_more` tells the client to sync again. */
export const SYNC_LIMIT = 500;
const MAX_SYNC_ROOMS = 500;
// Edits committed just before a sync's clock reading may become visible just after it; overlapping
// windows make the next sync repeat them rather than miss them.
const SYNC_OVERLAP_MS = 2000;

export interface SendParams {
  roomId: number;
  content: unknown;
  client_msg_id?: string;
  clientMsgId?: string;
}
export interface HistoryParams {
  roomId: number;
  before?: number;
  after?: number;
  limit?: number;
}
export interface HistoryPage {
  results: MessageDTO[];
  next_before: number | null;
  next_after: number | null;
}
export interface EditParams {
  messageId: number;
  roomId?: number;
  content: unknown;
}
export interface DeleteParams {
  messageId: number;
  roomId?: number;
}
export interface SyncParams {
  rooms: Record<string, unknown>;
  since?: string;
}
export interface RoomSync {
  messages: MessageDTO[];
  changed: MessageDTO[];
  has_more: boolean;
}
export interface SyncResult {
  rooms: Record<string, RoomSync>;
  syncedAt: string;
}

interface MessagesMethods {
  requireMember(this: MessagesThis, ctx: Context<unknown, ChatMeta>, roomId: number): Promise<RoomAccess>;
  toDTOs(this: MessagesThis, ctx: Context, rows: Message[]): Promise<MessageDTO[]>;
  nextSeq(this: MessagesThis, roomId: number, t: Transaction): Promise<number>;
  changeMessage(
    this: MessagesThis,
    ctx: Context<DeleteParams, ChatMeta>,
    change: MessageChange,
    event: string,
  ): Promise<MessageDTO>;
}
type MessagesThis = Service & DbThis & MessagesMethods & { limiter: RateLimiter; redis: Redis | null };
/** Decides an edit or delete: the fields to update, null for nothing to do, or throws to refuse. */
type MessageChange = (message: Message, access: RoomAccess, user: AuthUser) => Partial<Message> | null;

const clientMsgIdParam = { type: "string", min: 1, max: 64, optional: true } as const;

function toDTO(message: Message, sender: AuthUser): MessageDTO {
  const deleted = message.deleted_at !== null && message.deleted_at !== undefined;
  return {
    id: message.id,
    room_id: message.room_id,
    seq: message.seq,
    sender,
    content: deleted ? "" : message.content,
    client_msg_id: message.client_msg_id ?? null,
    created_at: message.created_at.toISOString(),
    edited_at: message.edited_at ? message.edited_at.toISOString() : null,
    is_deleted: deleted,
  };
}

const MessagesService: ServiceSchema<ServiceSettingSchema, MessagesThis> = {
  name: "messages",
  mixins: [
    DbMixin((sequelize) => {
      initMessage(sequelize);
      initRoomSequence(sequelize);
    }),
  ],

  actions: {
    /**
     * Stores a message with the room's next seq and returns it after commit; a retry with the same
     * client_msg_id returns the stored message instead of a second copy.
     */
    send: {
      visibility: "published",
      params: {
        roomId: idParam,
        content: { type: "any" },
        client_msg_id: clientMsgIdParam,
        clientMsgId: clientMsgIdParam,
      },
      async handler(this: MessagesThis, ctx: Context<SendParams, ChatMeta>): Promise<MessageDTO> {
        const user = callerOf(ctx);
        const { roomId } = ctx.params;
        const content = validateContent(ctx.params.content);
        const clientMsgId = ctx.params.clientMsgId ?? ctx.params.client_msg_id ?? null;
        await this.requireMember(ctx, roomId);

        const replay = async (): Promise<MessageDTO | null> => {
          if (clientMsgId === null) return null;
          const stored = await Message.findOne({ where: { sender_id: user.id, client_msg_id: clientMsgId } });
          if (!stored) return null;
          if (stored.room_id !== roomId) {
            throw errors.conflict(ErrorCode.CONFLICT, "client_msg_id was already used for another room");
          }
          return toDTO(stored, user);
        };

        const previous = await replay();
        if (previous) return previous;
        // Charged only for new messages: a retry of a stored one is free.
        const quota = await this.limiter.take(`send:${user.id}`);
        if (!quota.allowed) throw errors.rateLimited(Math.max(1, Math.ceil(quota.retryAfterMs / 1000)));
        let stored: Message;
        try {
          stored = await this.db.transaction(async (t) => {
            const seq = await this.nextSeq(roomId, t);
            return Message.create(
              { room_id: roomId, seq, sender_id: user.id, content, client_msg_id: clientMsgId },
              { transaction: t },
            );
          });
        } catch (err) {
          // A concurrent retry with the same client_msg_id won; its seq increment was rolled back with ours.
          const raced = isUniqueViolation(err) ? await replay() : null;
          if (raced) return raced;
          throw err;
        }
        const message = toDTO(stored, user);
        await invalidate(this.broker, cacheKeys.latestMessages(roomId));
        await ctx.broadcast<MessageEvent>("chat.message", { message });
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/rooms/${roomId}/messages/?after=${message.seq - 1}&limit=1`;
        return message;
      },
    },

    /** A page of history, oldest first: newest 50 by default, or before/after a seq (members only). */
    history: {
      visibility: "published",
      params: {
        roomId: idParam,
        before: { ...seqParam, optional: true },
        after: { ...seqParam, optional: true },
        limit: { ...idParam, optional: true },
      },
      async handler(this: MessagesThis, ctx: Context<HistoryParams, ChatMeta>): Promise<HistoryPage> {
        const { roomId, before, after } = ctx.params;
        const limit = Math.min(ctx.params.limit ?? DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT);
        await this.requireMember(ctx, roomId);

        if (before === undefined && after === undefined) {
          const latest = await ctx.call<MessageDTO[], { roomId: number }>("messages.latestPage", { roomId });
          const results = latest.slice(-limit);
          const first = results[0];
          return { results, next_before: first && first.seq > 1 ? first.seq : null, next_after: null };
        }
        const seqRange: Record<symbol, number> = {};
        if (before !== undefined) seqRange[Op.lt] = before;
        if (after !== undefined) seqRange[Op.gt] = after;
        // Only `after` reads forward from a point; otherwise the page ends right below `before`.
        const forward = after !== undefined;
        const rows = await Message.findAll({
          where: { room_id: roomId, seq: seqRange } as WhereOptions<Message>,
          order: [["seq", forward ? "ASC" : "DESC"]],
          limit,
        });
        if (!forward) rows.reverse();
        const results = await this.toDTOs(ctx, rows);
        const first = results[0];
        const last = results[results.length - 1];
        return {
          results,
          next_before: !forward && first && first.seq > 1 ? first.seq : null,
          next_after: forward && results.length === limit && last ? last.seq : null,
        };
      },
    },

    /**
     * Catch-up after a reconnect: for each room `{roomId: lastSeq}` the caller is in, the messages after
     * lastSeq, and the older ones edited or deleted since the previous sync's `syncedAt`.
     */
    sync: {
      visibility: "published",
      params: {
        rooms: { type: "object" },
        since: { type: "string", optional: true, max: 40 },
      },
      async handler(this: MessagesThis, ctx: Context<SyncParams, ChatMeta>): Promise<SyncResult> {
        const user = callerOf(ctx);
        const wanted = Object.entries(ctx.params.rooms);
        if (wanted.length > MAX_SYNC_ROOMS)
          throw errors.validation({ rooms: `At most ${MAX_SYNC_ROOMS} rooms per sync` });
        const cursors = wanted.map(([roomId, lastSeq]) => {
          if (!/^[1-9]\d{0,9}$/.test(roomId) || !Number.isInteger(lastSeq) || (lastSeq as number) < 0) {
            throw errors.validation({ rooms: "Expected {<roomId>: <lastSeq>} with integer ids and seqs" });
          }
          return { roomId: Number(roomId), lastSeq: lastSeq as number };
        });
        const since = ctx.params.since === undefined ? null : new Date(ctx.params.since);
        if (since && Number.isNaN(since.getTime())) throw errors.validation({ since: "Expected an ISO date" });
        const syncedAt = new Date(Date.now() - SYNC_OVERLAP_MS);

        const rooms: Record<string, RoomSync> = {};
        await Promise.all(
          cursors.map(async ({ roomId, lastSeq }) => {
            if (roomId > MAX_INT4) return; // no such room can exist
            const access = await ctx.call<RoomAccess, AccessParams>("rooms.access", { roomId, userId: user.id });
            if (!access.role) return;
            const [newer, changed] = await Promise.all([
              Message.findAll({
                where: { room_id: roomId, seq: { [Op.gt]: lastSeq } },
                order: [["seq", "ASC"]],
                limit: SYNC_LIMIT + 1,
              }),
              since
                ? Message.findAll({
                    where: {
                      room_id: roomId,
                      seq: { [Op.lte]: lastSeq },
                      [Op.or]: [{ edited_at: { [Op.gt]: since } }, { deleted_at: { [Op.gt]: since } }],
                    },
                    order: [["seq", "ASC"]],
                    limit: SYNC_LIMIT,
                  })
                : Promise.resolve([] as Message[]),
            ]);
            const dtos = await this.toDTOs(ctx, [...newer.slice(0, SYNC_LIMIT), ...changed]);
            const newCount = Math.min(newer.length, SYNC_LIMIT);
            rooms[roomId] = {
              messages: dtos.slice(0, newCount),
              changed: dtos.slice(newCount),
              has_more: newer.length > SYNC_LIMIT,
            };
          }),
        );
        return { rooms, syncedAt: syncedAt.toISOString() };
      },
    },

    /** The room's newest MAX_HISTORY_LIMIT messages, oldest first; cached, cleaned on every change. */
    latestPage: {
      visibility: "public",
      params: { roomId: idParam },
      cache: { keys: ["roomId"], ttl: 300 },
      async handler(this: MessagesThis, ctx: Context<{ roomId: number }>): Promise<MessageDTO[]> {
        const rows = await Message.findAll({
          where: { room_id: ctx.params.roomId },
          order: [["seq", "DESC"]],
          limit: MAX_HISTORY_LIMIT,
        });
        return this.toDTOs(ctx, rows.reverse());
      },
    },

    /** Edits the caller's own message (PATCH /api/rooms/<id>/messages/<message_id>/). */
    edit: {
      visibility: "published",
      params: { messageId: idParam, roomId: { ...idParam, optional: true }, content: { type: "any" } },
      handler(this: MessagesThis, ctx: Context<EditParams, ChatMeta>): Promise<MessageDTO> {
        const content = validateContent(ctx.params.content);
        return this.changeMessage(
          ctx,
          (message, _access, user) => {
            if (message.sender_id !== user.id) throw errors.forbidden("You can only edit your own messages");
            if (message.deleted_at)
              throw errors.badRequest(ErrorCode.MESSAGE_DELETED, "A deleted message cannot be edited");
            return { content, edited_at: new Date() };
          },
          "chat.message_updated",
        );
      },
    },

    /** Soft-deletes a message: the sender's own, or any as the room's owner or admin. */
    delete: {
      visibility: "published",
      params: { messageId: idParam, roomId: { ...idParam, optional: true } },
      handler(this: MessagesThis, ctx: Context<DeleteParams, ChatMeta>): Promise<MessageDTO> {
        return this.changeMessage(
          ctx,
          (message, access, user) => {
            const moderator = access.role === "owner" || access.role === "admin";
            if (message.sender_id !== user.id && !moderator) {
              throw errors.forbidden("You can only delete your own messages");
            }
            return message.deleted_at ? null : { deleted_at: new Date() };
          },
          "chat.message_deleted",
        );
      },
    },

    /** The last seq of each given room (0 for rooms without messages). */
    lastSeqs: {
      visibility: "public",
      params: { roomIds: { type: "array", items: "number", max: 1000 } },
      async handler(ctx: Context<{ roomIds: number[] }>): Promise<Record<string, number>> {
        if (ctx.params.roomIds.length === 0) return {};
        const rows = await RoomSequence.findAll({ where: { room_id: { [Op.in]: ctx.params.roomIds } } });
        return Object.fromEntries(rows.map((row) => [String(row.room_id), row.last_seq]));
      },
    },

    /** The newest message of each given room, for room lists; rooms without messages are left out. */
    lastMessages: {
      visibility: "public",
      params: { roomIds: { type: "array", items: "number", max: 1000 } },
      async handler(this: MessagesThis, ctx: Context<{ roomIds: number[] }>): Promise<Record<string, MessageDTO>> {
        if (ctx.params.roomIds.length === 0) return {};
        const counters = await RoomSequence.findAll({ where: { room_id: { [Op.in]: ctx.params.roomIds } } });
        if (counters.length === 0) return {};
        const rows = await Message.findAll({
          where: { [Op.or]: counters.map((c) => ({ room_id: c.room_id, seq: c.last_seq })) },
        });
        const dtos = await this.toDTOs(ctx, rows);
        return Object.fromEntries(dtos.map((dto) => [String(dto.room_id), dto]));
      },
    },
  },

  events: {
    /** A deleted room takes its messages and counter with it. */
    "room.deleted": {
      async handler(this: MessagesThis, ctx: Context<RoomDeletedEvent>) {
        const roomId = ctx.params.room_id;
        await this.db.transaction(async (t) => {
          await Message.destroy({ where: { room_id: roomId }, transaction: t });
          await RoomSequence.destroy({ where: { room_id: roomId }, transaction: t });
        });
        await invalidate(this.broker, cacheKeys.latestMessages(roomId));
      },
    },
  },

  methods: {
    async requireMember(this: MessagesThis, ctx: Context<unknown, ChatMeta>, roomId: number): Promise<RoomAccess> {
      const access = await ctx.call<RoomAccess, AccessParams>("rooms.access", { roomId, userId: callerOf(ctx).id });
      if (!access.exists) throw errors.notFound("Room");
      if (!access.role) throw errors.forbidden("Only members of this room can do that", ErrorCode.NOT_A_MEMBER);
      return access;
    },

    async toDTOs(this: MessagesThis, ctx: Context, rows: Message[]): Promise<MessageDTO[]> {
      const senderIds = [...new Set(rows.map((row) => row.sender_id))];
      const senders = await ctx.call<PublicUserDTO[], { ids: number[] }>("auth.usersByIds", { ids: senderIds });
      const byId = new Map(senders.map((s) => [s.id, { id: s.id, username: s.username }]));
      return rows.map((row) => toDTO(row, byId.get(row.sender_id) ?? { id: row.sender_id, username: "" }));
    },

    /** Bumps the room's counter; the row lock the upsert takes is held until commit, so seqs have no gaps. */
    async nextSeq(this: MessagesThis, roomId: number, t: Transaction): Promise<number> {
      await this.db.sequelize.query(
        `INSERT INTO room_sequences (room_id, last_seq) VALUES (:roomId, 1)
         ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + 1`,
        { replacements: { roomId }, transaction: t },
      );
      const counter = await RoomSequence.findByPk(roomId, { transaction: t, rejectOnEmpty: true });
      return counter.last_seq;
    },

    async changeMessage(
      this: MessagesThis,
      ctx: Context<DeleteParams, ChatMeta>,
      change: MessageChange,
      event: string,
    ): Promise<MessageDTO> {
      const user = callerOf(ctx);
      const found = await Message.findByPk(ctx.params.messageId);
      if (!found || (ctx.params.roomId !== undefined && found.room_id !== ctx.params.roomId)) {
        throw errors.notFound("Message");
      }
      const access = await this.requireMember(ctx, found.room_id);
      const changed = await this.db.transaction(async (t) => {
        const message = await Message.findByPk(found.id, { transaction: t, lock: t.LOCK.UPDATE, rejectOnEmpty: true });
        const update = change(message, access, user);
        if (!update) return null;
        return message.update(update, { transaction: t });
      });
      const [dto] = await this.toDTOs(ctx, [changed ?? found]);
      if (changed) {
        await invalidate(this.broker, cacheKeys.latestMessages(found.room_id));
        await ctx.broadcast<MessageEvent>(event, { message: dto });
      }
      return dto;
    },
  },

  started(this: MessagesThis) {
    const config = configOf(this.broker);
    const limit = { ratePerSec: config.msgRatePerSec, burst: config.msgBurst };
    this.redis = config.redisUrl ? createRedisClient(config.redisUrl) : null;
    this.redis?.on("error", () => undefined); // failures surface on the commands, where they are handled
    this.limiter = this.redis
      ? redisRateLimiter(this.redis, config.namespace, limit, (err) =>
          this.logger.warn("rate limiter unavailable; not limiting", String(err)),
        )
      : memoryRateLimiter(limit);
  },

  async stopped(this: MessagesThis) {
    if (this.redis) await closeRedisClient(this.redis);
  },
};

export default MessagesService;
