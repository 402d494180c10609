import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Op, fn, col, literal } from "sequelize";
import type { Transaction } from "sequelize";
import { cacheKeys, invalidate } from "../lib/cache-keys";
import { isUniqueViolation } from "../lib/database";
import { callerOf } from "../lib/caller";
import { ErrorCode, errors } from "../lib/errors";
import { idParam, seqParam, validateRoomName } from "../lib/validation";
import { DbMixin } from "../mixins/db.mixin";
import type { DbThis } from "../mixins/db.mixin";
import { Membership, initMembership } from "../models/membership.model";
import { Room, initRoom } from "../models/room.model";
import type {
  ChatMeta,
  MemberDTO,
  MemberRole,
  MemberStatus,
  MessageDTO,
  MembershipEvent,
  Page,
  PublicUserDTO,
  ReadEvent,
  RoomDTO,
  RoomDeletedEvent,
  RoomListItemDTO,
} from "../types";

export const MAX_GROUP_MEMBERS = 100;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

export interface ListParams {
  page?: number;
  page_size?: number;
  mine?: string | number | boolean;
}
export interface CreateParams {
  name: string;
  room_type?: string;
}
export interface RoomParams {
  roomId: number;
}
export interface DirectParams {
  user_id: number;
}
export interface ReadParams {
  roomId: number;
  seq: number;
}
export interface AccessParams {
  roomId: number;
  userId: number;
}
/** What a user may do in a room: `exists` false means 404, `role` null means not a member. */
export interface RoomAccess {
  exists: boolean;
  room_type: "direct" | "group" | null;
  role: MemberRole | null;
}

type RoomRecord = Omit<RoomDTO, "last_seq">;

interface RoomsMethods {
  loadRoom(this: RoomsThis, ctx: Context, roomId: number): Promise<RoomRecord>;
  requireVisible(this: RoomsThis, ctx: Context<unknown, ChatMeta>, roomId: number): Promise<RoomRecord>;
  withLastSeq(this: RoomsThis, ctx: Context, rooms: RoomRecord[]): Promise<RoomDTO[]>;
  lockRoom(roomId: number, t: Transaction): Promise<Room>;
  onlineAmong(this: RoomsThis, ctx: Context, ids: number[]): Promise<number[]>;
  memberList(this: RoomsThis, ctx: Context, roomId: number): Promise<MemberDTO[]>;
}
type RoomsThis = Service & DbThis & RoomsMethods;

function toRecord(room: Room, memberCount: number): RoomRecord {
  return {
    id: room.id,
    name: room.name,
    room_type: room.room_type,
    created_by: room.created_by,
    created_at: room.created_at.toISOString(),
    member_count: memberCount,
  };
}

async function memberCounts(roomIds: number[]): Promise<Map<number, number>> {
  if (roomIds.length === 0) return new Map();
  const rows = (await Membership.findAll({
    attributes: ["room_id", [fn("COUNT", col("id")), "count"]],
    where: { room_id: { [Op.in]: roomIds } },
    group: ["room_id"],
    raw: true,
  })) as unknown as { room_id: number; count: string | number }[];
  return new Map(rows.map((row) => [Number(row.room_id), Number(row.count)]));
}

function isTruthyFlag(value: ListParams["mine"]): boolean {
  return value === true || value === 1 || value === "1" || value === "true";
}

function pageUrl(page: number, pageSize: number, mine: boolean): string {
  return `/api/rooms/?page=${page}&page_size=${pageSize}${mine ? "&mine=1" : ""}`;
}

