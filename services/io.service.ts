/**
 * Realtime gateway: Socket.IO (moleculer-io) and the original plain WebSocket protocol, both on the
 * api service's HTTP server. Every gateway hears the mesh's broadcast events and emits them to its
 * own sockets only (`.local`), so each socket gets each event once however many gateways run.
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import { createAdapter } from "@socket.io/redis-adapter";
import type Redis from "ioredis";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import SocketIOMixin from "moleculer-io";
import type { Server as IOServer, Socket } from "socket.io";
import { configOf } from "../lib/broker-config";
import { ErrorCode, errors } from "../lib/errors";
import { PlainWsGateway } from "../lib/plain-ws";
import type { WsRoomEvent } from "../lib/plain-ws";
import { closeRedisClient, createAdapterClients } from "../lib/redis";
import { RoomSequencer } from "../lib/room-sequencer";
import { verifyToken } from "../lib/tokens";
import { HEARTBEAT_INTERVAL_MS } from "./presence.service";
import type { HistoryPage } from "./messages.service";
import type {
  AuthUser,
  ChatMeta,
  MembershipEvent,
  MessageDTO,
  MessageEvent,
  PresenceEvent,
  ReadEvent,
  RoomDTO,
  TypingEvent,
} from "../types";

/** The only calls a socket may make: public name → action. Everything else is refused. */
export const SOCKET_CALLS: Record<string, string> = {
  "messages.send": "messages.send",
  "messages.history": "io.history",
  "messages.sync": "messages.sync",
  "messages.edit": "messages.edit",
  "messages.delete": "messages.delete",
  "rooms.join": "rooms.join",
  "rooms.leave": "rooms.leave",
  "rooms.typing": "presence.typing",
  "rooms.read": "rooms.read",
  "presence.online": "presence.online",
};

/**
 * A socket with this much unsent is not keeping up: it is disconnected (and catches up with
 * messages.sync when it reconnects) rather than buffered without bound. Emits never wait for it.
 */
const MAX_PENDING_BYTES = 1024 * 1024;
const MAX_PENDING_PACKETS = 2000;

/** Largest Socket.IO packet; far above the 1,000-character content limit, which is checked per call. */
export const MAX_SOCKET_PACKET_BYTES = 64 * 1024;

const roomChannel = (roomId: number) => `room:${roomId}`;
const userChannel = (userId: number) => `user:${userId}`;

interface SocketSession {
  user: AuthUser;
  expiryTimer: NodeJS.Timeout | null;
}

interface IoMethods {
  socketAuthorize(this: IoThis, socket: Socket): AuthUser;
  onConnection(this: IoThis, socket: Socket): Promise<void>;
  armExpiry(this: IoThis, socket: Socket, exp: number): void;
  reauthenticate(this: IoThis, socket: Socket, token: unknown): { ok: true; exp: number };
  heartbeat(this: IoThis): Promise<void>;
  dropSlowConsumers(this: IoThis): void;
}
type IoThis = Service &
  IoMethods & {
    io: IOServer | undefined;
    server: HttpServer;
    plainWs: PlainWsGateway;
    sequencer: RoomSequencer;
    redisClients: Redis[];
    heartbeatTimer: NodeJS.Timeout | null;
    upgradeListener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  };

interface IoSettings {
  io: { namespaces: Record<string, { events: { call: { aliases: Record<string, string> } } }> };
}

function sessionOf(socket: Socket): SocketSession {
  return socket.data as SocketSession;
}

