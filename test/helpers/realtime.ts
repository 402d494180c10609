/**
 * Helpers for the realtime suites: rooms with several members, clients that are closed after each
 * test, short-lived tokens, and the presence-store contract shared by the memory and Redis stores.
 */
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import type { PresenceStore } from "../../lib/presence-store";
import { TEST_JWT_SECRET } from "./app";
import { createRoom, registerUser } from "./http";
import type { Client, TestUser } from "./http";
import { call, connectSocket, eventually, plainWs, wsOpen } from "./sockets";
import type { CallError, ChatSocket, PlainClient } from "./sockets";
import type { MessageDTO as Message } from "../../types";

export type { Message };

export const seqs = (items: { seq: number }[]): number[] => items.map((m) => m.seq);
export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * A bounded wait, used only to assert that something does NOT arrive in that time (never to wait
 * for something that should happen: use eventually() or waitForEvent() for that).
 */
export function quietFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long tests watch for events that must not come. */
export const QUIET_MS = 400;

/** Registers `count` users; the first creates a group room and the others join it over REST. */
export async function roomWithMembers(api: Client, count: number): Promise<{ roomId: number; users: TestUser[] }> {
  const users = await Promise.all(Array.from({ length: count }, (_, i) => registerUser(api, `rt${i}`)));
  const roomId = await createRoom(api, users[0]);
  for (const user of users.slice(1)) {
    const res = await api.post(`/api/rooms/${roomId}/join/`, {}, user.access);
    if (res.status !== 200) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return { roomId, users };
}

/** An access token as the auth service issues it, but living `seconds` only. */
export function shortLivedToken(user: { id: number; username: string }, seconds: number): string {
  return jwt.sign(
    { token_type: "access", user_id: user.id, username: user.username, jti: randomUUID() },
    TEST_JWT_SECRET,
    { algorithm: "HS256", expiresIn: seconds },
  );
}

/** The messages one socket receives for one room, in arrival order. */
export function roomMessages(socket: ChatSocket, roomId: number): Message[] {
  const seen: Message[] = [];
  socket.on("message", (m: Message) => {
    if (m.room_id === roomId) seen.push(m);
  });
  return seen;
}

/** The plain-WS `message` frames a client has received so far. */
export function plainMessages(client: PlainClient): any[] {
  return client.frames.filter((f) => f.type === "message");
}

/** `messages.send` over a socket. */
export function send(
  socket: ChatSocket,
  roomId: number,
  content: string,
  clientMsgId?: string,
  timeoutMs = 10_000,
): Promise<{ err: CallError | null; res: Message }> {
  const params: Record<string, unknown> = { roomId, content };
  if (clientMsgId !== undefined) params.clientMsgId = clientMsgId;
  return call<Message>(socket, "messages.send", params, timeoutMs);
}

/**
 * Sends `contents` over one socket with at most `inFlight` sends awaiting their ack at a time (a busy
 * client, not an unbounded queue); the acks come back in the order of `contents`.
 */
export async function sendPipelined(
  socket: ChatSocket,
  roomId: number,
  contents: { content: string; clientMsgId?: string }[],
  inFlight: number,
): Promise<{ err: CallError | null; res: Message }[]> {
  const acks: { err: CallError | null; res: Message }[] = new Array(contents.length);
  let next = 0;
  const lane = async () => {
    while (next < contents.length) {
      const i = next++;
      acks[i] = await send(socket, roomId, contents[i].content, contents[i].clientMsgId, 30_000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, contents.length) }, lane));
  return acks;
}

