/**
 * Realtime (DESIGN §5, §7): Socket.IO clients and plain-WebSocket clients of the original protocol, on
 * one gateway, against any deployment shape (one broker, or gateway and services on two brokers).
 * Every test makes its own users and rooms and closes its clients.
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, registerUser } from "../helpers/http";
import type { Client } from "../helpers/http";
import {
  Clients,
  QUIET_MS,
  closedWithin,
  disconnected,
  plainFrameOf,
  plainMessages,
  quietFor,
  range,
  roomMessages,
  roomWithMembers,
  send,
  sendPipelined,
  seqs,
  shortLivedToken,
} from "../helpers/realtime";
import type { Message } from "../helpers/realtime";
import { call, collect, eventually, waitForEvent } from "../helpers/sockets";
import type { CallError, ChatSocket } from "../helpers/sockets";

type Env = Record<string, string>;

/** Limits high enough that the tests that are not about rate limits never meet them. */
const NO_LIMITS: Env = { MSG_RATE_PER_SEC: "100000", MSG_BURST: "100000" };

interface Presence {
  user_id: number;
  username: string;
  is_online: boolean;
}

function authenticate(socket: ChatSocket, token: unknown): Promise<{ err: CallError | null; res: any }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no ack for auth")), 5000);
    socket.emit("auth", token, (err: CallError | null, res: unknown) => {
      clearTimeout(timer);
      resolve({ err, res });
    });
  });
}