const RoomsService: ServiceSchema<ServiceSettingSchema, RoomsThis> = {
  name: "rooms",
  mixins: [
    DbMixin((sequelize) => {
      initRoom(sequelize);
      initMembership(sequelize);
    }),
  ],

  actions: {
    /** Group rooms and the caller's direct rooms, newest first (GET /api/rooms/). */
    list: {
      visibility: "published",
      params: {
        page: { ...idParam, optional: true },
        page_size: { ...idParam, optional: true },
        mine: { type: "any", optional: true },
      },
      async handler(this: RoomsThis, ctx: Context<ListParams, ChatMeta>): Promise<Page<RoomListItemDTO>> {
        const user = callerOf(ctx);
        const page = ctx.params.page ?? 1;
        const pageSize = Math.min(ctx.params.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
        const mine = isTruthyFlag(ctx.params.mine);
        // user.id comes from a verified token and is an integer, so it is safe inside the literal.
        const myRooms = literal(`(SELECT room_id FROM memberships WHERE user_id = ${Number(user.id)})`);
        const where = mine
          ? { id: { [Op.in]: myRooms } }
          : { [Op.or]: [{ room_type: "group" }, { id: { [Op.in]: myRooms } }] };
        const { count, rows } = await Room.findAndCountAll({
          where,
          order: [["id", "DESC"]],
          limit: pageSize,
          offset: (page - 1) * pageSize,
        });
        const ids = rows.map((room) => room.id);
        const [counts, memberships] = await Promise.all([
          memberCounts(ids),
          Membership.findAll({ where: { user_id: user.id, room_id: { [Op.in]: ids } } }),
        ]);
        const readSeq = new Map(memberships.map((m) => [m.room_id, m.last_read_seq]));
        // Only members may read a room's messages, so only their rooms show the last one.
        const [rooms, lastMessages] = await Promise.all([
          this.withLastSeq(
            ctx,
            rows.map((room) => toRecord(room, counts.get(room.id) ?? 0)),
          ),
          ctx.call<Record<string, MessageDTO>, { roomIds: number[] }>("messages.lastMessages", {
            roomIds: memberships.map((m) => m.room_id),
          }),
        ]);
        const results = rooms.map((room) => {
          const lastRead = readSeq.get(room.id);
          return {
            ...room,
            is_member: lastRead !== undefined,
            last_read_seq: lastRead ?? 0,
            unread_count: lastRead === undefined ? 0 : Math.max(0, room.last_seq - lastRead),
            last_message: lastMessages[room.id] ?? null,
          };
        });
        return {
          count,
          next: page * pageSize < count ? pageUrl(page + 1, pageSize, mine) : null,
          previous: page > 1 ? pageUrl(page - 1, pageSize, mine) : null,
          results,
        };
      },
    },

    /** Creates a group room owned by the caller (POST /api/rooms/). */
    create: {
      visibility: "published",
      params: {
        name: { type: "any" },
        room_type: { type: "string", optional: true },
      },
      async handler(this: RoomsThis, ctx: Context<CreateParams, ChatMeta>): Promise<RoomDTO> {
        const user = callerOf(ctx);
        const name = validateRoomName(ctx.params.name);
        const roomType = ctx.params.room_type ?? "group";
        if (roomType !== "group") {
          throw errors.validation({ room_type: "Only group rooms are created here; use create_direct_chat" });
        }
        const room = await this.db.transaction(async (t) => {
          const created = await Room.create({ name, room_type: "group", created_by: user.id }, { transaction: t });
          await Membership.create({ room_id: created.id, user_id: user.id, role: "owner" }, { transaction: t });
          return created;
        });
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/rooms/${room.id}/`;
        this.logger.info("room created", { roomId: room.id, userId: user.id });
        const created = { ...toRecord(room, 1), last_seq: 0 };
        // The owner's sockets subscribe to the room; and group rooms are public, so every client may list it.
        await ctx.broadcast<MembershipEvent>("room.member_joined", { room_id: room.id, user });
        await ctx.broadcast<RoomDTO>("room.created", created);
        return created;
      },
    },

    /** Room detail (GET /api/rooms/<id>/); a direct room is visible to its two members only. */
    get: {
      visibility: "published",
      params: { roomId: idParam },
      async handler(this: RoomsThis, ctx: Context<RoomParams, ChatMeta>): Promise<RoomDTO> {
        const room = await this.requireVisible(ctx, ctx.params.roomId);
        const [withSeq] = await this.withLastSeq(ctx, [room]);
        return withSeq;
      },
    },

    /** Finds or creates the direct room of the caller and another user (POST /api/rooms/create_direct_chat/). */
    createDirect: {
      visibility: "published",
      params: { user_id: idParam },
      async handler(this: RoomsThis, ctx: Context<DirectParams, ChatMeta>): Promise<RoomDTO> {
        const me = callerOf(ctx);
        const otherId = ctx.params.user_id;
        if (otherId === me.id) throw errors.validation({ user_id: "You cannot start a direct chat with yourself" });
        const other = await ctx.call<PublicUserDTO | null, { id: number }>("auth.user", { id: otherId });
        if (!other) throw errors.notFound("User");
        const directKey = `${Math.min(me.id, otherId)}:${Math.max(me.id, otherId)}`;
        const existing = await Room.findOne({ where: { direct_key: directKey } });
        if (existing) return (await this.withLastSeq(ctx, [toRecord(existing, 2)]))[0];
        try {
          const room = await this.db.transaction(async (t) => {
            const name = `${me.username}, ${other.username}`.slice(0, 100);
            const created = await Room.create(
              { name, room_type: "direct", direct_key: directKey, created_by: me.id },
              { transaction: t },
            );
            await Membership.bulkCreate(
              [
                { room_id: created.id, user_id: me.id, role: "member" },
                { room_id: created.id, user_id: otherId, role: "member" },
              ],
              { transaction: t },
            );
            return created;
          });
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = `/api/rooms/${room.id}/`;
          await ctx.broadcast<MembershipEvent>("room.member_joined", { room_id: room.id, user: me });
          await ctx.broadcast<MembershipEvent>("room.member_joined", {
            room_id: room.id,
            user: { id: other.id, username: other.username },
          });
          return { ...toRecord(room, 2), last_seq: 0 };
        } catch (err) {
          // Both users asked at the same moment: the other request created it.
          if (!isUniqueViolation(err)) throw err;
          const raced = await Room.findOne({ where: { direct_key: directKey }, rejectOnEmpty: true });
          return (await this.withLastSeq(ctx, [toRecord(raced, 2)]))[0];
        }
      },
    },

    /** Joins a group room; the member limit holds under concurrent joins (POST /api/rooms/<id>/join/). */
    join: {
      visibility: "published",
      params: { roomId: idParam },
      async handler(this: RoomsThis, ctx: Context<RoomParams, ChatMeta>): Promise<RoomDTO> {
        const user = callerOf(ctx);
        const { roomId } = ctx.params;
        try {
          await this.db.transaction(async (t) => {
            const room = await this.lockRoom(roomId, t);
            if (room.room_type === "direct")
              throw errors.badRequest(ErrorCode.DIRECT_ROOM, "Direct rooms cannot be joined");
            const existing = await Membership.findOne({ where: { room_id: roomId, user_id: user.id }, transaction: t });
            if (existing) throw errors.badRequest(ErrorCode.ALREADY_MEMBER, "You are already a member of this room");
            const members = await Membership.count({ where: { room_id: roomId }, transaction: t });
            if (members >= MAX_GROUP_MEMBERS) {
              throw errors.conflict(ErrorCode.ROOM_FULL, `This room is full (${MAX_GROUP_MEMBERS} members)`);
            }
            await Membership.create({ room_id: roomId, user_id: user.id, role: "member" }, { transaction: t });
          });
        } catch (err) {
          if (isUniqueViolation(err))
            throw errors.badRequest(ErrorCode.ALREADY_MEMBER, "You are already a member of this room");
          throw err;
        }
        await invalidate(this.broker, cacheKeys.roomAccess(roomId, user.id), cacheKeys.room(roomId));
        await ctx.broadcast<MembershipEvent>("room.member_joined", { room_id: roomId, user });
        const [room] = await this.withLastSeq(ctx, [await this.loadRoom(ctx, roomId)]);
        return room;
      },
    },

    /**
     * Leaves a group room (POST /api/rooms/<id>/leave/). The owner's role passes to the longest-standing
     * member; the last one out deletes the room.
     */
    leave: {
      visibility: "published",
      params: { roomId: idParam },
      async handler(this: RoomsThis, ctx: Context<RoomParams, ChatMeta>): Promise<{ ok: true; room_deleted: boolean }> {
        const user = callerOf(ctx);
        const { roomId } = ctx.params;
        const { roomDeleted, promotedId } = await this.db.transaction(async (t) => {
          const room = await this.lockRoom(roomId, t);
          const membership = await Membership.findOne({ where: { room_id: roomId, user_id: user.id }, transaction: t });
          if (!membership) throw errors.badRequest(ErrorCode.NOT_A_MEMBER, "You are not a member of this room");
          if (room.room_type === "direct")
            throw errors.badRequest(ErrorCode.DIRECT_ROOM, "Direct rooms cannot be left");
          await membership.destroy({ transaction: t });
          const next = await Membership.findOne({
            where: { room_id: roomId },
            order: [
              ["joined_at", "ASC"],
              ["id", "ASC"],
            ],
            transaction: t,
          });
          if (!next) {
            await room.destroy({ transaction: t });
            return { roomDeleted: true, promotedId: null };
          }
          if (membership.role === "owner" && next.role !== "owner") {
            await next.update({ role: "owner" }, { transaction: t });
            return { roomDeleted: false, promotedId: next.user_id };
          }
          return { roomDeleted: false, promotedId: null };
        });
        // The new owner's cached role must go too, or they cannot moderate until it expires.
        const promotedKeys = promotedId === null ? [] : [cacheKeys.roomAccess(roomId, promotedId)];
        await invalidate(this.broker, cacheKeys.roomAccess(roomId, user.id), cacheKeys.room(roomId), ...promotedKeys);
        await ctx.broadcast<MembershipEvent>("room.member_left", { room_id: roomId, user });
        if (roomDeleted) {
          await this.broker.cacher?.clean(cacheKeys.roomAccessAll(roomId));
          await ctx.emit<RoomDeletedEvent>("room.deleted", { room_id: roomId });
          this.logger.info("empty room deleted", { roomId });
        }
        return { ok: true, room_deleted: roomDeleted };
      },
    },

    /** Members of a room with their role and presence (GET /api/rooms/<id>/users/); members only. */
    members: {
      visibility: "published",
      params: { roomId: idParam },
      async handler(this: RoomsThis, ctx: Context<RoomParams, ChatMeta>): Promise<{ users: MemberDTO[] }> {
        const user = callerOf(ctx);
        const access = await ctx.call<RoomAccess, AccessParams>("rooms.access", {
          roomId: ctx.params.roomId,
          userId: user.id,
        });
        if (!access.exists) throw errors.notFound("Room");
        if (!access.role) throw errors.forbidden("Only members can see the member list");
        return { users: await this.memberList(ctx, ctx.params.roomId) };
      },
    },

    /** Members of a room with presence, for gateways (plain-WebSocket `online_status`). */
    memberStatuses: {
      visibility: "public",
      params: { roomId: idParam },
      async handler(this: RoomsThis, ctx: Context<RoomParams>): Promise<MemberStatus[]> {
        const members = await this.memberList(ctx, ctx.params.roomId);
        return members.map(({ id, username, is_online }) => ({ id, username, is_online }));
      },
    },

    /** Moves the caller's read position forward (POST /api/rooms/<id>/read/). */
    read: {
      visibility: "published",
      params: { roomId: idParam, seq: seqParam },
      async handler(this: RoomsThis, ctx: Context<ReadParams, ChatMeta>): Promise<{ ok: true; last_read_seq: number }> {
        const user = callerOf(ctx);
        const { roomId } = ctx.params;
        await this.requireVisible(ctx, roomId);
        const seqs = await ctx.call<Record<string, number>, { roomIds: number[] }>("messages.lastSeqs", {
          roomIds: [roomId],
        });
        const target = Math.min(ctx.params.seq, seqs[roomId] ?? 0);
        const lastRead = await this.db.transaction(async (t) => {
          const membership = await Membership.findOne({
            where: { room_id: roomId, user_id: user.id },
            transaction: t,
            lock: t.LOCK.UPDATE,
          });
          if (!membership) throw errors.forbidden("Only members have a read position", ErrorCode.NOT_A_MEMBER);
          if (target > membership.last_read_seq) await membership.update({ last_read_seq: target }, { transaction: t });
          return Math.max(target, membership.last_read_seq);
        });
        await ctx.broadcast<ReadEvent>("room.read", { room_id: roomId, user_id: user.id, seq: lastRead });
        return { ok: true, last_read_seq: lastRead };
      },
    },

    /** Whether a room exists and the user's role in it; cached, cleaned on join, leave and delete. */
    access: {
      visibility: "public",
      params: { roomId: idParam, userId: idParam },
      cache: { keys: ["roomId", "userId"], ttl: 300 },
      async handler(this: RoomsThis, ctx: Context<AccessParams>): Promise<RoomAccess> {
        const room = await Room.findByPk(ctx.params.roomId, { attributes: ["id", "room_type"] });
        if (!room) return { exists: false, room_type: null, role: null };
        const membership = await Membership.findOne({
          where: { room_id: ctx.params.roomId, user_id: ctx.params.userId },
          attributes: ["role"],
        });
        return { exists: true, room_type: room.room_type, role: membership?.role ?? null };
      },
    },

    /** A room's record with its member count, or null; cached, cleaned on join, leave and delete. */
    findRoom: {
      visibility: "public",
      params: { roomId: idParam },
      cache: { keys: ["roomId"], ttl: 300 },
      async handler(ctx: Context<RoomParams>): Promise<RoomRecord | null> {
        const room = await Room.findByPk(ctx.params.roomId);
        if (!room) return null;
        const count = await Membership.count({ where: { room_id: room.id } });
        return toRecord(room, count);
      },
    },

    /** Ids of the rooms a user belongs to (for socket subscriptions). */
    roomIdsOf: {
      visibility: "public",
      params: { userId: idParam },
      async handler(ctx: Context<{ userId: number }>): Promise<number[]> {
        const rows = await Membership.findAll({ where: { user_id: ctx.params.userId }, attributes: ["room_id"] });
        return rows.map((row) => row.room_id);
      },
    },
  },

  methods: {
    async loadRoom(this: RoomsThis, ctx: Context, roomId: number): Promise<RoomRecord> {
      const room = await ctx.call<RoomRecord | null, RoomParams>("rooms.findRoom", { roomId });
      if (!room) throw errors.notFound("Room");
      return room;
    },

    async requireVisible(this: RoomsThis, ctx: Context<unknown, ChatMeta>, roomId: number): Promise<RoomRecord> {
      const room = await this.loadRoom(ctx, roomId);
      if (room.room_type === "direct") {
        const access = await ctx.call<RoomAccess, AccessParams>("rooms.access", {
          roomId,
          userId: callerOf(ctx).id,
        });
        if (!access.role) throw errors.forbidden();
      }
      return room;
    },

    async withLastSeq(this: RoomsThis, ctx: Context, rooms: RoomRecord[]): Promise<RoomDTO[]> {
      if (rooms.length === 0) return [];
      const seqs = await ctx.call<Record<string, number>, { roomIds: number[] }>("messages.lastSeqs", {
        roomIds: rooms.map((room) => room.id),
      });
      return rooms.map((room) => ({ ...room, last_seq: seqs[room.id] ?? 0 }));
    },

    async memberList(this: RoomsThis, ctx: Context, roomId: number): Promise<MemberDTO[]> {
      const memberships = await Membership.findAll({
        where: { room_id: roomId },
        order: [
          ["joined_at", "ASC"],
          ["id", "ASC"],
        ],
      });
      const ids = memberships.map((m) => m.user_id);
      const [profiles, online] = await Promise.all([
        ctx.call<PublicUserDTO[], { ids: number[] }>("auth.usersByIds", { ids }),
        this.onlineAmong(ctx, ids),
      ]);
      const byId = new Map(profiles.map((p) => [p.id, p]));
      const onlineIds = new Set(online);
      return memberships.flatMap((m) => {
        const profile = byId.get(m.user_id);
        if (!profile) return [];
        const { id, username, first_name } = profile;
        return [{ id, username, first_name, is_online: onlineIds.has(id), role: m.role }];
      });
    },

    /** Which of these users are online; nobody when no presence service runs in the mesh. */
    async onlineAmong(this: RoomsThis, ctx: Context, ids: number[]): Promise<number[]> {
      const services = this.broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true });
      if (!services.some((service) => service.name === "presence")) return [];
      return ctx.call<number[], { ids: number[] }>("presence.onlineAmong", { ids });
    },

    async lockRoom(roomId: number, t: Transaction): Promise<Room> {
      const room = await Room.findByPk(roomId, { transaction: t, lock: t.LOCK.UPDATE });
      if (!room) throw errors.notFound("Room");
      return room;
    },
  },
};

export default RoomsService;