/** Resolves with the disconnect reason (immediately if the socket is already disconnected). */
export function disconnected(socket: ChatSocket, timeoutMs = 5000): Promise<string> {
  if (!socket.connected) return Promise.resolve("already disconnected");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("socket was not disconnected")), timeoutMs);
    socket.once("disconnect", (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Waits for a plain-WS close, failing after `timeoutMs`. */
export function closedWithin(client: PlainClient, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("websocket was not closed")), timeoutMs);
  });
  return Promise.race([client.closed, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Opens Socket.IO and plain-WS clients for one test and closes them all afterwards, waiting until the
 * server has seen the sockets go (so presence left over from one test does not leak into the next).
 */
export class Clients {
  private readonly sockets: ChatSocket[] = [];
  private readonly plains: PlainClient[] = [];

  constructor(private readonly baseUrl: () => string) {}

  async socket(token: string): Promise<ChatSocket> {
    const socket = await connectSocket(this.baseUrl(), token);
    this.sockets.push(socket);
    return socket;
  }

  /** A plain-WS client, open (use `raw` for one that may be refused). */
  async plain(path: string): Promise<PlainClient> {
    const client = this.raw(path);
    await wsOpen(client);
    return client;
  }

  /** A /ws/chat/<id>/ client that is open and has received its first online_status. */
  async chat(roomId: number, token: string): Promise<PlainClient> {
    const client = await this.plain(`/ws/chat/${roomId}/?token=${encodeURIComponent(token)}`);
    await client.next((f) => f.type === "online_status");
    return client;
  }

  raw(path: string): PlainClient {
    const client = plainWs(this.baseUrl(), path);
    this.plains.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    const sockets = this.sockets.splice(0);
    const plains = this.plains.splice(0);
    for (const socket of sockets) socket.close();
    for (const client of plains) client.close();
    await Promise.all(plains.map((client) => closedWithin(client).catch(() => undefined)));
  }
}

/** Every field of a plain-WS `message` frame for a stored message. */
export function plainFrameOf(message: Message): Record<string, unknown> {
  return {
    type: "message",
    message: message.content,
    user: message.sender.username,
    id: message.id,
    seq: message.seq,
    created_at: message.created_at,
  };
}

/**
 * What every PresenceStore must do, whatever keeps the state: `make` returns a fresh, empty store
 * (for Redis, one with a prefix of its own).
 */
export function presenceStoreContract(make: () => PresenceStore): void {
  const alice = { id: 101, username: "alice" };
  const bob = { id: 102, username: "bob" };
  let store: PresenceStore;

  beforeEach(() => {
    store = make();
  });

  test("the first connection brings a user online, the last one to close takes them offline", async () => {
    expect(await store.online()).toEqual([]);
    expect(await store.connect(alice, "a1", "node-1")).toBe(true);
    expect(await store.online()).toEqual([alice]);
    expect(await store.onlineAmong([alice.id, bob.id])).toEqual([alice.id]);
    expect(await store.disconnect(alice, "a1", "node-1")).toBe(true);
    expect(await store.online()).toEqual([]);
    expect(await store.onlineAmong([alice.id, bob.id])).toEqual([]);
  });

  test("two connections of one user (two tabs): no second online, no offline until both close", async () => {
    expect(await store.connect(alice, "tab-1", "node-1")).toBe(true);
    expect(await store.connect(alice, "tab-2", "node-2")).toBe(false);
    expect(await store.online()).toEqual([alice]);
    expect(await store.disconnect(alice, "tab-1", "node-1")).toBe(false);
    expect(await store.online()).toEqual([alice]);
    expect(await store.disconnect(alice, "tab-2", "node-2")).toBe(true);
    expect(await store.online()).toEqual([]);
  });

  test("closing an unknown or already closed connection changes nothing", async () => {
    expect(await store.disconnect(alice, "never", "node-1")).toBe(false);
    await store.connect(alice, "a1", "node-1");
    await store.connect(bob, "b1", "node-1");
    expect(await store.disconnect(alice, "a1", "node-1")).toBe(true);
    expect(await store.disconnect(alice, "a1", "node-1")).toBe(false);
    expect(await store.disconnect(bob, "a1", "node-1")).toBe(false);
    expect(await store.online()).toEqual([bob]);
  });

  test("concurrent connects and disconnects of one user report exactly one transition each", async () => {
    const conns = range(1, 20).map((i) => `c${i}`);
    const cameOnline = await Promise.all(conns.map((c, i) => store.connect(alice, c, `node-${i % 3}`)));
    expect(cameOnline.filter(Boolean)).toHaveLength(1);
    const wentOffline = await Promise.all(conns.map((c, i) => store.disconnect(alice, c, `node-${i % 3}`)));
    expect(wentOffline.filter(Boolean)).toHaveLength(1);
    expect(await store.online()).toEqual([]);
  });

  test("online lists several users with their names; onlineAmong keeps the order asked for", async () => {
    await store.connect(bob, "b1", "node-1");
    await store.connect(alice, "a1", "node-2");
    const online = (await store.online()).sort((x, y) => x.id - y.id);
    expect(online).toEqual([alice, bob]);
    expect(await store.onlineAmong([bob.id, 999, alice.id])).toEqual([bob.id, alice.id]);
    expect(await store.onlineAmong([])).toEqual([]);
  });

  test("dropNode takes away that node's connections and reports only users left with none", async () => {
    await store.connect(alice, "a1", "node-1");
    await store.connect(alice, "a2", "node-1");
    await store.connect(bob, "b1", "node-1");
    await store.connect(bob, "b2", "node-2"); // bob stays online through node-2
    const dropped = await store.dropNode("node-1");
    expect(dropped).toEqual([alice]);
    expect(await store.online()).toEqual([bob]);
    expect(await store.dropNode("node-1")).toEqual([]);
    // The dropped connections are gone: closing them later is not another transition.
    expect(await store.disconnect(alice, "a1", "node-1")).toBe(false);
    expect(await store.disconnect(bob, "b2", "node-2")).toBe(true);
  });

  test("heartbeat: a node with connections is dead once its heartbeat expires; dropNode forgets it", async () => {
    await store.connect(alice, "a1", "node-live");
    await store.connect(bob, "b1", "node-silent");
    await store.heartbeat("node-live", 60);
    await store.heartbeat("node-short", 1);
    await store.connect(alice, "a2", "node-short");
    // Never heartbeated: dead at once. Heartbeating: alive.
    expect(await store.deadNodes()).toEqual(["node-silent"]);
    // node-short's heartbeat lapses after a second.
    await eventually(
      async () => (await store.deadNodes()).includes("node-short"),
      4000,
      "the short heartbeat to expire",
    );
    expect((await store.deadNodes()).sort()).toEqual(["node-short", "node-silent"]);
    expect(await store.dropNode("node-silent")).toEqual([bob]);
    expect(await store.dropNode("node-short")).toEqual([]); // alice is still on node-live
    expect(await store.deadNodes()).toEqual([]);
    expect(await store.online()).toEqual([alice]);
    // A node without connections is not reported, heartbeat or not.
    await store.heartbeat("node-empty", 1);
    expect(await store.deadNodes()).toEqual([]);
  });
}
