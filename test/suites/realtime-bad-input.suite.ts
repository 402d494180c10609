/**
 * What a hostile or broken realtime client can send (DESIGN §5, §6): bad tokens, calls outside the
 * whitelist, wrong parameter types, other people's rooms, forged identities, malformed and oversized
 * frames, floods. Every refusal is an error ack or an error frame; nothing is stored, nobody else is
 * disturbed, and the offending socket stays usable unless the refusal is a disconnect by design.
 * Runs at the default rate limits.
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, registerUser } from "../helpers/http";
import type { Client, TestUser } from "../helpers/http";
import {
  accessClaims,
  decodePayload,
  epoch,
  expiredAccessToken,
  flipPayloadChar,
  signClaims,
  unsignedToken,
  withPayload,
} from "../helpers/jwt";
import {
  Clients,
  QUIET_MS,
  closedWithin,
  disconnected,
  plainMessages,
  quietFor,
  range,
  roomMessages,
  roomWithMembers,
  send,
} from "../helpers/realtime";
import type { Message } from "../helpers/realtime";
import { call, connectError, eventually } from "../helpers/sockets";
import type { ChatSocket, PlainClient } from "../helpers/sockets";

/** Names a socket must never reach, whatever they are in the mesh. */
const FORBIDDEN_CALLS = [
  "$node.list",
  "$node.services",
  "$node.actions",
  "$node.health",
  "api.broadcast",
  "api.rest",
  "io.broadcast",
  "io.getClients",
  "io.call",
  "io.history",
  "auth.resolveToken",
  "auth.register",
  "auth.usersByIds",
  "rooms.access",
  "rooms.memberStatuses",
  "rooms.roomIdsOf",
  "messages.latestPage",
  "messages.lastSeqs",
  "presence.connect",
  "presence.disconnect",
  "presence.dropNode",
  "presence.heartbeat",
  "presence.typing",
  "messages.send ",
  "MESSAGES.SEND",
  "messages.*",
  "**",
  "",
  // Keys every plain JavaScript object has: the whitelist must not be fooled by its prototype.
  "toString",
  "constructor",
  "__proto__",
  "hasOwnProperty",
  "valueOf",
];

/** Sends one raw frame and waits for the next error frame. */
async function errorFrameFor(client: PlainClient, frame: string | Buffer): Promise<any> {
  const before = client.frames.length;
  client.ws.send(frame);
  await eventually(
    () => client.frames.slice(before).some((f) => f.type === "error"),
    5000,
    `an error frame for ${String(frame).slice(0, 40)}`,
  );
  return client.frames.slice(before).find((f) => f.type === "error");
}