const IoService: ServiceSchema<ServiceSettingSchema, IoThis> = {
  name: "io",
  mixins: [SocketIOMixin],
  dependencies: ["api"],

  settings: {
    server: false,
    logClientConnection: "debug",
    logRequest: "debug",
    io: {
      options: {
        path: "/socket.io",
        transports: ["websocket", "polling"],
        maxHttpBufferSize: MAX_SOCKET_PACKET_BYTES,
        // The plain-WebSocket routes share the HTTP server's upgrades; Socket.IO must leave them alone.
        destroyUpgrade: false,
      },
      namespaces: {
        "/": {
          authorization: true,
          events: {
            call: { mappingPolicy: "restrict", aliases: SOCKET_CALLS },
          },
        },
      },
    },
  },

  actions: {
    /** `messages.history` for sockets: the REST page reshaped to `{messages, nextBefore}`. */
    history: {
      visibility: "published",
      async handler(this: IoThis, ctx: Context<Record<string, unknown>, ChatMeta>) {
        const page = await ctx.call<HistoryPage, Record<string, unknown>>("messages.history", ctx.params);
        return { messages: page.results, nextBefore: page.next_before, nextAfter: page.next_after };
      },
    },
  },

  events: {
    "chat.message"(this: IoThis, ctx: Context<MessageEvent>) {
      this.sequencer.push(ctx.params.message);
    },
    "chat.message_updated"(this: IoThis, ctx: Context<MessageEvent>) {
      this.io?.local.to(roomChannel(ctx.params.message.room_id)).emit("message.updated", ctx.params.message);
    },
    "chat.message_deleted"(this: IoThis, ctx: Context<MessageEvent>) {
      this.io?.local.to(roomChannel(ctx.params.message.room_id)).emit("message.deleted", ctx.params.message);
    },
    "room.member_joined"(this: IoThis, ctx: Context<MembershipEvent>) {
      const { room_id: roomId, user } = ctx.params;
      if (!this.io) return;
      this.io.local.in(userChannel(user.id)).socketsJoin(roomChannel(roomId));
      this.io.local.to(roomChannel(roomId)).emit("room.member_joined", ctx.params);
    },
    "room.member_left"(this: IoThis, ctx: Context<MembershipEvent>) {
      const { room_id: roomId, user } = ctx.params;
      if (!this.io) return;
      this.io.local.to(roomChannel(roomId)).emit("room.member_left", ctx.params);
      this.io.local.in(userChannel(user.id)).socketsLeave(roomChannel(roomId));
      this.plainWs.memberLeft(ctx.params);
    },
    "room.created"(this: IoThis, ctx: Context<RoomDTO>) {
      this.io?.local.emit("room.created", ctx.params);
    },
    "room.typing"(this: IoThis, ctx: Context<TypingEvent>) {
      const { room_id: roomId, user_id: userId } = ctx.params;
      this.io?.local.to(roomChannel(roomId)).except(userChannel(userId)).emit("typing", ctx.params);
    },
    "room.read"(this: IoThis, ctx: Context<ReadEvent>) {
      this.io?.local.to(roomChannel(ctx.params.room_id)).emit("read", ctx.params);
    },
    async "presence.changed"(this: IoThis, ctx: Context<PresenceEvent>) {
      const { user_id, username, is_online, room_ids } = ctx.params;
      if (this.io && room_ids.length > 0) {
        this.io.local.to(room_ids.map(roomChannel)).emit("presence", { user_id, username, is_online });
      }
      await this.plainWs.presenceChanged(ctx.params);
    },
    async "ws.room_entered"(this: IoThis, ctx: Context<WsRoomEvent>) {
      await this.plainWs.roomPresenceChanged(ctx.params, true);
    },
    async "ws.room_left"(this: IoThis, ctx: Context<WsRoomEvent>) {
      await this.plainWs.roomPresenceChanged(ctx.params, false);
    },
  },

  methods: {
    /** Handshake: `io(url, { auth: { token } })`. A refusal reaches the client as connect_error "unauthorized". */
    socketAuthorize(this: IoThis, socket: Socket): AuthUser {
      const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
      try {
        if (typeof token !== "string") throw errors.unauthorized();
        const claims = verifyToken(configOf(this.broker).jwtSecret, token, "access");
        const user = { id: claims.user_id, username: claims.username };
        socket.data = { user, expiryTimer: null } satisfies SocketSession;
        this.armExpiry(socket, claims.exp);
        return user;
      } catch (err) {
        const refusal = new Error("unauthorized") as Error & { data: unknown };
        refusal.data = { code: (err as { type?: string }).type ?? ErrorCode.UNAUTHORIZED };
        throw refusal;
      }
    },

    /** moleculer-io copies ctx.meta.user back onto the socket after each call; the identity is the handshake's. */
    socketSaveMeta() {},

    async onConnection(this: IoThis, socket: Socket): Promise<void> {
      const { user } = sessionOf(socket);
      await socket.join(userChannel(user.id));
      socket.on("auth", (token: unknown, ack?: (err: unknown, res?: unknown) => void) => {
        try {
          const result = this.reauthenticate(socket, token);
          if (typeof ack === "function") ack(null, result);
        } catch (err) {
          const { name, message, code, type } = err as Record<string, unknown>;
          if (typeof ack === "function") ack({ name, message, code, type });
        }
      });
      socket.on("disconnect", () => {
        const { expiryTimer } = sessionOf(socket);
        if (expiryTimer) clearTimeout(expiryTimer);
        this.broker
          .call("presence.disconnect", { connId: socket.id, nodeId: this.broker.nodeID }, { meta: { user } })
          .catch((err: unknown) => this.logger.warn("presence.disconnect failed", String(err)));
      });
      const roomIds = await this.broker.call<number[], { userId: number }>("rooms.roomIdsOf", { userId: user.id });
      await socket.join(roomIds.map(roomChannel));
      try {
        await this.broker.call(
          "presence.connect",
          { connId: socket.id, nodeId: this.broker.nodeID },
          { meta: { user } },
        );
      } catch (err) {
        this.logger.warn("presence.connect failed; presence degraded", String(err));
      }
      // Tells the client its subscriptions are in place: anything sent from now on reaches it.
      socket.emit("session", { user, rooms: roomIds });
    },

    /** At expiry the server says why, then disconnects; a client that re-authenticates in time stays. */
    armExpiry(this: IoThis, socket: Socket, exp: number): void {
      const session = sessionOf(socket);
      if (session.expiryTimer) clearTimeout(session.expiryTimer);
      session.expiryTimer = setTimeout(
        () => {
          socket.emit("auth_expired", {
            code: ErrorCode.TOKEN_EXPIRED,
            message: "Access token expired: refresh it and reconnect",
          });
          socket.disconnect(true);
        },
        exp * 1000 - Date.now(),
      );
      session.expiryTimer.unref();
    },

    /** `socket.emit("auth", newAccessToken, ack)`: same user, later expiry. */
    reauthenticate(this: IoThis, socket: Socket, token: unknown): { ok: true; exp: number } {
      if (typeof token !== "string") throw errors.unauthorized();
      const claims = verifyToken(configOf(this.broker).jwtSecret, token, "access");
      if (claims.user_id !== sessionOf(socket).user.id) throw errors.unauthorized("Token belongs to another user");
      this.armExpiry(socket, claims.exp);
      return { ok: true, exp: claims.exp };
    },

    dropSlowConsumers(this: IoThis): void {
      for (const socket of this.io?.of("/").sockets.values() ?? []) {
        // engine.io keeps packets the transport could not take yet; the websocket transport wraps a ws socket.
        const conn = socket.conn as unknown as {
          writeBuffer: unknown[];
          transport: { socket?: { bufferedAmount?: number } };
        };
        const pendingBytes = conn.transport.socket?.bufferedAmount ?? 0;
        if (conn.writeBuffer.length > MAX_PENDING_PACKETS || pendingBytes > MAX_PENDING_BYTES) {
          this.logger.warn("disconnecting a socket that does not keep up", { userId: sessionOf(socket).user.id });
          socket.disconnect(true);
        }
      }
    },

    /** Keeps this gateway's connections alive in presence, and reports them again if it was taken for dead. */
    async heartbeat(this: IoThis): Promise<void> {
      const nodeId = this.broker.nodeID;
      const { known } = await this.broker.call<{ known: boolean }, { nodeId: string }>("presence.heartbeat", {
        nodeId,
      });
      if (known) return;
      const sockets = [...(this.io?.of("/").sockets.values() ?? [])].filter((socket) => sessionOf(socket)?.user);
      const connections = [
        ...sockets.map((socket) => ({ connId: socket.id, user: sessionOf(socket).user })),
        ...this.plainWs.connections(),
      ];
      for (const { connId, user } of connections) {
        await this.broker.call("presence.connect", { connId, nodeId }, { meta: { user } });
      }
    },
  },

  created(this: IoThis) {
    // The merged settings give the alias table Object's prototype: without one, names such as
    // "toString" or "__proto__" are unknown calls instead of inherited members that crash the lookup.
    Object.setPrototypeOf((this.settings as IoSettings).io.namespaces["/"].events.call.aliases, null);
    const api = this.broker.getLocalService("api") as unknown as { server?: HttpServer } | undefined;
    if (!api?.server) throw new Error("the io service needs the api service on the same node");
    // moleculer-io attaches Socket.IO to `this.server` when it starts.
    this.server = api.server;
    this.redisClients = [];
    this.heartbeatTimer = null;
    const config = configOf(this.broker);
    this.plainWs = new PlainWsGateway(this.broker, config.jwtSecret, this.logger);
    this.sequencer = new RoomSequencer((message: MessageDTO) => {
      this.io?.local.to(roomChannel(message.room_id)).emit("message", message);
      this.plainWs.deliverMessage(message);
    });
    this.upgradeListener = (req, socket, head) => {
      this.plainWs.handleUpgrade(req, socket, head);
    };
    this.server.on("upgrade", this.upgradeListener);
  },

  started(this: IoThis) {
    const io = this.io!;
    const { redisUrl, namespace } = configOf(this.broker);
    if (redisUrl) {
      // The adapter subscribes before the connection is up, so these clients keep ioredis' offline queue.
      const [pub, sub] = createAdapterClients(redisUrl);
      for (const client of [pub, sub])
        client.on("error", (err) => this.logger.warn("Socket.IO Redis adapter", String(err)));
      this.redisClients = [pub, sub];
      // Its channels carry the namespace, like every other Redis key, so clusters sharing a Redis stay apart.
      io.adapter(createAdapter(pub, sub, { key: `${namespace}:socket.io` }));
    }
    io.of("/").on("connection", (socket: Socket) => {
      this.onConnection(socket).catch((err: unknown) => {
        this.logger.warn("socket setup failed", String(err));
        socket.disconnect(true);
      });
    });
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((err: unknown) => this.logger.warn("presence heartbeat failed", String(err)));
      this.dropSlowConsumers();
    }, HEARTBEAT_INTERVAL_MS);
    this.heartbeatTimer.unref();
    // Connections reported before this node's first heartbeat would be swept as a dead node's, and at
    // start-up the presence service may not be discovered yet: wait for it (bounded) before the first one.
    return this.broker
      .waitForServices("presence", 10_000, 100)
      .then(() => this.heartbeat())
      .catch((err: unknown) => this.logger.warn("presence heartbeat failed", String(err)));
  },

  async stopped(this: IoThis) {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.sequencer.close();
    this.server.off("upgrade", this.upgradeListener);
    this.plainWs.close();
    // Close Socket.IO before the Redis clients its adapter uses, and keep moleculer-io from closing it twice.
    const io = this.io;
    this.io = undefined;
    if (io) {
      // Not io.close(): that would also close the HTTP server, which belongs to the api service.
      // Only this gateway's sockets: without .local the Redis adapter disconnects every gateway's.
      io.local.disconnectSockets(true);
      io.engine.close();
    }
    await this.broker
      .call("presence.dropNode", { nodeId: this.broker.nodeID })
      .catch((err: unknown) => this.logger.warn("presence.dropNode failed", String(err)));
    await Promise.all(this.redisClients.map(closeRedisClient));
  },
};

export default IoService;
