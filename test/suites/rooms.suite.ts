/**
 * Rooms over REST (DESIGN §3, §4, §6): group and direct rooms, the room list with paging and unread
 * counts, detail, joins and leaves (with the 100-member limit under concurrency), the member list and
 * read positions. Runs against any deployment shape.
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, expectError, expectFieldError, registerUser } from "../helpers/http";
import type { Client, Reply, TestUser } from "../helpers/http";

const MAX_MEMBERS = 100;

/** Ids that are not positive integers, as they would appear in a path (already URL-encoded). */
const BAD_IDS = ["abc", "1%20OR%201%3D1", "0", "-1", "1.5", "1e999", "0x10", "2147483648", "99999999999"];

export function roomsSuite(start: () => Promise<TestApp>): void {
  let app: TestApp;
  let api: Client;

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
  });
  afterAll(() => app?.stop());

  async function detail(roomId: number, user: TestUser): Promise<Reply> {
    return api.get(`/api/rooms/${roomId}/`, user.access);
  }

  async function memberCount(roomId: number, user: TestUser): Promise<number> {
    const res = await detail(roomId, user);
    expect(res.status).toBe(200);
    return res.body.member_count;
  }

  async function members(roomId: number, user: TestUser): Promise<{ id: number; role: string }[]> {
    const res = await api.get(`/api/rooms/${roomId}/users/`, user.access);
    expect(res.status).toBe(200);
    return res.body.users;
  }

  async function join(roomId: number, user: TestUser): Promise<Reply> {
    return api.post(`/api/rooms/${roomId}/join/`, {}, user.access);
  }

  async function joined(roomId: number, user: TestUser): Promise<void> {
    const res = await join(roomId, user);
    expect(res.status).toBe(200);
  }

  /** The caller's rooms (`?mine=1`), one page large enough for every test here. */
  async function mine(user: TestUser): Promise<{ count: number; results: any[] }> {
    const res = await api.get("/api/rooms/?mine=1&page_size=100", user.access);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function send(roomId: number, user: TestUser, content: string): Promise<Reply> {
    const res = await api.post(`/api/rooms/${roomId}/messages/`, { content }, user.access);
    expect(res.status).toBe(201);
    return res;
  }

  async function direct(a: TestUser, b: TestUser): Promise<number> {
    const res = await api.post("/api/rooms/create_direct_chat/", { user_id: b.id }, a.access);
    expect([200, 201]).toContain(res.status);
    return res.body.id;
  }

  /** Registers `count` users, a few at a time (password hashing is deliberately slow). */
  async function registerMany(count: number, prefix: string): Promise<TestUser[]> {
    const users: TestUser[] = [];
    while (users.length < count) {
      const batch = Math.min(10, count - users.length);
      users.push(...(await Promise.all(Array.from({ length: batch }, () => registerUser(api, prefix)))));
    }
    return users;
  }

  describe("POST /api/rooms/ (create a group room)", () => {
    test("answers 201 with the room; the creator is its owner and only member", async () => {
      const owner = await registerUser(api, "owner");
      const res = await api.post("/api/rooms/", { name: "general" }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        name: "general",
        room_type: "group",
        created_by: owner.id,
        created_at: expect.any(String),
        member_count: 1,
        last_seq: 0,
      });
      expect(Number.isNaN(Date.parse(res.body.created_at))).toBe(false);
      expect(await members(res.body.id, owner)).toEqual([
        { id: owner.id, username: owner.username, first_name: "", is_online: false, role: "owner" },
      ]);
    });

    test("accepts room_type 'group' explicitly and trims the name", async () => {
      const owner = await registerUser(api, "owner");
      const res = await api.post("/api/rooms/", { name: "  lounge  ", room_type: "group" }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name: "lounge", room_type: "group" });
    });

    test("accepts a name of 100 emoji (counted as code points) and returns it verbatim", async () => {
      const owner = await registerUser(api, "owner");
      const name = "😀".repeat(100);
      const res = await api.post("/api/rooms/", { name }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body.name).toBe(name);
      expect((await detail(res.body.id, owner)).body.name).toBe(name);
    });

    test("accepts a name of exactly 100 characters", async () => {
      const owner = await registerUser(api, "owner");
      const res = await api.post("/api/rooms/", { name: "n".repeat(100) }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body.name).toBe("n".repeat(100));
    });

    const badNames: [string, Record<string, unknown>][] = [
      ["missing", {}],
      ["empty", { name: "" }],
      ["whitespace only", { name: " \t\n " }],
      ["101 characters", { name: "n".repeat(101) }],
      ["101 emoji", { name: "😀".repeat(101) }],
      ["a number", { name: 42 }],
      ["null", { name: null }],
      ["an array", { name: ["general"] }],
      ["an object", { name: { text: "general" } }],
      ["a boolean", { name: true }],
      ["with a control character", { name: "bad\u0001name" }],
    ];
    test.each(badNames)(
      "refuses a name that is %s with 400 VALIDATION_ERROR (fields.name), creating nothing",
      async (_, body) => {
        const owner = await registerUser(api, "owner");
        expectFieldError(await api.post("/api/rooms/", body, owner.access), "name");
        expect((await mine(owner)).count).toBe(0);
      },
    );

    test("refuses room_type 'direct' with 400 VALIDATION_ERROR (fields.room_type), creating nothing", async () => {
      const owner = await registerUser(api, "owner");
      const res = await api.post("/api/rooms/", { name: "sneaky", room_type: "direct" }, owner.access);
      expectFieldError(res, "room_type");
      expect((await mine(owner)).count).toBe(0);
    });

    test("refuses a non-string room_type with 400 VALIDATION_ERROR, creating nothing", async () => {
      const owner = await registerUser(api, "owner");
      expectFieldError(await api.post("/api/rooms/", { name: "x", room_type: 1 }, owner.access), "room_type");
      expect((await mine(owner)).count).toBe(0);
    });
  });

  describe("GET /api/rooms/ (list)", () => {
    test("lists group rooms and the caller's own direct rooms, never another pair's direct room", async () => {
      const [alice, bob, carol] = await Promise.all([
        registerUser(api, "alice"),
        registerUser(api, "bob"),
        registerUser(api, "carol"),
      ]);
      const before = await createRoom(api, carol);
      const theirs = await direct(alice, bob);
      const mineDirect = await direct(carol, alice);
      const after = await createRoom(api, alice);

      const res = await api.get("/api/rooms/?page_size=100", carol.access);
      expect(res.status).toBe(200);
      const ids = res.body.results.map((room: { id: number }) => room.id);
      // `before` and `after` bracket `theirs`: had it been listed, it would be on this page.
      expect(ids).toEqual(expect.arrayContaining([before, mineDirect, after]));
      expect(ids).not.toContain(theirs);
      for (const room of res.body.results) {
        if (room.room_type === "direct") expect(room.is_member).toBe(true);
      }
      // Alice sees her direct room with Bob.
      const forAlice = await api.get("/api/rooms/?page_size=100", alice.access);
      expect(forAlice.body.results.map((room: { id: number }) => room.id)).toContain(theirs);
    });

    test("?mine=1 lists only the caller's rooms (created, joined, direct), newest first", async () => {
      const [me, other] = await Promise.all([registerUser(api, "me"), registerUser(api, "other")]);
      const created = await createRoom(api, me);
      const notJoined = await createRoom(api, other);
      const joinedRoom = await createRoom(api, other);
      await joined(joinedRoom, me);
      const dm = await direct(other, me);

      const list = await mine(me);
      expect(list.count).toBe(3);
      expect(list.results.map((room) => room.id)).toEqual([dm, joinedRoom, created]);
      expect(list.results.map((room) => room.id)).not.toContain(notJoined);
      expect(list.results.every((room) => room.is_member === true)).toBe(true);
    });

    test("an entry carries the room, the caller's membership and unread_count", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner, "entry");
      const [entry] = (await mine(owner)).results;
      expect(entry).toMatchObject({
        id: roomId,
        name: "entry",
        room_type: "group",
        created_by: owner.id,
        member_count: 1,
        last_seq: 0,
        is_member: true,
        unread_count: 0,
        last_read_seq: 0,
        last_message: null,
      });
    });

    test("pages with page and page_size: 50 by default, at most 100, newest first, with next/previous", async () => {
      const owner = await registerUser(api, "pager");
      const ids: number[] = [];
      for (let i = 0; i < 101; i++) ids.push(await createRoom(api, owner, `page-${i}`));
      const newestFirst = [...ids].reverse();

      const first = await api.get("/api/rooms/?mine=1", owner.access);
      expect(first.status).toBe(200);
      expect(first.body.count).toBe(101);
      expect(first.body.results.map((room: { id: number }) => room.id)).toEqual(newestFirst.slice(0, 50));
      expect(first.body.previous).toBeNull();
      expect(first.body.next).toBe("/api/rooms/?page=2&page_size=50&mine=1");

      const third = await api.get("/api/rooms/?mine=1&page=3", owner.access);
      expect(third.body.results.map((room: { id: number }) => room.id)).toEqual([ids[0]]);
      expect(third.body.next).toBeNull();
      expect(third.body.previous).toBe("/api/rooms/?page=2&page_size=50&mine=1");

      const capped = await api.get("/api/rooms/?mine=1&page_size=1000", owner.access);
      expect(capped.status).toBe(200);
      expect(capped.body.results.map((room: { id: number }) => room.id)).toEqual(newestFirst.slice(0, 100));
      expect(capped.body.next).toBe("/api/rooms/?page=2&page_size=100&mine=1");

      const small = await api.get("/api/rooms/?mine=1&page=2&page_size=7", owner.access);
      expect(small.body.results.map((room: { id: number }) => room.id)).toEqual(newestFirst.slice(7, 14));

      const beyond = await api.get("/api/rooms/?mine=1&page=50", owner.access);
      expect(beyond.status).toBe(200);
      expect(beyond.body).toMatchObject({ count: 101, next: null, results: [] });
    }, 60_000);

    test.each(["page_size=abc", "page_size=0", "page_size=-1", "page=abc", "page=0", "page=1.5"])(
      "refuses ?%s with 400 VALIDATION_ERROR",
      async (query) => {
        const user = await registerUser(api, "pager");
        const res = await api.get(`/api/rooms/?${query}`, user.access);
        expectFieldError(res, query.split("=")[0]);
      },
    );

    test("unread_count follows new messages and POST read", async () => {
      const [owner, reader] = await Promise.all([registerUser(api, "owner"), registerUser(api, "reader")]);
      const roomId = await createRoom(api, owner);
      await joined(roomId, reader);
      for (const text of ["one", "two", "three"]) await send(roomId, owner, text);

      const entry = async () => (await mine(reader)).results.find((room) => room.id === roomId);
      expect(await entry()).toMatchObject({ last_seq: 3, unread_count: 3, last_read_seq: 0 });
      expect((await entry()).last_message).toMatchObject({ seq: 3, content: "three" });

      const read = await api.post(`/api/rooms/${roomId}/read/`, { seq: 2 }, reader.access);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ ok: true, last_read_seq: 2 });
      expect(await entry()).toMatchObject({ unread_count: 1, last_read_seq: 2 });

      await send(roomId, owner, "four");
      expect(await entry()).toMatchObject({ last_seq: 4, unread_count: 2 });
      await api.post(`/api/rooms/${roomId}/read/`, { seq: 4 }, reader.access);
      expect(await entry()).toMatchObject({ unread_count: 0, last_read_seq: 4 });
    });

    test("a group room the caller is not in shows no unread count and no last message", async () => {
      const [owner, outsider] = await Promise.all([registerUser(api, "owner"), registerUser(api, "outsider")]);
      const roomId = await createRoom(api, owner);
      await send(roomId, owner, "members only");
      const res = await api.get("/api/rooms/?page_size=100", outsider.access);
      const entry = res.body.results.find((room: { id: number }) => room.id === roomId);
      expect(entry).toMatchObject({ is_member: false, unread_count: 0, last_seq: 1, last_message: null });
    });

    test("needs a token: 401 UNAUTHORIZED without one", async () => {
      expectError(await api.get("/api/rooms/"), 401, "UNAUTHORIZED");
    });
  });

  describe("GET /api/rooms/<id>/ (detail)", () => {
    test("answers the room with member_count and last_seq", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner, "detail");
      await joined(roomId, member);
      await send(roomId, member, "hi");
      const res = await detail(roomId, owner);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: roomId,
        name: "detail",
        room_type: "group",
        created_by: owner.id,
        created_at: expect.any(String),
        member_count: 2,
        last_seq: 1,
      });
    });

    test("a group room's detail is visible to non-members", async () => {
      const [owner, outsider] = await Promise.all([registerUser(api, "owner"), registerUser(api, "outsider")]);
      const roomId = await createRoom(api, owner);
      expect((await detail(roomId, outsider)).status).toBe(200);
    });

    test("an unknown room is 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.get("/api/rooms/2147483000/", user.access), 404, "NOT_FOUND");
    });

    test("the largest integer id is well-formed and names no room: 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.get("/api/rooms/2147483647/", user.access), 404, "NOT_FOUND");
      expectError(await join(2147483647, user), 404, "NOT_FOUND");
    });

    test.each(BAD_IDS)("refuses the id %s with 400 VALIDATION_ERROR on every room route", async (id) => {
      const user = await registerUser(api, "user");
      const answers = await Promise.all([
        api.get(`/api/rooms/${id}/`, user.access),
        api.post(`/api/rooms/${id}/join/`, {}, user.access),
        api.post(`/api/rooms/${id}/leave/`, {}, user.access),
        api.get(`/api/rooms/${id}/users/`, user.access),
        api.post(`/api/rooms/${id}/read/`, { seq: 1 }, user.access),
        api.get(`/api/rooms/${id}/messages/`, user.access),
        api.post(`/api/rooms/${id}/messages/`, { content: "x" }, user.access),
      ]);
      for (const res of answers) expectFieldError(res, "roomId");
    });
  });

  describe("POST /api/rooms/create_direct_chat/", () => {
    test("creates the pair's room (201); asking again from either side answers the same room (200)", async () => {
      const [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
      const created = await api.post("/api/rooms/create_direct_chat/", { user_id: bob.id }, alice.access);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(Number), room_type: "direct", member_count: 2, last_seq: 0 });

      const again = await api.post("/api/rooms/create_direct_chat/", { user_id: bob.id }, alice.access);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
      const reverse = await api.post("/api/rooms/create_direct_chat/", { user_id: alice.id }, bob.access);
      expect(reverse.status).toBe(200);
      expect(reverse.body.id).toBe(created.body.id);

      const users = await members(created.body.id, bob);
      expect(users.map((u) => u.id).sort((x, y) => x - y)).toEqual([alice.id, bob.id].sort((x, y) => x - y));
      expect(users.map((u) => u.role)).toEqual(["member", "member"]);
      expect((await mine(alice)).count).toBe(1);
    });

    test("accepts user_id as a numeric string", async () => {
      const [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
      const res = await api.post("/api/rooms/create_direct_chat/", { user_id: String(bob.id) }, alice.access);
      expect(res.status).toBe(201);
    });

    test("refuses a direct chat with yourself with 400 VALIDATION_ERROR, creating nothing", async () => {
      const alice = await registerUser(api, "alice");
      const res = await api.post("/api/rooms/create_direct_chat/", { user_id: alice.id }, alice.access);
      expectFieldError(res, "user_id");
      expect((await mine(alice)).count).toBe(0);
    });

    test("an unknown user is 404 NOT_FOUND, creating nothing", async () => {
      const alice = await registerUser(api, "alice");
      const res = await api.post("/api/rooms/create_direct_chat/", { user_id: 2147483000 }, alice.access);
      expectError(res, 404, "NOT_FOUND");
      expect((await mine(alice)).count).toBe(0);
    });

    test.each([
      ["missing", {}],
      ["abc", { user_id: "abc" }],
      ["0", { user_id: 0 }],
      ["negative", { user_id: -3 }],
      ["a fraction", { user_id: 1.5 }],
      ["an object", { user_id: { id: 1 } }],
      ["SQL", { user_id: "1 OR 1=1" }],
      ["true", { user_id: true }],
      ["an array", { user_id: [1] }],
      ["null", { user_id: null }],
    ])("refuses a user_id that is %s with 400 VALIDATION_ERROR", async (_, body) => {
      const alice = await registerUser(api, "alice");
      expectFieldError(await api.post("/api/rooms/create_direct_chat/", body, alice.access), "user_id");
      expect((await mine(alice)).count).toBe(0);
    });

    test("concurrent requests of one pair, from both sides, make one room", async () => {
      const [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i % 2 === 0
            ? api.post("/api/rooms/create_direct_chat/", { user_id: bob.id }, alice.access)
            : api.post("/api/rooms/create_direct_chat/", { user_id: alice.id }, bob.access),
        ),
      );
      expect(answers.map((res) => res.status).sort((a, b) => a - b)).toEqual([...Array<number>(9).fill(200), 201]);
      const ids = new Set(answers.map((res) => res.body.id));
      expect(ids.size).toBe(1);
      const [roomId] = [...ids];
      expect((await mine(alice)).results.map((room) => room.id)).toEqual([roomId]);
      expect((await mine(bob)).results.map((room) => room.id)).toEqual([roomId]);
      expect(await memberCount(roomId, alice)).toBe(2);
    });

    test("a direct room is closed to outsiders: detail, members, read 403 FORBIDDEN, history and send 403 NOT_A_MEMBER", async () => {
      const [alice, bob, eve] = await Promise.all([
        registerUser(api, "alice"),
        registerUser(api, "bob"),
        registerUser(api, "eve"),
      ]);
      const roomId = await direct(alice, bob);
      await send(roomId, alice, "private");
      expectError(await detail(roomId, eve), 403, "FORBIDDEN");
      expectError(await api.get(`/api/rooms/${roomId}/users/`, eve.access), 403, "FORBIDDEN");
      expectError(await api.post(`/api/rooms/${roomId}/read/`, { seq: 1 }, eve.access), 403, "FORBIDDEN");
      const history = await api.get(`/api/rooms/${roomId}/messages/`, eve.access);
      expectError(history, 403, "NOT_A_MEMBER");
      expect(JSON.stringify(history.body)).not.toContain("private");
      expectError(await api.post(`/api/rooms/${roomId}/messages/`, { content: "hi" }, eve.access), 403, "NOT_A_MEMBER");
      // Still only Alice's message, and still two members.
      expect((await detail(roomId, alice)).body).toMatchObject({ member_count: 2, last_seq: 1 });
    });

    test("joining a direct room is 400 DIRECT_ROOM and adds nobody", async () => {
      const [alice, bob, eve] = await Promise.all([
        registerUser(api, "alice"),
        registerUser(api, "bob"),
        registerUser(api, "eve"),
      ]);
      const roomId = await direct(alice, bob);
      expectError(await join(roomId, eve), 400, "DIRECT_ROOM");
      expect(await memberCount(roomId, alice)).toBe(2);
      expectError(await detail(roomId, eve), 403, "FORBIDDEN");
    });

    test("leaving a direct room is 400 DIRECT_ROOM and keeps both members", async () => {
      const [alice, bob] = await Promise.all([registerUser(api, "alice"), registerUser(api, "bob")]);
      const roomId = await direct(alice, bob);
      expectError(await api.post(`/api/rooms/${roomId}/leave/`, {}, alice.access), 400, "DIRECT_ROOM");
      expect(await memberCount(roomId, alice)).toBe(2);
    });
  });

  describe("POST /api/rooms/<id>/join/ and /leave/", () => {
    test("joining answers the room with the new member_count; the joiner is a plain member", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      const res = await join(roomId, member);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: roomId, room_type: "group", member_count: 2 });
      const roles = (await members(roomId, owner)).map((u) => [u.id, u.role]);
      expect(roles).toEqual([
        [owner.id, "owner"],
        [member.id, "member"],
      ]);
    });

    test("joining twice is 400 ALREADY_MEMBER and counts the member once", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await joined(roomId, member);
      expectError(await join(roomId, member), 400, "ALREADY_MEMBER");
      expectError(await join(roomId, owner), 400, "ALREADY_MEMBER");
      expect(await memberCount(roomId, owner)).toBe(2);
      expect(await members(roomId, owner)).toHaveLength(2);
    });

    test("concurrent joins of one user count the member once", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      const answers = await Promise.all(Array.from({ length: 5 }, () => join(roomId, member)));
      expect(answers.map((res) => res.status).sort((a, b) => a - b)).toEqual([200, 400, 400, 400, 400]);
      for (const res of answers.filter((r) => r.status === 400)) expect(res.body.code).toBe("ALREADY_MEMBER");
      expect(await memberCount(roomId, owner)).toBe(2);
    });

    test("joining an unknown room is 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await join(2147483000, user), 404, "NOT_FOUND");
    });

    test("leaving a room you are not in is 400 NOT_A_MEMBER and changes nothing", async () => {
      const [owner, outsider] = await Promise.all([registerUser(api, "owner"), registerUser(api, "outsider")]);
      const roomId = await createRoom(api, owner);
      expectError(await api.post(`/api/rooms/${roomId}/leave/`, {}, outsider.access), 400, "NOT_A_MEMBER");
      expect(await memberCount(roomId, owner)).toBe(1);
    });

    test("leaving an unknown room is 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.post("/api/rooms/2147483000/leave/", {}, user.access), 404, "NOT_FOUND");
    });

    test("a member who leaves is gone from the member list and can no longer see it", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await joined(roomId, member);
      const res = await api.post(`/api/rooms/${roomId}/leave/`, {}, member.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, room_deleted: false });
      expect((await members(roomId, owner)).map((u) => u.id)).toEqual([owner.id]);
      expect(await memberCount(roomId, owner)).toBe(1);
      expectError(await api.get(`/api/rooms/${roomId}/users/`, member.access), 403, "FORBIDDEN");
      expect((await mine(member)).count).toBe(0);
      // and may join again
      await joined(roomId, member);
      expect(await memberCount(roomId, owner)).toBe(2);
    });

    test("when the last member leaves, the room is deleted: 404 afterwards and gone from lists", async () => {
      const [owner, other] = await Promise.all([registerUser(api, "owner"), registerUser(api, "other")]);
      const roomId = await createRoom(api, owner);
      await send(roomId, owner, "last words");
      const res = await api.post(`/api/rooms/${roomId}/leave/`, {}, owner.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, room_deleted: true });
      expectError(await detail(roomId, owner), 404, "NOT_FOUND");
      expectError(await detail(roomId, other), 404, "NOT_FOUND");
      expectError(await join(roomId, other), 404, "NOT_FOUND");
      expectError(await api.get(`/api/rooms/${roomId}/messages/`, owner.access), 404, "NOT_FOUND");
      expectError(await api.get(`/api/rooms/${roomId}/users/`, owner.access), 404, "NOT_FOUND");
      const list = await api.get("/api/rooms/?page_size=100", other.access);
      expect(list.body.results.map((room: { id: number }) => room.id)).not.toContain(roomId);
    });

    test("when the owner leaves, the longest-standing member becomes owner", async () => {
      const [owner, first, second] = await Promise.all([
        registerUser(api, "owner"),
        registerUser(api, "first"),
        registerUser(api, "second"),
      ]);
      const roomId = await createRoom(api, owner);
      await joined(roomId, first);
      await joined(roomId, second);
      expect((await api.post(`/api/rooms/${roomId}/leave/`, {}, owner.access)).status).toBe(200);
      const roles = (await members(roomId, second)).map((u) => [u.id, u.role]);
      expect(roles).toEqual([
        [first.id, "owner"],
        [second.id, "member"],
      ]);
      expect(await memberCount(roomId, second)).toBe(2);
    });

    test("a plain member leaving keeps the owner", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await joined(roomId, member);
      await api.post(`/api/rooms/${roomId}/leave/`, {}, member.access);
      expect((await members(roomId, owner)).map((u) => [u.id, u.role])).toEqual([[owner.id, "owner"]]);
    });
  });

  describe("GET /api/rooms/<id>/users/ (members)", () => {
    test("lists {id, username, first_name, is_online, role} of every member, to members", async () => {
      const owner = await registerUser(api, "owner");
      const named = await api.post("/api/register/", {
        username: `named_${owner.username}`,
        password: owner.password,
        first_name: "Grace",
      });
      expect(named.status).toBe(201);
      const member = { ...named.body.user, access: named.body.access };
      const roomId = await createRoom(api, owner);
      expect((await api.post(`/api/rooms/${roomId}/join/`, {}, member.access)).status).toBe(200);

      const res = await api.get(`/api/rooms/${roomId}/users/`, member.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        users: [
          { id: owner.id, username: owner.username, first_name: "", is_online: false, role: "owner" },
          { id: member.id, username: member.username, first_name: "Grace", is_online: false, role: "member" },
        ],
      });
    });

    test("is 403 FORBIDDEN to non-members of a group room", async () => {
      const [owner, outsider] = await Promise.all([registerUser(api, "owner"), registerUser(api, "outsider")]);
      const roomId = await createRoom(api, owner);
      const res = await api.get(`/api/rooms/${roomId}/users/`, outsider.access);
      expectError(res, 403, "FORBIDDEN");
      expect(JSON.stringify(res.body)).not.toContain(owner.username);
    });

    test("is 404 NOT_FOUND for an unknown room", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.get("/api/rooms/2147483000/users/", user.access), 404, "NOT_FOUND");
    });
  });

  describe("POST /api/rooms/<id>/read/ (read position)", () => {
    async function roomWithMessages(count: number): Promise<{ owner: TestUser; roomId: number }> {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      for (let i = 1; i <= count; i++) await send(roomId, owner, `m${i}`);
      return { owner, roomId };
    }

    async function lastRead(roomId: number, user: TestUser): Promise<number> {
      return (await mine(user)).results.find((room) => room.id === roomId).last_read_seq;
    }

    test("is capped at the room's last seq", async () => {
      const { owner, roomId } = await roomWithMessages(2);
      const res = await api.post(`/api/rooms/${roomId}/read/`, { seq: 1000 }, owner.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, last_read_seq: 2 });
      expect(await lastRead(roomId, owner)).toBe(2);
    });

    test("never moves backwards", async () => {
      const { owner, roomId } = await roomWithMessages(3);
      await api.post(`/api/rooms/${roomId}/read/`, { seq: 3 }, owner.access);
      const res = await api.post(`/api/rooms/${roomId}/read/`, { seq: 1 }, owner.access);
      expect(res.status).toBe(200);
      expect(res.body.last_read_seq).toBe(3);
      expect(await lastRead(roomId, owner)).toBe(3);
    });

    test("accepts 0 and a numeric string", async () => {
      const { owner, roomId } = await roomWithMessages(2);
      expect((await api.post(`/api/rooms/${roomId}/read/`, { seq: 0 }, owner.access)).body.last_read_seq).toBe(0);
      expect((await api.post(`/api/rooms/${roomId}/read/`, { seq: "1" }, owner.access)).body.last_read_seq).toBe(1);
    });

    test.each([
      ["missing", {}],
      ["negative", { seq: -1 }],
      ["a word", { seq: "abc" }],
      ["a fraction", { seq: 1.5 }],
      ["null", { seq: null }],
      ["empty", { seq: "" }],
      ["a boolean", { seq: true }],
      ["an array", { seq: [1] }],
      ["beyond the integer range", { seq: 2_147_483_648 }],
    ])("refuses a seq that is %s with 400 VALIDATION_ERROR and keeps the position", async (_, body) => {
      const { owner, roomId } = await roomWithMessages(2);
      await api.post(`/api/rooms/${roomId}/read/`, { seq: 1 }, owner.access);
      expectFieldError(await api.post(`/api/rooms/${roomId}/read/`, body, owner.access), "seq");
      expect(await lastRead(roomId, owner)).toBe(1);
    });

    test("is 403 NOT_A_MEMBER for a non-member of a group room", async () => {
      const { roomId } = await roomWithMessages(1);
      const outsider = await registerUser(api, "outsider");
      expectError(await api.post(`/api/rooms/${roomId}/read/`, { seq: 1 }, outsider.access), 403, "NOT_A_MEMBER");
    });

    test("is 404 NOT_FOUND for an unknown room", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.post("/api/rooms/2147483000/read/", { seq: 1 }, user.access), 404, "NOT_FOUND");
    });
  });

  describe("the 100-member limit", () => {
    test("110 simultaneous joins to a room with its owner: exactly 100 members, 11 answers 409 ROOM_FULL", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      const joiners = await registerMany(110, "crowd");

      const answers = await Promise.all(joiners.map((user) => join(roomId, user)));
      const statuses = answers.map((res) => res.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(MAX_MEMBERS - 1);
      expect(statuses.filter((status) => status === 409)).toHaveLength(11);
      for (const res of answers.filter((r) => r.status === 409)) expectError(res, 409, "ROOM_FULL");

      expect(await memberCount(roomId, owner)).toBe(MAX_MEMBERS);
      const list = await members(roomId, owner);
      expect(list).toHaveLength(MAX_MEMBERS);
      const admitted = joiners.filter((_, i) => answers[i].status === 200).map((user) => user.id);
      expect(new Set(list.map((u) => u.id))).toEqual(new Set([owner.id, ...admitted]));

      // A refused user is not a member, and one more join is still refused.
      const refused = joiners[answers.findIndex((res) => res.status === 409)];
      expectError(await api.get(`/api/rooms/${roomId}/users/`, refused.access), 403, "FORBIDDEN");
      expectError(await join(roomId, refused), 409, "ROOM_FULL");

      // Once someone leaves, there is room for exactly one more.
      const leaver = joiners.find((_, i) => answers[i].status === 200) as TestUser;
      expect((await api.post(`/api/rooms/${roomId}/leave/`, {}, leaver.access)).status).toBe(200);
      expect((await join(roomId, refused)).status).toBe(200);
      expect(await memberCount(roomId, owner)).toBe(MAX_MEMBERS);
    }, 180_000);
  });
}
