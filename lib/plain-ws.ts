/**
 * The original system's plain-WebSocket protocol, kept so its clients work unchanged:
 * `/ws/chat/<room_id>/?token=` and `/ws/online/?token=` (frames and close codes in DESIGN §5).
 * The io service owns one of these per gateway and feeds it the mesh's events.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { LoggerInstance, ServiceBroker } from "moleculer";
import { WebSocket, WebSocketServer } from "ws";
import type { RawData } from "ws";
import { ErrorCode } from "./errors";
import { verifyToken } from "./tokens";
import { MAX_INT4 } from "./validation";
import type { RoomAccess } from "../services/rooms.service";
import type { AuthUser, MemberStatus, MembershipEvent, MessageDTO, PresenceEvent } from "../types";

export const CLOSE_ERROR = 4000;
export const CLOSE_UNAUTHENTICATED = 4001;
export const CLOSE_NOT_A_MEMBER = 4002;
/** Largest frame accepted; bigger ones close the socket with 1009 (the content limit is far below). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** A client this far behind is dropped rather than buffered without bound; it reconnects and catches up. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** Broadcast between gateways when a plain-WS chat client enters or leaves a room. */
export interface WsRoomEvent {
  room_id: number;
  user: AuthUser;
  conn_id: string;
}

interface Client {
  ws: WebSocket;
  user: AuthUser;
  connId: string;
  /** The chat room, or null for an /ws/online/ socket. */
  roomId: number | null;
  expiryTimer: NodeJS.Timeout | null;
}

const CHAT_PATH = /^\/ws\/chat\/(\d{1,10})\/?$/;
const ONLINE_PATH = /^\/ws\/online\/?$/;