export function realtimeSuite(start: (env: Env) => Promise<TestApp>): void {
  describe("with rate limits out of the way", () => {
    let app: TestApp;
    let api: Client;
    const clients = new Clients(() => app.baseUrl);

    beforeAll(async () => {
      app = await start(NO_LIMITS);
      api = client(app.baseUrl);
    });
    afterEach(() => clients.closeAll());
    afterAll(() => app?.stop());

    async function history(roomId: number, token: string): Promise<Message[]> {
      const res = await api.get(`/api/rooms/${roomId}/messages/?limit=100`, token);
      expect(res.status).toBe(200);
      return res.body.results as Message[];
    }

    test("two Socket.IO clients and a plain-WS client get every message once, in seq order, whoever sent it", async () => {
      const {
        roomId,
        users: [alice, bob, carol],
      } = await roomWithMembers(api, 3);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const pc = await clients.chat(roomId, carol.access);
      const gotA = roomMessages(sa, roomId);
      const gotB = roomMessages(sb, roomId);

      const fromSocket = await send(sa, roomId, "from a socket", "sock-1");
      expect(fromSocket.err).toBeNull();
      expect(fromSocket.res).toMatchObject({
        id: expect.any(Number),
        room_id: roomId,
        seq: 1,
        content: "from a socket",
        sender: { id: alice.id, username: alice.username },
        client_msg_id: "sock-1",
        is_deleted: false,
      });
      const fromRest = await api.post(`/api/rooms/${roomId}/messages/`, { content: "from REST" }, bob.access);
      expect(fromRest.status).toBe(201);
      expect(fromRest.body.seq).toBe(2);
      pc.send({ message: "from plain ws" });

      await eventually(
        () => gotA.length >= 3 && gotB.length >= 3 && plainMessages(pc).length >= 3,
        5000,
        "three messages at every client",
      );
      await quietFor(QUIET_MS); // nothing is delivered twice
      const stored = await history(roomId, alice.access);
      expect(seqs(stored)).toEqual([1, 2, 3]);
      expect(stored[2]).toMatchObject({ content: "from plain ws", sender: { id: carol.id } });
      expect(stored[0].id).toBe(fromSocket.res.id);
      expect(gotA).toEqual(stored);
      expect(gotB).toEqual(stored);
      const frames = plainMessages(pc);
      expect(frames).toHaveLength(3);
      frames.forEach((frame, i) => expect(frame).toMatchObject(plainFrameOf(stored[i])));
      expect(frames.map((f) => f.user)).toEqual([alice.username, bob.username, carol.username]);
    });

    test("one clientMsgId sent 20 times at once: 20 identical acks, one stored message, one delivery", async () => {
      const {
        roomId,
        users: [alice, bob, carol],
      } = await roomWithMembers(api, 3);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const pc = await clients.chat(roomId, carol.access);
      const gotA = roomMessages(sa, roomId);
      const gotB = roomMessages(sb, roomId);

      const acks = await Promise.all(range(1, 20).map(() => send(sa, roomId, "only once", "dup-1")));
      for (const ack of acks) expect(ack.err).toBeNull();
      const first = acks[0].res;
      expect(first).toMatchObject({ seq: 1, content: "only once", client_msg_id: "dup-1" });
      for (const ack of acks) expect(ack.res).toEqual(first);

      await eventually(
        () => gotA.length >= 1 && gotB.length >= 1 && plainMessages(pc).length >= 1,
        5000,
        "the message at every client",
      );
      await quietFor(QUIET_MS);
      expect(gotA).toEqual([first]);
      expect(gotB).toEqual([first]);
      expect(plainMessages(pc)).toEqual([expect.objectContaining(plainFrameOf(first))]);
      expect(await history(roomId, bob.access)).toEqual([first]);
      // The losing attempts burned no seq: the next message is 2.
      const next = await send(sa, roomId, "the next one", "dup-2");
      expect(next.res.seq).toBe(2);
      const room = await api.get(`/api/rooms/${roomId}/`, alice.access);
      expect(room.body.last_seq).toBe(2);
    });

    test("5 senders × 200 messages at once: a socket and a plain-WS client each see seq 1..1000 once, in order", async () => {
      const { roomId, users } = await roomWithMembers(api, 7);
      const senders = await Promise.all(users.slice(0, 5).map((u) => clients.socket(u.access)));
      const receiver = await clients.socket(users[5].access);
      const plain = await clients.chat(roomId, users[6].access);
      const got = roomMessages(receiver, roomId);

      // A socket dropped by the server would leave its sends without acks: fail at once, saying why.
      const dropped = new Promise<never>((_, reject) => {
        for (const [i, socket] of [...senders, receiver].entries()) {
          socket.on("disconnect", (reason) => reject(new Error(`socket ${i} was disconnected: ${reason}`)));
        }
      });
      dropped.catch(() => undefined);

      // All five at once, each keeping 20 sends in flight (100 concurrent sends into one room).
      const sending = Promise.all(
        senders.map((socket, s) =>
          sendPipelined(
            socket,
            roomId,
            range(1, 200).map((n) => ({ content: `sender ${s} #${n}`, clientMsgId: `s${s}-${n}` })),
            20,
          ),
        ),
      );
      const acks = await Promise.race([sending, dropped]);
      const flat = acks.flat();
      expect(flat.filter((ack) => ack.err !== null)).toEqual([]);
      expect(seqs(flat.map((ack) => ack.res)).sort((x, y) => x - y)).toEqual(range(1, 1000));
      await Promise.race([
        eventually(
          () => got.length >= 1000 && plainMessages(plain).length >= 1000,
          20_000,
          "1000 messages at both receivers",
        ),
        dropped,
      ]);
      await quietFor(QUIET_MS);
      expect(seqs(got)).toEqual(range(1, 1000));
      expect(seqs(plainMessages(plain))).toEqual(range(1, 1000));
      const byId = new Map(flat.map((ack) => [ack.res.seq, ack.res]));
      for (const m of got) expect(m).toEqual(byId.get(m.seq));
    }, 60_000);

    test("messages.sync after a reconnect: the new messages in seq order, the changed old ones, only own rooms", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const bobsOwnRoom = await createRoom(api, bob);
      const sb = await clients.socket(bob.access);
      const one = (await send(sb, roomId, "one")).res;
      const two = (await send(sb, roomId, "two")).res;
      const untouched = (await send(sb, roomId, "three")).res;

      let sa = await clients.socket(alice.access);
      const first = await call(sa, "messages.sync", { rooms: { [roomId]: 0 } });
      expect(first.err).toBeNull();
      expect(seqs(first.res.rooms[roomId].messages)).toEqual([1, 2, 3]);
      expect(first.res.rooms[roomId].changed).toEqual([]);
      expect(typeof first.res.syncedAt).toBe("string");
      const lastSeq = 3;

      sa.close(); // offline
      const missed: Message[] = [];
      for (const content of ["four", "five", "six"]) missed.push((await send(sb, roomId, content)).res);
      const edited = await call(sb, "messages.edit", { messageId: one.id, content: "one, edited" });
      expect(edited.err).toBeNull();
      const deleted = await call(sb, "messages.delete", { messageId: two.id });
      expect(deleted.err).toBeNull();

      sa = await clients.socket(alice.access);
      const { err, res } = await call(sa, "messages.sync", {
        rooms: { [roomId]: lastSeq, [bobsOwnRoom]: 0, "999999999": 0 },
        since: first.res.syncedAt,
      });
      expect(err).toBeNull();
      expect(Object.keys(res.rooms)).toEqual([String(roomId)]);
      const room = res.rooms[roomId];
      expect(room.messages).toEqual(missed);
      expect(seqs(room.messages)).toEqual([4, 5, 6]);
      expect(room.changed).toEqual([edited.res, deleted.res]);
      expect(room.changed[0]).toMatchObject({
        id: one.id,
        seq: 1,
        content: "one, edited",
        edited_at: expect.any(String),
      });
      expect(room.changed[1]).toMatchObject({ id: two.id, seq: 2, content: "", is_deleted: true });
      expect(room.changed.map((m: Message) => m.id)).not.toContain(untouched.id);
      expect(room.has_more).toBe(false);

      // Synced up to 6 with a fresh `since`: nothing new, nothing changed.
      const again = await call(sa, "messages.sync", { rooms: { [roomId]: 6 }, since: new Date().toISOString() });
      expect(again.res.rooms[roomId]).toEqual({ messages: [], changed: [], has_more: false });
    });

    test("messages.history over a socket: {messages, nextBefore}, paging back and forward", async () => {
      const {
        roomId,
        users: [alice],
      } = await roomWithMembers(api, 1);
      const sa = await clients.socket(alice.access);
      for (const n of range(1, 5)) expect((await send(sa, roomId, `m${n}`)).err).toBeNull();

      const latest = await call(sa, "messages.history", { roomId, limit: 2 });
      expect(latest.err).toBeNull();
      expect(seqs(latest.res.messages)).toEqual([4, 5]);
      expect(latest.res.nextBefore).toBe(4);
      const older = await call(sa, "messages.history", { roomId, before: latest.res.nextBefore, limit: 2 });
      expect(seqs(older.res.messages)).toEqual([2, 3]);
      expect(older.res.nextBefore).toBe(2);
      const oldest = await call(sa, "messages.history", { roomId, before: 2 });
      expect(seqs(oldest.res.messages)).toEqual([1]);
      expect(oldest.res.nextBefore).toBeNull();
      const newer = await call(sa, "messages.history", { roomId, after: 3 });
      expect(seqs(newer.res.messages)).toEqual([4, 5]);
      const all = await call(sa, "messages.history", { roomId });
      expect(all.res.messages.map((m: Message) => m.content)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
      expect(all.res.nextBefore).toBeNull();
    });

    test("messages.edit and messages.delete reach every member as message.updated / message.deleted", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const sent = (await send(sa, roomId, "draft")).res;

      const updatedAtB = waitForEvent<Message>(sb, "message.updated");
      const updatedAtA = waitForEvent<Message>(sa, "message.updated");
      const edit = await call(sa, "messages.edit", { messageId: sent.id, content: "final" });
      expect(edit.err).toBeNull();
      expect(edit.res).toMatchObject({ id: sent.id, seq: sent.seq, content: "final", edited_at: expect.any(String) });
      expect(await updatedAtB).toEqual(edit.res);
      expect(await updatedAtA).toEqual(edit.res);

      const deletedAtB = waitForEvent<Message>(sb, "message.deleted");
      const del = await call(sa, "messages.delete", { messageId: sent.id });
      expect(del.err).toBeNull();
      expect(del.res).toMatchObject({ id: sent.id, is_deleted: true, content: "" });
      expect(await deletedAtB).toEqual(del.res);
      // A second delete changes nothing and announces nothing.
      const more = collect(sb, "message.deleted");
      expect((await call(sa, "messages.delete", { messageId: sent.id })).res).toMatchObject({ is_deleted: true });
      await quietFor(QUIET_MS);
      expect(more).toEqual([]);
    });

    test("rooms.join over a socket subscribes it at once; members get room.member_joined", async () => {
      const {
        roomId,
        users: [alice],
      } = await roomWithMembers(api, 1);
      const carol = await registerUser(api, "carol");
      const sa = await clients.socket(alice.access);
      const sc = await clients.socket(carol.access);
      const sc2 = await clients.socket(carol.access); // a second tab is subscribed too
      const gotC = roomMessages(sc, roomId);
      const gotC2 = roomMessages(sc2, roomId);

      const before = (await send(sa, roomId, "before carol")).res;
      const joinedAtA = waitForEvent(sa, "room.member_joined", 5000, (e: any) => e.room_id === roomId);
      const join = await call(sc, "rooms.join", { roomId });
      expect(join.err).toBeNull();
      expect(join.res).toMatchObject({ id: roomId, member_count: 2 });
      expect(await joinedAtA).toEqual({ room_id: roomId, user: { id: carol.id, username: carol.username } });

      const after = (await send(sa, roomId, "welcome carol")).res;
      await eventually(() => gotC.length >= 1 && gotC2.length >= 1, 5000, "carol's sockets to get the message");
      await quietFor(QUIET_MS);
      expect(gotC).toEqual([after]);
      expect(gotC2).toEqual([after]);
      expect(gotC).not.toContainEqual(before);
    });

    test("a join over REST subscribes the user's connected sockets", async () => {
      const {
        roomId,
        users: [alice],
      } = await roomWithMembers(api, 1);
      const dave = await registerUser(api, "dave");
      const sa = await clients.socket(alice.access);
      const sd = await clients.socket(dave.access);
      const gotD = roomMessages(sd, roomId);
      const joinedAtD = waitForEvent(sd, "room.member_joined", 5000, (e: any) => e.room_id === roomId);

      const join = await api.post(`/api/rooms/${roomId}/join/`, {}, dave.access);
      expect(join.status).toBe(200);
      // The joiner's own socket hears of the join: it is in the room's channel now.
      expect(await joinedAtD).toEqual({ room_id: roomId, user: { id: dave.id, username: dave.username } });
      const sent = (await send(sa, roomId, "hello dave")).res;
      await eventually(() => gotD.length >= 1, 5000, "dave's socket to get the message");
      expect(gotD).toEqual([sent]);
    });

    test("rooms.leave: that user's sockets get no more of the room, and its plain-WS sockets close with 4002", async () => {
      const {
        roomId,
        users: [alice, bob, carol],
      } = await roomWithMembers(api, 3);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const sb2 = await clients.socket(bob.access);
      const pb = await clients.chat(roomId, bob.access);
      const pc = await clients.chat(roomId, carol.access);
      const gotA = roomMessages(sa, roomId);
      const gotB = roomMessages(sb, roomId);
      const gotB2 = roomMessages(sb2, roomId);

      const warmup = (await send(sa, roomId, "still here?")).res;
      await eventually(() => gotB.length === 1 && gotB2.length === 1, 5000, "bob's sockets to get the first message");
      const leftAtA = waitForEvent(sa, "room.member_left", 5000, (e: any) => e.room_id === roomId);
      const leave = await call(sb, "rooms.leave", { roomId });
      expect(leave.err).toBeNull();
      expect(leave.res).toMatchObject({ ok: true, room_deleted: false });
      expect(await leftAtA).toEqual({ room_id: roomId, user: { id: bob.id, username: bob.username } });
      expect((await closedWithin(pb)).code).toBe(4002);

      const after = (await send(sa, roomId, "bob is gone")).res;
      await eventually(() => gotA.length === 2 && plainMessages(pc).length === 2, 5000, "the others to get it");
      await quietFor(QUIET_MS);
      expect(gotB).toEqual([warmup]);
      expect(gotB2).toEqual([warmup]);
      expect(gotA).toEqual([warmup, after]);
      expect(sb.connected).toBe(true); // leaving a room is not leaving the server
      expect(pc.ws.readyState).toBe(pc.ws.OPEN); // carol's plain socket stays
    });

    test("rooms.typing reaches the other members only, and typing:false follows by itself after ~5 s", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const sa1 = await clients.socket(alice.access);
      const sa2 = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const aliceTyping = [collect(sa1, "typing"), collect(sa2, "typing")];

      const started = waitForEvent(sb, "typing", 5000, (e: any) => e.typing === true);
      const ack = await call(sa1, "rooms.typing", { roomId, typing: true });
      expect(ack).toEqual({ err: null, res: { ok: true } });
      const t0 = Date.now();
      expect(await started).toMatchObject({
        room_id: roomId,
        user_id: alice.id,
        username: alice.username,
        typing: true,
      });
      const stopped = await waitForEvent(sb, "typing", 8000, (e: any) => e.typing === false);
      expect(stopped).toMatchObject({ room_id: roomId, user_id: alice.id, username: alice.username, typing: false });
      expect(Date.now() - t0).toBeGreaterThan(3500);
      expect(aliceTyping).toEqual([[], []]);
    }, 15_000);

    test("rooms.read: a `read` event to the room, and unread_count in GET /api/rooms/ drops", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      for (const n of range(1, 3)) await api.post(`/api/rooms/${roomId}/messages/`, { content: `m${n}` }, bob.access);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const unread = async () => {
        const list = await api.get("/api/rooms/?mine=1", alice.access);
        return list.body.results.find((r: any) => r.id === roomId).unread_count as number;
      };
      expect(await unread()).toBe(3);

      const readAtB = waitForEvent(sb, "read", 5000, (e: any) => e.room_id === roomId);
      const ack = await call(sa, "rooms.read", { roomId, seq: 2 });
      expect(ack.err).toBeNull();
      expect(ack.res).toMatchObject({ ok: true });
      expect(await readAtB).toEqual({ room_id: roomId, user_id: alice.id, seq: 2 });
      expect(await unread()).toBe(1);
    });

    test("presence: events on real transitions only (a second tab is not one), and the REST views agree", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const sb = await clients.socket(bob.access);
      const aboutAlice = (e: Presence) => e.user_id === alice.id;
      const isOnline = async (userId: number) => {
        const res = await api.get(`/api/rooms/${roomId}/users/`, bob.access);
        return res.body.users.find((u: any) => u.id === userId).is_online as boolean;
      };
      const onlineIds = async () =>
        ((await api.get("/api/users/online/", bob.access)).body.users as { id: number }[]).map((u) => u.id);
      expect(await isOnline(alice.id)).toBe(false);

      const cameOnline = waitForEvent<Presence>(sb, "presence", 5000, aboutAlice);
      const tab1 = await clients.socket(alice.access);
      expect(await cameOnline).toEqual({ user_id: alice.id, username: alice.username, is_online: true });
      expect(await isOnline(alice.id)).toBe(true);
      expect(await onlineIds()).toEqual(expect.arrayContaining([alice.id, bob.id]));
      const listed = await call(tab1, "presence.online", {});
      expect(listed.err).toBeNull();
      expect(listed.res.users).toEqual(
        expect.arrayContaining([
          { id: alice.id, username: alice.username },
          { id: bob.id, username: bob.username },
        ]),
      );

      const later = collect<Presence>(sb, "presence");
      const tab2 = await clients.socket(alice.access);
      await quietFor(QUIET_MS);
      tab1.close();
      await quietFor(QUIET_MS);
      expect(later.filter(aboutAlice)).toEqual([]); // neither the second tab nor closing one of two
      expect(await isOnline(alice.id)).toBe(true);

      const wentOffline = waitForEvent<Presence>(sb, "presence", 5000, aboutAlice);
      tab2.close();
      expect(await wentOffline).toEqual({ user_id: alice.id, username: alice.username, is_online: false });
      expect(await isOnline(alice.id)).toBe(false);
      expect(await onlineIds()).not.toContain(alice.id);
      expect(later.filter(aboutAlice)).toHaveLength(1);
    });

    test("/ws/online/ gets online_users_update on connect and whenever someone comes online or goes offline", async () => {
      const [watcher, erin] = await Promise.all([registerUser(api, "watcher"), registerUser(api, "erin")]);
      const online = await clients.plain(`/ws/online/?token=${watcher.access}`);
      const first = await online.next((f) => f.type === "online_users_update");
      expect(first.users).toEqual(expect.arrayContaining([{ id: watcher.id, username: watcher.username }]));
      expect(first.users.map((u: any) => u.id)).not.toContain(erin.id);

      const hasErin = (f: any) => f.type === "online_users_update" && f.users.some((u: any) => u.id === erin.id);
      const se = await clients.socket(erin.access);
      const withErin = await online.next(hasErin);
      expect(withErin.users).toEqual(expect.arrayContaining([{ id: erin.id, username: erin.username }]));

      online.frames.length = 0;
      se.close();
      const withoutErin = await online.next((f) => f.type === "online_users_update" && !hasErin(f));
      expect(withoutErin.users.map((u: any) => u.id)).toContain(watcher.id);
    });

    test("plain WS /ws/chat/: online_status on connect, join and leave to the others, heartbeat answered", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const pa = await clients.chat(roomId, alice.access);
      const status = pa.frames.find((f) => f.type === "online_status");
      expect(status.users).toEqual(
        expect.arrayContaining([
          { id: alice.id, username: alice.username, is_online: true },
          { id: bob.id, username: bob.username, is_online: false },
        ]),
      );
      expect(status.users).toHaveLength(2);

      const pb = await clients.chat(roomId, bob.access);
      expect(await pa.next((f) => f.type === "join")).toEqual({ type: "join", user: bob.username });
      await pa.next((f) => f.type === "online_status" && f.users.some((u: any) => u.id === bob.id && u.is_online));
      expect(pb.frames.filter((f) => f.type === "join")).toEqual([]); // not told about itself

      pa.frames.length = 0;
      pa.send({ type: "heartbeat" });
      const answer = await pa.next((f) => f.type === "online_status");
      expect(answer.users).toEqual(
        expect.arrayContaining([
          { id: alice.id, username: alice.username, is_online: true },
          { id: bob.id, username: bob.username, is_online: true },
        ]),
      );

      pa.frames.length = 0;
      pb.close();
      expect(await pa.next((f) => f.type === "leave")).toEqual({ type: "leave", user: bob.username });
      await pa.next((f) => f.type === "online_status" && f.users.some((u: any) => u.id === bob.id && !u.is_online));
      expect(pa.frames.filter((f) => f.type === "join")).toEqual([]);
    });

    test("Socket.IO token lifetime: auth_expired and a disconnect at expiry, unless a fresh token came in time", async () => {
      const [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
      const expiring = await clients.socket(shortLivedToken(alice, 3));
      const renewed = await clients.socket(shortLivedToken(alice, 3));
      const refused = await clients.socket(shortLivedToken(alice, 3));
      const connectedAt = Date.now();
      const expiredNotice = waitForEvent(expiring, "auth_expired", 6000);
      const expiringGone = disconnected(expiring, 6000);
      const refusedNotice = waitForEvent(refused, "auth_expired", 6000);
      const refusedGone = disconnected(refused, 6000);
      const renewedNotices = collect(renewed, "auth_expired");

      const renewal = await authenticate(renewed, alice.access);
      expect(renewal).toEqual({ err: null, res: { ok: true, exp: expect.any(Number) } });
      const otherUser = await authenticate(refused, bob.access);
      expect(otherUser.err).toMatchObject({ type: "UNAUTHORIZED", code: 401 });
      expect(otherUser.res).toBeUndefined();
      const garbage = await authenticate(refused, "not-a-token");
      expect(garbage.err).toMatchObject({ type: "UNAUTHORIZED", code: 401 });
      const notAString = await authenticate(refused, { token: alice.access });
      expect(notAString.err).toMatchObject({ type: "UNAUTHORIZED", code: 401 });

      expect(await expiredNotice).toMatchObject({ code: "TOKEN_EXPIRED" });
      expect(await expiringGone).toBe("io server disconnect");
      expect(Date.now() - connectedAt).toBeGreaterThan(1000); // at expiry, not at once
      // A refused re-authentication leaves the old expiry in force.
      expect(await refusedNotice).toMatchObject({ code: "TOKEN_EXPIRED" });
      expect(await refusedGone).toBe("io server disconnect");

      // The renewed socket outlives its first token.
      await quietFor(Math.max(0, connectedAt + 4000 - Date.now()));
      expect(renewedNotices).toEqual([]);
      expect(renewed.connected).toBe(true);
      expect((await call(renewed, "presence.online", {})).err).toBeNull();
    }, 15_000);

    test("plain-WS token lifetime: /ws/chat/ and /ws/online/ opened with a 3-second token close with 4001", async () => {
      const {
        roomId,
        users: [alice],
      } = await roomWithMembers(api, 1);
      const chat = await clients.plain(`/ws/chat/${roomId}/?token=${shortLivedToken(alice, 3)}`);
      const online = await clients.plain(`/ws/online/?token=${shortLivedToken(alice, 3)}`);
      const openedAt = Date.now();
      const [chatClosed, onlineClosed] = await Promise.all([closedWithin(chat, 6000), closedWithin(online, 6000)]);
      expect(chatClosed.code).toBe(4001);
      expect(onlineClosed.code).toBe(4001);
      expect(Date.now() - openedAt).toBeGreaterThan(1000);
    }, 15_000);
  });

  describe("at the default rate limits (5/s, burst 20)", () => {
    let app: TestApp;
    let api: Client;
    const clients = new Clients(() => app.baseUrl);

    beforeAll(async () => {
      app = await start({});
      api = client(app.baseUrl);
    });
    afterEach(() => clients.closeAll());
    afterAll(() => app?.stop());

    test("a flood of 40 sends: the excess is refused with RATE_LIMITED, the socket stays, retries are free", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const sa = await clients.socket(alice.access);
      const sb = await clients.socket(bob.access);
      const gotB = roomMessages(sb, roomId);

      const acks = await Promise.all(range(1, 40).map((n) => send(sa, roomId, `flood ${n}`, `flood-${n}`)));
      const accepted = acks.filter((ack) => ack.err === null).map((ack) => ack.res);
      const limited = acks.filter((ack) => ack.err !== null).map((ack) => ack.err!);
      expect(accepted.length).toBeGreaterThanOrEqual(20);
      expect(accepted.length).toBeLessThanOrEqual(25);
      expect(limited.length).toBe(40 - accepted.length);
      for (const err of limited) {
        expect(err).toMatchObject({ type: "RATE_LIMITED", code: 429 });
        expect((err.data as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(1);
      }
      expect(sa.connected).toBe(true);

      // The bucket is empty now, yet retries of stored messages all pass: they are not charged.
      const retries = await Promise.all(
        accepted.slice(0, 10).map((m) => send(sa, roomId, m.content, m.client_msg_id!)),
      );
      retries.forEach((retry, i) => expect(retry).toEqual({ err: null, res: accepted[i] }));

      // Refused sends stored nothing and burned no seq.
      await eventually(() => gotB.length >= accepted.length, 5000, "bob to get the accepted messages");
      expect(seqs(gotB)).toEqual(range(1, accepted.length));
      const history = await api.get(`/api/rooms/${roomId}/messages/?limit=100`, bob.access);
      expect(history.body.results).toHaveLength(accepted.length);

      // Tokens come back at 5/s: the same socket can send again shortly.
      let later: Awaited<ReturnType<typeof send>> | undefined;
      await eventually(
        async () => {
          later = await send(sa, roomId, "after the flood", "after-1");
          return later.err === null;
        },
        5000,
        "a send to pass again",
      );
      expect(later!.res.seq).toBe(accepted.length + 1);
      // Another user has a bucket of their own.
      expect((await send(sb, roomId, "bob is not limited")).err).toBeNull();
    });
  });
}
