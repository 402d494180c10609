/**
 * Reads right after writes are fresh (STYLE "Cache on purpose", DESIGN §7): history, room detail and
 * membership checks are cached (memory in one process, Redis in a cluster), and every write that
 * changes them must clean them. Each test reads first, so a cache entry exists before the write.
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, expectError, registerUser } from "../helpers/http";
import type { Client, Reply, TestUser } from "../helpers/http";

export function cacheSuite(start: () => Promise<TestApp>): void {
  let app: TestApp;
  let api: Client;

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
  });
  afterAll(() => app?.stop());

  function messagesPath(roomId: number, messageId?: number): string {
    return `/api/rooms/${roomId}/messages/${messageId === undefined ? "" : `${messageId}/`}`;
  }

  async function send(roomId: number, user: TestUser, content: string): Promise<{ id: number; seq: number }> {
    const res = await api.post(messagesPath(roomId), { content }, user.access);
    expect(res.status).toBe(201);
    return res.body;
  }

  /** The default history page (the cached one): its contents in order. */
  async function latest(
    roomId: number,
    user: TestUser,
  ): Promise<{ seq: number; content: string; is_deleted: boolean }[]> {
    const res = await api.get(messagesPath(roomId), user.access);
    expect(res.status).toBe(200);
    return res.body.results;
  }

  async function memberCount(roomId: number, user: TestUser): Promise<number> {
    const res = await api.get(`/api/rooms/${roomId}/`, user.access);
    expect(res.status).toBe(200);
    return res.body.member_count;
  }

  async function join(roomId: number, user: TestUser): Promise<void> {
    expect((await api.post(`/api/rooms/${roomId}/join/`, {}, user.access)).status).toBe(200);
  }

  async function leave(roomId: number, user: TestUser): Promise<Reply> {
    const res = await api.post(`/api/rooms/${roomId}/leave/`, {}, user.access);
    expect(res.status).toBe(200);
    return res;
  }

  describe("history", () => {
    test("a message sent after a history read shows up on the next read", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      await send(roomId, owner, "first");
      expect((await latest(roomId, owner)).map((m) => m.content)).toEqual(["first"]);
      await send(roomId, owner, "second");
      expect((await latest(roomId, owner)).map((m) => m.content)).toEqual(["first", "second"]);
    });

    test("a first message in an empty room shows up after an empty read", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      expect(await latest(roomId, owner)).toEqual([]);
      await send(roomId, owner, "hello");
      expect((await latest(roomId, owner)).map((m) => m.content)).toEqual(["hello"]);
    });

    test("another member's read after a send is fresh too (the cache is per room, not per reader)", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await join(roomId, member);
      expect(await latest(roomId, member)).toEqual([]);
      await send(roomId, owner, "news");
      expect((await latest(roomId, member)).map((m) => m.content)).toEqual(["news"]);
    });

    test("an edit shows up on the next read", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      const message = await send(roomId, owner, "draft");
      expect((await latest(roomId, owner))[0].content).toBe("draft");
      expect((await api.patch(messagesPath(roomId, message.id), { content: "final" }, owner.access)).status).toBe(200);
      const [edited] = await latest(roomId, owner);
      expect(edited).toMatchObject({ content: "final", edited_at: expect.any(String) });
    });

    test("a delete shows up on the next read", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      const message = await send(roomId, owner, "oops");
      expect((await latest(roomId, owner))[0].is_deleted).toBe(false);
      expect((await api.delete(messagesPath(roomId, message.id), owner.access)).status).toBe(200);
      expect((await latest(roomId, owner))[0]).toMatchObject({ content: "", is_deleted: true });
    });

    test("reads racing with sends leave no stale page behind", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await join(roomId, member);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          Promise.all([send(roomId, i % 2 ? owner : member, `m${i}`), latest(roomId, member)]),
        ),
      );
      expect((await latest(roomId, owner)).map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });
  });

  describe("room detail and membership", () => {
    test("member_count is right immediately after a join and after a leave", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      expect(await memberCount(roomId, owner)).toBe(1);
      await join(roomId, member);
      expect(await memberCount(roomId, owner)).toBe(2);
      await leave(roomId, member);
      expect(await memberCount(roomId, owner)).toBe(1);
    });

    test("member_count is right after joins racing with detail reads", async () => {
      const owner = await registerUser(api, "owner");
      const roomId = await createRoom(api, owner);
      const joiners = await Promise.all(Array.from({ length: 10 }, () => registerUser(api, "joiner")));
      await Promise.all(joiners.map((user) => Promise.all([join(roomId, user), memberCount(roomId, owner)])));
      expect(await memberCount(roomId, owner)).toBe(11);
    });

    test("a member who leaves gets 403 on history and send immediately", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await join(roomId, member);
      expect(await latest(roomId, member)).toEqual([]);
      await leave(roomId, member);
      expectError(await api.get(messagesPath(roomId), member.access), 403, "NOT_A_MEMBER");
      expectError(await api.post(messagesPath(roomId), { content: "still here?" }, member.access), 403, "NOT_A_MEMBER");
      expect(await latest(roomId, owner)).toEqual([]);
    });

    test("a user refused before joining may send and read immediately after joining", async () => {
      const [owner, newcomer] = await Promise.all([registerUser(api, "owner"), registerUser(api, "newcomer")]);
      const roomId = await createRoom(api, owner);
      // A refusal first, so a "not a member" answer sits in the cache.
      expectError(await api.post(messagesPath(roomId), { content: "early" }, newcomer.access), 403, "NOT_A_MEMBER");
      expectError(await api.get(messagesPath(roomId), newcomer.access), 403, "NOT_A_MEMBER");
      await join(roomId, newcomer);
      const sent = await api.post(messagesPath(roomId), { content: "made it" }, newcomer.access);
      expect(sent.status).toBe(201);
      expect((await latest(roomId, newcomer)).map((m) => m.content)).toEqual(["made it"]);
      expect((await api.get(`/api/rooms/${roomId}/users/`, newcomer.access)).status).toBe(200);
    });

    test("rejoining after leaving restores access immediately", async () => {
      const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
      const roomId = await createRoom(api, owner);
      await join(roomId, member);
      await leave(roomId, member);
      expectError(await api.get(messagesPath(roomId), member.access), 403, "NOT_A_MEMBER");
      await join(roomId, member);
      expect((await api.get(messagesPath(roomId), member.access)).status).toBe(200);
    });

    test("the owner role passed on leave takes effect at once (the new owner may moderate)", async () => {
      const [owner, heir, other] = await Promise.all([
        registerUser(api, "owner"),
        registerUser(api, "heir"),
        registerUser(api, "other"),
      ]);
      const roomId = await createRoom(api, owner);
      await join(roomId, heir);
      await join(roomId, other);
      const message = await send(roomId, other, "moderate me");
      // As a plain member the heir may not delete it, and that answer may be cached.
      expectError(await api.delete(messagesPath(roomId, message.id), heir.access), 403, "FORBIDDEN");
      await leave(roomId, owner);
      const res = await api.delete(messagesPath(roomId, message.id), heir.access);
      expect(res.status).toBe(200);
      expect(res.body.is_deleted).toBe(true);
    });

    test("when the last member leaves, detail, history and join answer 404 immediately", async () => {
      const [owner, former, outsider] = await Promise.all([
        registerUser(api, "owner"),
        registerUser(api, "former"),
        registerUser(api, "outsider"),
      ]);
      const roomId = await createRoom(api, owner);
      await join(roomId, former);
      await send(roomId, owner, "hello");
      // Cache every kind of answer: detail, the owner's history, a former member's and an outsider's refusal.
      expect(await memberCount(roomId, outsider)).toBe(2);
      expect(await latest(roomId, owner)).toHaveLength(1);
      await leave(roomId, former);
      expectError(await api.get(messagesPath(roomId), former.access), 403, "NOT_A_MEMBER");
      expectError(await api.get(messagesPath(roomId), outsider.access), 403, "NOT_A_MEMBER");

      const res = await leave(roomId, owner);
      expect(res.body.room_deleted).toBe(true);
      expectError(await api.get(`/api/rooms/${roomId}/`, outsider.access), 404, "NOT_FOUND");
      expectError(await api.get(messagesPath(roomId), owner.access), 404, "NOT_FOUND");
      expectError(await api.get(messagesPath(roomId), former.access), 404, "NOT_FOUND");
      expectError(await api.get(messagesPath(roomId), outsider.access), 404, "NOT_FOUND");
      expectError(await api.post(messagesPath(roomId), { content: "anyone?" }, owner.access), 404, "NOT_FOUND");
      expectError(await api.post(`/api/rooms/${roomId}/join/`, {}, outsider.access), 404, "NOT_FOUND");
    });
  });
}