export class PlainWsGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly chatClients = new Map<number, Set<Client>>();
  private readonly onlineClients = new Set<Client>();

  constructor(
    private readonly broker: ServiceBroker,
    private readonly jwtSecret: string,
    private readonly logger: LoggerInstance,
  ) {}

  /** Takes an HTTP upgrade if its path is one of ours; returns false to leave it to others. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? "/", "http://localhost");
    const chat = CHAT_PATH.exec(url.pathname);
    if (!chat && !ONLINE_PATH.test(url.pathname)) {
      if (!url.pathname.startsWith("/ws/")) return false;
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return true;
    }
    const token = url.searchParams.get("token") ?? "";
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.accept(ws, token, chat ? Number(chat[1]) : null).catch((err: unknown) => {
        this.logger.warn("plain websocket setup failed", String(err));
        ws.close(CLOSE_ERROR, "error");
      });
    });
    return true;
  }

  private async accept(ws: WebSocket, token: string, roomId: number | null): Promise<void> {
    let user: AuthUser;
    let exp: number;
    try {
      const claims = verifyToken(this.jwtSecret, token, "access");
      user = { id: claims.user_id, username: claims.username };
      exp = claims.exp;
    } catch {
      ws.close(CLOSE_UNAUTHENTICATED, "unauthenticated");
      return;
    }
    if (roomId !== null) {
      // An id past the database's range names no room.
      const access =
        roomId > MAX_INT4 ? null : await this.call<RoomAccess>("rooms.access", { roomId, userId: user.id });
      if (!access?.role) {
        ws.close(CLOSE_NOT_A_MEMBER, "not a member");
        return;
      }
    }
    const client: Client = { ws, user, connId: `ws-${randomUUID()}`, roomId, expiryTimer: null };
    // The socket closes with its token; the client reconnects with a fresh one.
    client.expiryTimer = setTimeout(() => ws.close(CLOSE_UNAUTHENTICATED, "token expired"), exp * 1000 - Date.now());
    client.expiryTimer.unref();
    ws.on("close", () => this.remove(client));
    ws.on("error", () => ws.terminate());

    if (roomId === null) {
      this.onlineClients.add(client);
      await this.presence("presence.connect", client);
      this.send(client, { type: "online_users_update", users: await this.onlineUsers() });
      return;
    }
    const clients = this.chatClients.get(roomId) ?? new Set<Client>();
    clients.add(client);
    this.chatClients.set(roomId, clients);
    ws.on("message", (data, isBinary) => {
      this.onFrame(client, data, isBinary).catch((err: unknown) =>
        this.logger.warn("plain websocket frame failed", String(err)),
      );
    });
    await this.presence("presence.connect", client);
    await this.broker.broadcast<WsRoomEvent>("ws.room_entered", { room_id: roomId, user, conn_id: client.connId });
  }

  private async onFrame(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    let frame: unknown;
    try {
      if (isBinary) throw new Error("binary");
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString("utf8")
        : Buffer.from(data as ArrayBuffer).toString("utf8");
      frame = JSON.parse(text);
    } catch {
      this.sendError(client, "Frames must be JSON text", ErrorCode.INVALID_JSON);
      return;
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      this.sendError(client, "Frames must be JSON objects", ErrorCode.VALIDATION_ERROR);
      return;
    }
    const { type, message, client_msg_id: clientMsgId } = frame as Record<string, unknown>;
    if (type === "heartbeat") {
      this.send(client, { type: "online_status", users: await this.roomStatus(client.roomId!) });
      return;
    }
    if ((type !== undefined && type !== "message") || message === undefined) {
      this.sendError(client, 'Expected {"message": "..."} or {"type": "heartbeat"}', ErrorCode.VALIDATION_ERROR);
      return;
    }
    try {
      const params: Record<string, unknown> = { roomId: client.roomId, content: message };
      if (clientMsgId !== undefined) params.clientMsgId = clientMsgId;
      // The stored message comes back to every client of the room, this one included, via chat.message.
      await this.broker.call("messages.send", params, { meta: { user: client.user } });
    } catch (err) {
      const { message: text, type: code } = err as { message?: string; type?: string };
      this.sendError(client, text ?? "Message refused", code ?? ErrorCode.INTERNAL_ERROR);
    }
  }

  /** A stored message, to this gateway's plain-WS clients of its room. */
  deliverMessage(message: MessageDTO): void {
    const frame = {
      type: "message",
      message: message.content,
      user: message.sender.username,
      id: message.id,
      seq: message.seq,
      room_id: message.room_id,
      client_msg_id: message.client_msg_id,
      created_at: message.created_at,
    };
    for (const client of this.chatClients.get(message.room_id) ?? []) this.send(client, frame);
  }

  /** Someone's plain-WS chat socket opened or closed: `join`/`leave` to the others, then the room's status. */
  async roomPresenceChanged(event: WsRoomEvent, entered: boolean): Promise<void> {
    const clients = this.chatClients.get(event.room_id);
    if (!clients || clients.size === 0) return;
    const notice = { type: entered ? "join" : "leave", user: event.user.username };
    for (const client of clients) if (client.connId !== event.conn_id) this.send(client, notice);
    const status = { type: "online_status", users: await this.roomStatus(event.room_id) };
    for (const client of clients) this.send(client, status);
  }

  /** A user came online or went offline anywhere: refresh /ws/online/ listeners and their rooms' status. */
  async presenceChanged(event: PresenceEvent): Promise<void> {
    if (this.onlineClients.size > 0) {
      const update = { type: "online_users_update", users: await this.onlineUsers() };
      for (const client of this.onlineClients) this.send(client, update);
    }
    for (const roomId of event.room_ids) {
      const clients = this.chatClients.get(roomId);
      if (!clients || clients.size === 0) continue;
      const status = { type: "online_status", users: await this.roomStatus(roomId) };
      for (const client of clients) this.send(client, status);
    }
  }

  /** A member left a room: their chat sockets for it close with 4002. */
  memberLeft(event: MembershipEvent): void {
    for (const client of this.chatClients.get(event.room_id) ?? []) {
      if (client.user.id === event.user.id) client.ws.close(CLOSE_NOT_A_MEMBER, "no longer a member");
    }
  }

  /** Every open connection of this gateway, for presence. */
  connections(): { connId: string; user: AuthUser }[] {
    const all = [...this.onlineClients, ...[...this.chatClients.values()].flatMap((clients) => [...clients])];
    return all.map(({ connId, user }) => ({ connId, user }));
  }

  /** Closes every socket (gateway shutdown). */
  close(): void {
    for (const client of this.wss.clients) client.close(1001, "server shutting down");
    this.wss.close();
  }

  private remove(client: Client): void {
    if (client.expiryTimer) clearTimeout(client.expiryTimer);
    if (client.roomId === null) {
      this.onlineClients.delete(client);
    } else {
      const clients = this.chatClients.get(client.roomId);
      clients?.delete(client);
      if (clients?.size === 0) this.chatClients.delete(client.roomId);
      this.broker
        .broadcast<WsRoomEvent>("ws.room_left", { room_id: client.roomId, user: client.user, conn_id: client.connId })
        .catch((err: unknown) => this.logger.warn("ws.room_left broadcast failed", String(err)));
    }
    this.presence("presence.disconnect", client).catch(() => undefined);
  }

  private async presence(action: "presence.connect" | "presence.disconnect", client: Client): Promise<void> {
    try {
      await this.broker.call(
        action,
        { connId: client.connId, nodeId: this.broker.nodeID },
        { meta: { user: client.user } },
      );
    } catch (err) {
      this.logger.warn(`${action} failed; presence degraded`, String(err));
    }
  }

  private async roomStatus(roomId: number): Promise<MemberStatus[]> {
    return this.call<MemberStatus[]>("rooms.memberStatuses", { roomId });
  }

  private async onlineUsers(): Promise<AuthUser[]> {
    try {
      const { users } = await this.call<{ users: AuthUser[] }>("presence.online", {});
      return users;
    } catch {
      return [];
    }
  }

  private call<T>(action: string, params: Record<string, unknown>): Promise<T> {
    return this.broker.call<T, Record<string, unknown>>(action, params);
  }

  private send(client: Client, frame: unknown): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.logger.warn("dropping a plain websocket client that does not keep up", { userId: client.user.id });
      client.ws.terminate();
      return;
    }
    client.ws.send(JSON.stringify(frame));
  }

  private sendError(client: Client, error: string, code: string): void {
    this.send(client, { type: "error", error, code });
  }
}