export function realtimeBadInputSuite(start: () => Promise<TestApp>): void {
  let app: TestApp;
  let api: Client;
  const clients = new Clients(() => app.baseUrl);

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
  });
  afterEach(() => clients.closeAll());
  afterAll(() => app?.stop());

  async function history(roomId: number, token: string): Promise<Message[]> {
    const res = await api.get(`/api/rooms/${roomId}/messages/?limit=100`, token);
    expect(res.status).toBe(200);
    return res.body.results as Message[];
  }

  /** The socket is still connected and can still do its job. */
  async function stillWorks(socket: ChatSocket, roomId: number): Promise<void> {
    expect(socket.connected).toBe(true);
    const ok = await send(socket, roomId, "still here");
    expect(ok.err).toBeNull();
    expect(ok.res.content).toBe("still here");
  }

  describe("Socket.IO handshake", () => {
    let alice: TestUser;
    let bob: TestUser;
    beforeAll(async () => {
      [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
    });

    const refusals: [string, () => Record<string, unknown>][] = [
      ["no auth at all", () => ({})],
      ["an empty token", () => ({ token: "" })],
      ["a token that is not a string", () => ({ token: 12345 })],
      ["a token that is not a JWT", () => ({ token: "not-a-jwt" })],
      ["a Bearer-prefixed token", () => ({ token: `Bearer ${alice.access}` })],
      [
        "a forged payload (another user_id, signature kept)",
        () => ({
          token: withPayload(alice.access, { ...decodePayload(alice.access), user_id: bob.id }),
        }),
      ],
      ["one flipped payload character", () => ({ token: flipPayloadChar(alice.access) })],
      [
        "a token signed with another secret",
        () => ({
          token: signClaims(accessClaims(alice, { exp: epoch(600) }), "another-secret-that-is-also-long-enough-0123"),
        }),
      ],
      ["alg none", () => ({ token: unsignedToken(accessClaims(alice, { exp: epoch(600) })) })],
      ["a token without exp", () => ({ token: signClaims(accessClaims(alice)) })],
      ["an expired token", () => ({ token: expiredAccessToken(alice) })],
      ["a refresh token", () => ({ token: alice.refresh })],
      [
        "an access-type claim set without user_id",
        () => ({
          token: signClaims({ token_type: "access", username: "alice", exp: epoch(600) }),
        }),
      ],
    ];

    test.each(refusals)("%s → connect_error 'unauthorized'", async (_what, auth) => {
      const err = await connectError(app.baseUrl, auth());
      expect(err.message).toBe("unauthorized");
    });

    test("an expired token is refused with the reason TOKEN_EXPIRED in the error data", async () => {
      const err = await connectError(app.baseUrl, { token: expiredAccessToken(alice) });
      expect(err.message).toBe("unauthorized");
      expect(err.data).toEqual({ code: "TOKEN_EXPIRED" });
    });

    test("the token in the query string or a header is not a way in", async () => {
      const { io } = await import("socket.io-client");
      const socket = io(app.baseUrl, {
        query: { token: alice.access },
        extraHeaders: { authorization: `Bearer ${alice.access}` },
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
      });
      try {
        const err = await new Promise<Error>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no connect_error")), 5000);
          socket.on("connect_error", (e) => {
            clearTimeout(timer);
            resolve(e);
          });
        });
        expect(err.message).toBe("unauthorized");
      } finally {
        socket.close();
      }
    });
  });

  describe("plain WebSocket handshake", () => {
    test("no token, a bad token, a refresh token → 4001; not a member, unknown room → 4002", async () => {
      const {
        roomId,
        users: [alice],
      } = await roomWithMembers(api, 1);
      const outsider = await registerUser(api, "outsider");
      const cases: [string, number][] = [
        [`/ws/chat/${roomId}/`, 4001],
        [`/ws/chat/${roomId}/?token=`, 4001],
        [`/ws/chat/${roomId}/?token=garbage`, 4001],
        [`/ws/chat/${roomId}/?token=${flipPayloadChar(alice.access)}`, 4001],
        [`/ws/chat/${roomId}/?token=${expiredAccessToken(alice)}`, 4001],
        [`/ws/chat/${roomId}/?token=${alice.refresh}`, 4001],
        [`/ws/online/`, 4001],
        [`/ws/online/?token=${alice.refresh}`, 4001],
        [`/ws/chat/${roomId}/?token=${outsider.access}`, 4002],
        [`/ws/chat/999999999/?token=${alice.access}`, 4002],
        [`/ws/chat/2147483648/?token=${alice.access}`, 4002],
      ];
      const results = await Promise.all(cases.map(async ([path]) => (await closedWithin(clients.raw(path))).code));
      expect(results).toEqual(cases.map(([, code]) => code));
    });

    test("a path that is not a chat room is refused before any WebSocket opens", async () => {
      const { roomId, users } = await roomWithMembers(api, 1);
      const token = users[0].access;
      for (const path of [`/ws/chat/abc/?token=${token}`, `/ws/chat/${roomId}/x/?token=${token}`, `/ws/nope/`]) {
        const refused = clients.raw(path);
        let opened = false;
        refused.ws.on("open", () => (opened = true));
        const { code } = await closedWithin(refused);
        expect(opened).toBe(false);
        expect(code).toBe(1006);
      }
    });
  });

  describe("Socket.IO calls", () => {
    let alice: TestUser;
    let bob: TestUser;
    let roomId: number;
    let sa: ChatSocket;

    beforeEach(async () => {
      ({
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2));
      sa = await clients.socket(alice.access);
    });

    test("names outside the whitelist get an error ack, never a result, and change nothing", async () => {
      const sb = await clients.socket(bob.access);
      const gotB = roomMessages(sb, roomId);
      for (const name of FORBIDDEN_CALLS) {
        const { err, res } = await call(sa, name, { roomId, content: "sneaky", nodeId: "x", connId: "y" });
        expect({ name, err: err === null ? null : "error", res }).toEqual({ name, err: "error", res: undefined });
        // Refused as an unknown name, not as a crash.
        expect({ name, code: err!.code }).toEqual({ name, code: 404 });
      }
      expect(await history(roomId, alice.access)).toEqual([]);
      expect(gotB).toEqual([]);
      await stillWorks(sa, roomId);
    });

    test("a call name that is not a string gets an error ack", async () => {
      for (const name of [123, null, { action: "messages.send" }, ["messages.send"]]) {
        const { err, res } = await call(sa, name as unknown as string, { roomId, content: "x" });
        expect(err).not.toBeNull();
        expect(res).toBeUndefined();
      }
      expect(await history(roomId, alice.access)).toEqual([]);
      await stillWorks(sa, roomId);
    });

    test("wrong parameter types → VALIDATION_ERROR acks, and the socket stays connected", async () => {
      const invalid: [string, unknown][] = [
        ["messages.send", { roomId: "abc", content: "hi" }],
        ["messages.send", { roomId: -1, content: "hi" }],
        ["messages.send", { roomId: 1.5, content: "hi" }],
        ["messages.send", { roomId, content: 123 }],
        ["messages.send", { roomId, content: { text: "hi" } }],
        ["messages.send", { roomId, content: ["hi"] }],
        ["messages.send", { roomId, content: null }],
        ["messages.send", { roomId }],
        ["messages.send", { roomId, content: "hi", clientMsgId: 5 }],
        ["messages.send", { roomId, content: "hi", clientMsgId: "x".repeat(65) }],
        ["messages.send", { roomId, content: "hi", clientMsgId: "" }],
        ["messages.send", null],
        ["messages.send", "a string instead of an object"],
        ["messages.send", 42],
        ["messages.send", [roomId, "hi"]],
        ["messages.sync", { rooms: [] }],
        ["messages.sync", { rooms: "1" }],
        ["messages.sync", { rooms: { abc: 1 } }],
        ["messages.sync", { rooms: { [roomId]: -1 } }],
        ["messages.sync", { rooms: { [roomId]: "0" } }],
        ["messages.sync", { rooms: { [roomId]: 1.5 } }],
        ["messages.sync", { rooms: { [roomId]: 0 }, since: "not a date" }],
        ["messages.sync", { rooms: { [roomId]: 0 }, since: 12345 }],
        ["messages.sync", null],
        ["messages.sync", "rooms"],
        ["messages.history", { roomId: "abc" }],
        ["messages.history", { roomId, limit: "lots" }],
        ["messages.history", { roomId, before: -1 }],
        ["messages.edit", { messageId: "abc", content: "x" }],
        ["messages.edit", { messageId: 1, content: 5 }],
        ["messages.delete", { messageId: "first" }],
        ["rooms.join", { roomId: "abc" }],
        ["rooms.join", null],
        ["rooms.leave", { roomId: {} }],
        ["rooms.typing", { roomId, typing: "yes" }],
        ["rooms.typing", { roomId }],
        ["rooms.read", { roomId, seq: -1 }],
        ["rooms.read", { roomId, seq: "latest" }],
      ];
      for (const [name, params] of invalid) {
        const { err, res } = await call(sa, name, params);
        expect({ name, params, type: err?.type, res }).toEqual({
          name,
          params,
          type: "VALIDATION_ERROR",
          res: undefined,
        });
        expect([400, 422]).toContain(err!.code);
      }
      // No params and no ack at all: nothing breaks.
      sa.emit("call", "messages.send");
      sa.emit("call");
      expect(await history(roomId, alice.access)).toEqual([]);
      await stillWorks(sa, roomId);
    });

    test("content rules: empty, blank, NUL and 1,001 characters are refused; 1,000 emoji are fine", async () => {
      for (const content of ["", "   \n\t ", "a\u0000b", "x".repeat(1001), "😀".repeat(1001)]) {
        const { err } = await send(sa, roomId, content);
        expect({ content: content.slice(0, 10), type: err?.type, code: err?.code }).toEqual({
          content: content.slice(0, 10),
          type: "VALIDATION_ERROR",
          code: 400,
        });
        expect(err!.data).toEqual({ fields: { content: expect.any(String) } });
      }
      expect(await history(roomId, alice.access)).toEqual([]);
      const longest = await send(sa, roomId, "😀".repeat(1000));
      expect(longest.err).toBeNull();
      expect(longest.res.content).toBe("😀".repeat(1000));
      const verbatim = "<script>alert(1)</script> & ' \" \u202e";
      expect((await send(sa, roomId, verbatim)).res.content).toBe(verbatim);
      await stillWorks(sa, roomId);
    });

    test("non-members: send, history, typing, read, edit are refused; sync leaves the room out", async () => {
      const outsider = await registerUser(api, "outsider");
      const so = await clients.socket(outsider.access);
      const gotA = roomMessages(sa, roomId);
      const stored = (await send(sa, roomId, "members only")).res;

      const sent = await send(so, roomId, "let me in");
      expect(sent.err).toMatchObject({ type: "NOT_A_MEMBER", code: 403 });
      expect(sent.res).toBeUndefined();
      for (const [name, params] of [
        ["messages.history", { roomId }],
        ["rooms.typing", { roomId, typing: true }],
        ["rooms.read", { roomId, seq: 1 }],
      ] as const) {
        const { err, res } = await call(so, name, params);
        expect({ name, type: err?.type, code: err?.code, res }).toEqual({
          name,
          type: "NOT_A_MEMBER",
          code: 403,
          res: undefined,
        });
      }
      const edit = await call(so, "messages.edit", { messageId: stored.id, content: "mine now" });
      expect(edit.err).toMatchObject({ code: 403 });
      const del = await call(so, "messages.delete", { messageId: stored.id });
      expect(del.err).toMatchObject({ code: 403 });
      const sync = await call(so, "messages.sync", { rooms: { [roomId]: 0 } });
      expect(sync.err).toBeNull();
      expect(sync.res.rooms).toEqual({});

      // A member who is not the author may not edit either.
      const sb = await clients.socket(bob.access);
      const bobEdit = await call(sb, "messages.edit", { messageId: stored.id, content: "bob was here" });
      expect(bobEdit.err).toMatchObject({ type: "FORBIDDEN", code: 403 });

      // Unknown rooms and messages.
      expect((await send(so, 999999999, "x")).err).toMatchObject({ type: "NOT_FOUND", code: 404 });
      expect((await call(so, "messages.edit", { messageId: 999999999, content: "x" })).err).toMatchObject({
        type: "NOT_FOUND",
        code: 404,
      });
      expect((await history(roomId, alice.access)).map((m) => m.content)).toEqual(["members only"]);
      await quietFor(QUIET_MS);
      expect(gotA.map((m) => m.content)).toEqual(["members only"]);
      expect(so.connected).toBe(true);
    });

    test("ids beyond the database's integer range are a client error, not a crash", async () => {
      for (const [name, params] of [
        ["messages.send", { roomId: 2147483648, content: "x" }],
        ["messages.send", { roomId: Number.MAX_SAFE_INTEGER, content: "x" }],
        ["messages.history", { roomId: 2147483648 }],
        ["messages.edit", { messageId: 2147483648, content: "x" }],
        ["rooms.join", { roomId: 2147483648 }],
        ["rooms.typing", { roomId: 2147483648, typing: true }],
      ] as const) {
        const { err, res } = await call(sa, name, params);
        expect(res).toBeUndefined();
        // Unknown (404), or refused as invalid: never a database error.
        expect({ name, type: err?.type }).toEqual({
          name,
          type: expect.stringMatching(/^(NOT_FOUND|VALIDATION_ERROR)$/),
        });
        expect({ name, clientError: err!.code >= 400 && err!.code < 500 }).toEqual({ name, clientError: true });
      }
      const sync = await call(sa, "messages.sync", { rooms: { "2147483648": 0, [roomId]: 0 } });
      expect(sync.err).toBeNull();
      expect(Object.keys(sync.res.rooms)).toEqual([String(roomId)]);
      await stillWorks(sa, roomId);
    });

    test("params cannot choose the sender: `user`, `$meta`, `meta`, `sender` and friends are ignored", async () => {
      const impersonations: Record<string, unknown>[] = [
        { user: { id: bob.id, username: bob.username } },
        { $meta: { user: { id: bob.id, username: bob.username } } },
        { meta: { user: { id: bob.id, username: bob.username } } },
        { sender: { id: bob.id, username: bob.username }, sender_id: bob.id, senderId: bob.id, userId: bob.id },
        { ctx: { meta: { user: { id: bob.id, username: bob.username } } } },
        JSON.parse(`{"__proto__": {"user": {"id": ${bob.id}, "username": "${bob.username}"}}}`),
      ];
      for (const [i, extra] of impersonations.entries()) {
        const { err, res } = await call<Message>(sa, "messages.send", {
          ...extra,
          roomId,
          content: `forged ${i}`,
          clientMsgId: `forged-${i}`,
        });
        expect(err).toBeNull();
        expect(res.sender).toEqual({ id: alice.id, username: alice.username });
      }
      const stored = await history(roomId, bob.access);
      expect(stored).toHaveLength(impersonations.length);
      for (const m of stored) expect(m.sender.id).toBe(alice.id);

      // Nor can they choose who joins or whose read position moves.
      const carol = await registerUser(api, "carol");
      const sc = await clients.socket(carol.access);
      const other = await createRoom(api, bob);
      const join = await call(sc, "rooms.join", { roomId: other, user: { id: alice.id }, userId: alice.id });
      expect(join.err).toBeNull();
      const members = await api.get(`/api/rooms/${other}/users/`, bob.access);
      expect(members.body.users.map((u: { id: number }) => u.id).sort()).toEqual([bob.id, carol.id].sort());
      await call(sa, "rooms.read", { roomId, seq: 3, user: { id: bob.id }, userId: bob.id });
      const bobsView = await api.get("/api/rooms/?mine=1", bob.access);
      expect(bobsView.body.results.find((r: { id: number }) => r.id === roomId).last_read_seq).toBe(0);
    });

    test("a Socket.IO packet over 64 KB disconnects that socket only", async () => {
      const sb = await clients.socket(bob.access);
      const sa2 = await clients.socket(alice.access);
      const gone = disconnected(sa);
      sa.emit("call", "messages.send", { roomId, content: "x".repeat(100 * 1024) }, () => undefined);
      await gone;
      expect(sa.connected).toBe(false);
      expect(await history(roomId, alice.access)).toEqual([]);
      await quietFor(QUIET_MS);
      expect(sb.connected).toBe(true);
      expect(sa2.connected).toBe(true); // the same user's other tab too
      await stillWorks(sb, roomId);
      await stillWorks(sa2, roomId);
    });

    test("events other than `call` and `auth` are ignored", async () => {
      sa.emit("messages.send", { roomId, content: "via a raw event" });
      sa.emit("$node.list", {}, () => undefined);
      await quietFor(QUIET_MS);
      expect(await history(roomId, alice.access)).toEqual([]);
      await stillWorks(sa, roomId);
    });
  });

  describe("plain WebSocket frames", () => {
    test("malformed frames get error frames and the socket stays open; a later valid message still works", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const pa = await clients.chat(roomId, alice.access);
      const pb = await clients.chat(roomId, bob.access);

      const cases: [string | Buffer, string][] = [
        ["hello{", "INVALID_JSON"],
        ["", "INVALID_JSON"],
        [Buffer.from([0xff, 0xfe, 0x00]), "INVALID_JSON"], // binary
        ["[1,2,3]", "VALIDATION_ERROR"],
        ['["message", "hi"]', "VALIDATION_ERROR"],
        ["null", "VALIDATION_ERROR"],
        ["42", "VALIDATION_ERROR"],
        ['"hi"', "VALIDATION_ERROR"],
        ['{"foo":1}', "VALIDATION_ERROR"],
        ["{}", "VALIDATION_ERROR"],
        ['{"type":"bogus","message":"hi"}', "VALIDATION_ERROR"],
        ['{"message":123}', "VALIDATION_ERROR"],
        ['{"message":null}', "VALIDATION_ERROR"],
        ['{"message":""}', "VALIDATION_ERROR"],
        ['{"message":"   "}', "VALIDATION_ERROR"],
        [JSON.stringify({ message: "x".repeat(1001) }), "VALIDATION_ERROR"],
        [JSON.stringify({ message: "hi", client_msg_id: 7 }), "VALIDATION_ERROR"],
      ];
      for (const [frame, code] of cases) {
        const error = await errorFrameFor(pa, frame);
        expect({ frame: String(frame).slice(0, 30), error }).toEqual({
          frame: String(frame).slice(0, 30),
          error: { type: "error", error: expect.any(String), code },
        });
      }
      expect(pa.ws.readyState).toBe(pa.ws.OPEN);
      expect(await history(roomId, alice.access)).toEqual([]);

      pa.send({ message: "finally valid", user: bob.username, user_id: bob.id });
      const delivered = await pb.next((f) => f.type === "message");
      expect(delivered).toMatchObject({ type: "message", message: "finally valid", user: alice.username, seq: 1 });
      const stored = await history(roomId, alice.access);
      expect(stored.map((m) => [m.content, m.sender.id])).toEqual([["finally valid", alice.id]]);
      // Bob saw no error frames: they went to the sender only.
      expect(pb.frames.filter((f) => f.type === "error")).toEqual([]);
      // Heartbeats still answered.
      pa.frames.length = 0;
      pa.send({ type: "heartbeat" });
      await pa.next((f) => f.type === "online_status");
    });

    test("a 100 KB frame closes that socket with 1009; others in the room are unaffected", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const pa = await clients.chat(roomId, alice.access);
      const pb = await clients.chat(roomId, bob.access);
      pa.send({ message: "x".repeat(100 * 1024) });
      expect((await closedWithin(pa)).code).toBe(1009);
      expect(await history(roomId, alice.access)).toEqual([]);
      pb.send({ message: "bob is fine" });
      await pb.next((f) => f.type === "message" && f.message === "bob is fine");
      expect(pb.ws.readyState).toBe(pb.ws.OPEN);
    });

    test("a flood of 40 frames: RATE_LIMITED error frames for the excess, the socket stays open", async () => {
      const {
        roomId,
        users: [alice, bob],
      } = await roomWithMembers(api, 2);
      const pa = await clients.chat(roomId, alice.access);
      const sb = await clients.socket(bob.access);
      const gotB = roomMessages(sb, roomId);
      for (const n of range(1, 40)) pa.send({ message: `flood ${n}` });
      const errors = () => pa.frames.filter((f) => f.type === "error");
      await eventually(
        () => plainMessages(pa).length + errors().length >= 40,
        10_000,
        "an answer to each of the 40 frames",
      );
      const accepted = plainMessages(pa).length;
      expect(accepted).toBeGreaterThanOrEqual(20);
      expect(accepted).toBeLessThanOrEqual(25);
      expect(errors()).toHaveLength(40 - accepted);
      for (const error of errors()) {
        expect(error).toEqual({ type: "error", error: expect.any(String), code: "RATE_LIMITED" });
      }
      expect(pa.ws.readyState).toBe(pa.ws.OPEN);
      await eventually(() => gotB.length >= accepted, 5000, "bob to get the accepted ones");
      expect(gotB.map((m) => m.seq)).toEqual(range(1, accepted));
      // Still answered, and sending works again once tokens come back.
      pa.frames.length = 0;
      pa.send({ type: "heartbeat" });
      await pa.next((f) => f.type === "online_status");
      await eventually(
        async () => {
          pa.frames.length = 0;
          pa.send({ message: "after the flood", client_msg_id: "after-flood" });
          await eventually(() => pa.frames.some((f) => f.type === "message" || f.type === "error"), 5000);
          return pa.frames.some((f) => f.type === "message");
        },
        5000,
        "a message to pass again",
      );
    });
  });
}
