/**
 * Messages over REST (DESIGN §4, §6, §7): sending with content rules and idempotent retries, the
 * gap-free per-room seq under concurrency, history pages and cursors, edit and delete with their
 * permissions. Runs against any deployment shape.
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, expectError, expectFieldError, registerUser } from "../helpers/http";
import type { Client, Reply, TestUser } from "../helpers/http";
import type { MessageDTO as Message } from "../../types";

/** What one user may send at once with the default rate limit (MSG_BURST). */
const BURST = 20;

function seqs(messages: Message[]): number[] {
  return messages.map((m) => m.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Contents a client could send that the server must refuse (DESIGN §6). */
const BAD_CONTENT: [string, unknown][] = [
  ["empty", ""],
  ["whitespace only", " \t\n\u00a0 "],
  ["1,001 characters", "x".repeat(1001)],
  ["1,001 emoji", "😀".repeat(1001)],
  ["a NUL character", "\u0000"],
  ["text with a NUL inside", "hello\u0000world"],
  ["a number", 42],
  ["an object", { text: "hi" }],
  ["an array", ["hi"]],
  ["null", null],
  ["a boolean", true],
];

export function messagesSuite(start: () => Promise<TestApp>): void {
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

  async function send(roomId: number, user: TestUser, content: string, clientMsgId?: string): Promise<Message> {
    const res = await api.post(messagesPath(roomId), { content, client_msg_id: clientMsgId }, user.access);
    if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function history(roomId: number, user: TestUser, query = ""): Promise<Reply> {
    return api.get(`${messagesPath(roomId)}${query ? `?${query}` : ""}`, user.access);
  }

  async function allMessages(roomId: number, user: TestUser): Promise<Message[]> {
    const res = await history(roomId, user, "after=0&limit=100");
    expect(res.status).toBe(200);
    return res.body.results;
  }

  async function lastSeq(roomId: number, user: TestUser): Promise<number> {
    const res = await api.get(`/api/rooms/${roomId}/`, user.access);
    expect(res.status).toBe(200);
    return res.body.last_seq;
  }

  async function joined(roomId: number, user: TestUser): Promise<void> {
    expect((await api.post(`/api/rooms/${roomId}/join/`, {}, user.access)).status).toBe(200);
  }

  /** A room with its owner only. */
  async function ownRoom(prefix = "owner"): Promise<{ owner: TestUser; roomId: number }> {
    const owner = await registerUser(api, prefix);
    return { owner, roomId: await createRoom(api, owner) };
  }

  /**
   * A room holding messages "m1".."m<count>" with seq = their number, sent one after the other by as
   * many members as the per-user burst needs.
   */
  async function roomWithMessages(count: number): Promise<{ owner: TestUser; roomId: number; sent: Message[] }> {
    const { owner, roomId } = await ownRoom();
    const senders = [owner];
    while (senders.length * BURST < count) {
      const member = await registerUser(api, "filler");
      await joined(roomId, member);
      senders.push(member);
    }
    const sent: Message[] = [];
    for (let i = 1; i <= count; i++) sent.push(await send(roomId, senders[Math.floor((i - 1) / BURST)], `m${i}`));
    return { owner, roomId, sent };
  }

  describe("POST /api/rooms/<id>/messages/ (send)", () => {
    test("answers 201 with the stored message", async () => {
      const { owner, roomId } = await ownRoom();
      const res = await api.post(messagesPath(roomId), { content: "hello", client_msg_id: "c-1" }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        room_id: roomId,
        seq: 1,
        sender: { id: owner.id, username: owner.username },
        content: "hello",
        client_msg_id: "c-1",
        created_at: expect.any(String),
        edited_at: null,
        is_deleted: false,
      });
      expect(Number.isNaN(Date.parse(res.body.created_at))).toBe(false);
      expect(await allMessages(roomId, owner)).toEqual([res.body]);
    });

    test("without client_msg_id the message has client_msg_id null", async () => {
      const { owner, roomId } = await ownRoom();
      const res = await api.post(messagesPath(roomId), { content: "no id" }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body.client_msg_id).toBeNull();
    });

    test("a non-member's send is 403 NOT_A_MEMBER and stores nothing", async () => {
      const { owner, roomId } = await ownRoom();
      const outsider = await registerUser(api, "outsider");
      expectError(await api.post(messagesPath(roomId), { content: "let me in" }, outsider.access), 403, "NOT_A_MEMBER");
      expect(await lastSeq(roomId, owner)).toBe(0);
      expect(await allMessages(roomId, owner)).toEqual([]);
    });

    test("sending to an unknown room is 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await api.post(messagesPath(2147483000), { content: "anyone?" }, user.access), 404, "NOT_FOUND");
    });

    test("needs a token: 401 UNAUTHORIZED without one", async () => {
      const { owner, roomId } = await ownRoom();
      expectError(await api.post(messagesPath(roomId), { content: "anon" }), 401, "UNAUTHORIZED");
      expect(await lastSeq(roomId, owner)).toBe(0);
    });

    test.each(BAD_CONTENT)(
      "refuses content that is %s with 400 VALIDATION_ERROR (fields.content), storing nothing",
      async (_, content) => {
        const { owner, roomId } = await ownRoom();
        expectFieldError(await api.post(messagesPath(roomId), { content }, owner.access), "content");
        expect(await lastSeq(roomId, owner)).toBe(0);
        expect(await allMessages(roomId, owner)).toEqual([]);
      },
    );

    test("refuses a missing content with 400 VALIDATION_ERROR, storing nothing", async () => {
      const { owner, roomId } = await ownRoom();
      expectFieldError(await api.post(messagesPath(roomId), { client_msg_id: "x" }, owner.access), "content");
      expect(await lastSeq(roomId, owner)).toBe(0);
    });

    test("accepts exactly 1,000 emoji and returns them verbatim", async () => {
      const { owner, roomId } = await ownRoom();
      const content = "😀".repeat(1000);
      const message = await send(roomId, owner, content);
      expect(message.content).toBe(content);
      expect((await allMessages(roomId, owner))[0].content).toBe(content);
    });

    test("accepts exactly 1,000 characters, and a single character", async () => {
      const { owner, roomId } = await ownRoom();
      expect((await send(roomId, owner, "x".repeat(1000))).content).toHaveLength(1000);
      expect((await send(roomId, owner, "y")).content).toBe("y");
    });

    test("stores HTML and surrounding whitespace verbatim (clients escape)", async () => {
      const { owner, roomId } = await ownRoom();
      const html = "<img src=x onerror=alert(1)>";
      expect((await send(roomId, owner, html)).content).toBe(html);
      const padded = "  two\nlines  ";
      expect((await send(roomId, owner, padded)).content).toBe(padded);
      expect((await allMessages(roomId, owner)).map((m) => m.content)).toEqual([html, padded]);
    });

    test("ignores unknown JSON fields, including ones naming the sender, seq and room", async () => {
      const { owner, roomId } = await ownRoom();
      const other = await ownRoom("other");
      const res = await api.post(
        messagesPath(roomId),
        {
          content: "hi",
          sender_id: other.owner.id,
          sender: { id: other.owner.id },
          seq: 99,
          room_id: other.roomId,
          extra: [1],
        },
        owner.access,
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        room_id: roomId,
        seq: 1,
        sender: { id: owner.id, username: owner.username },
        content: "hi",
      });
      expect(res.body).not.toHaveProperty("extra");
      expect(await lastSeq(other.roomId, other.owner)).toBe(0);
    });

    test("a roomId in the body does not redirect the message: the path decides", async () => {
      const { owner, roomId } = await ownRoom();
      const second = await createRoom(api, owner);
      const res = await api.post(messagesPath(roomId), { content: "here", roomId: second }, owner.access);
      expect(res.status).toBe(201);
      expect(res.body.room_id).toBe(roomId);
      expect(await lastSeq(second, owner)).toBe(0);
    });

    test.each([
      ["empty", ""],
      ["65 characters", "c".repeat(65)],
      ["a number", 7],
      ["an object", { id: "x" }],
    ])("refuses a client_msg_id that is %s with 400 VALIDATION_ERROR, storing nothing", async (_, clientMsgId) => {
      const { owner, roomId } = await ownRoom();
      const res = await api.post(messagesPath(roomId), { content: "hi", client_msg_id: clientMsgId }, owner.access);
      expectFieldError(res, "client_msg_id");
      expect(await lastSeq(roomId, owner)).toBe(0);
    });
  });

  describe("idempotent retries (client_msg_id)", () => {
    test("a retry returns the stored message again with 200, and stores nothing new", async () => {
      const { owner, roomId } = await ownRoom();
      const first = await api.post(messagesPath(roomId), { content: "once", client_msg_id: "retry-1" }, owner.access);
      expect(first.status).toBe(201);
      const retry = await api.post(messagesPath(roomId), { content: "once", client_msg_id: "retry-1" }, owner.access);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(await lastSeq(roomId, owner)).toBe(1);
    });

    test("the same client_msg_id sent 20 times at once is stored once: one id, one seq, one history entry", async () => {
      const { owner, roomId } = await ownRoom();
      const answers = await Promise.all(
        Array.from({ length: BURST }, () =>
          api.post(messagesPath(roomId), { content: "only once", client_msg_id: "storm" }, owner.access),
        ),
      );
      const statuses = answers.map((res) => res.status).sort((a, b) => a - b);
      expect(statuses).toEqual([...Array<number>(BURST - 1).fill(200), 201]);
      expect(new Set(answers.map((res) => res.body.id)).size).toBe(1);
      expect(new Set(answers.map((res) => res.body.seq))).toEqual(new Set([1]));
      const stored = await allMessages(roomId, owner);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ id: answers[0].body.id, seq: 1, client_msg_id: "storm", content: "only once" });
      // The losers' seq increments were rolled back: no gap before the next message.
      expect(await lastSeq(roomId, owner)).toBe(1);
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      expect((await send(roomId, member, "next")).seq).toBe(2);
    });

    test("reusing a client_msg_id in another room is 409 CONFLICT and stores nothing there", async () => {
      const { owner, roomId } = await ownRoom();
      const other = await createRoom(api, owner);
      await send(roomId, owner, "first", "reused");
      const res = await api.post(messagesPath(other), { content: "second", client_msg_id: "reused" }, owner.access);
      expectError(res, 409, "CONFLICT");
      expect(await lastSeq(other, owner)).toBe(0);
      expect(await allMessages(other, owner)).toEqual([]);
      expect(await allMessages(roomId, owner)).toHaveLength(1);
    });

    test("client_msg_id is per sender: two users may use the same one in one room", async () => {
      const { owner, roomId } = await ownRoom();
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      const a = await send(roomId, owner, "from owner", "shared-id");
      const b = await send(roomId, member, "from member", "shared-id");
      expect(a.id).not.toBe(b.id);
      expect([a.seq, b.seq]).toEqual([1, 2]);
    });
  });

  describe("seq under concurrency", () => {
    test("5 users × 20 concurrent sends into one room get seqs exactly 1..100, no gaps, no duplicates", async () => {
      const { owner, roomId } = await ownRoom();
      const others = await Promise.all(Array.from({ length: 4 }, () => registerUser(api, "sender")));
      for (const user of others) await joined(roomId, user);
      const senders = [owner, ...others];

      const answers = await Promise.all(
        senders.flatMap((user, u) =>
          Array.from({ length: BURST }, (_, i) =>
            api.post(messagesPath(roomId), { content: `u${u}-${i}`, client_msg_id: `c-${u}-${i}` }, user.access),
          ),
        ),
      );
      expect(answers.map((res) => res.status)).toEqual(Array<number>(100).fill(201));
      expect(answers.map((res) => res.body.seq).sort((a, b) => a - b)).toEqual(range(1, 100));
      expect(new Set(answers.map((res) => res.body.id)).size).toBe(100);

      const stored = await allMessages(roomId, owner);
      expect(seqs(stored)).toEqual(range(1, 100));
      // Each answer is exactly what history holds for that seq.
      const bySeq = new Map(stored.map((m) => [m.seq, m]));
      for (const res of answers) expect(bySeq.get(res.body.seq)).toEqual(res.body);
      expect(await lastSeq(roomId, owner)).toBe(100);
    }, 60_000);
  });

  describe("GET /api/rooms/<id>/messages/ (history)", () => {
    test("an empty room has an empty page", async () => {
      const { owner, roomId } = await ownRoom();
      const res = await history(roomId, owner);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ results: [], next_before: null, next_after: null });
    });

    test("by default answers the newest 50, oldest first, with next_before", async () => {
      const { owner, roomId, sent } = await roomWithMessages(60);
      const res = await history(roomId, owner);
      expect(res.status).toBe(200);
      expect(seqs(res.body.results)).toEqual(range(11, 60));
      expect(res.body.results.map((m: Message) => m.content)).toEqual(range(11, 60).map((i) => `m${i}`));
      expect(res.body.results).toEqual(sent.slice(10));
      expect(res.body.next_before).toBe(11);
      expect(res.body.next_after).toBeNull();

      const older = await history(roomId, owner, `before=${res.body.next_before}`);
      expect(seqs(older.body.results)).toEqual(range(1, 10));
      expect(older.body.next_before).toBeNull();
    }, 60_000);

    test("a short room fits on one page: next_before is null", async () => {
      const { owner, roomId } = await roomWithMessages(3);
      const res = await history(roomId, owner);
      expect(seqs(res.body.results)).toEqual([1, 2, 3]);
      expect(res.body.next_before).toBeNull();
    });

    test("before=<seq>&limit=<n> pages backwards, oldest first", async () => {
      const { owner, roomId } = await roomWithMessages(30);
      const page = await history(roomId, owner, "before=20&limit=5");
      expect(page.status).toBe(200);
      expect(seqs(page.body.results)).toEqual([15, 16, 17, 18, 19]);
      expect(page.body.next_before).toBe(15);
      const limited = await history(roomId, owner, "limit=4");
      expect(seqs(limited.body.results)).toEqual([27, 28, 29, 30]);
      expect(limited.body.next_before).toBe(27);
    }, 60_000);

    test("after=<seq> pages forwards with next_after while pages are full", async () => {
      const { owner, roomId } = await roomWithMessages(25);
      const first = await history(roomId, owner, "after=0&limit=10");
      expect(seqs(first.body.results)).toEqual(range(1, 10));
      expect(first.body.next_after).toBe(10);
      expect(first.body.next_before).toBeNull();
      const second = await history(roomId, owner, `after=${first.body.next_after}&limit=10`);
      expect(seqs(second.body.results)).toEqual(range(11, 20));
      const last = await history(roomId, owner, "after=20&limit=10");
      expect(seqs(last.body.results)).toEqual(range(21, 25));
      expect(last.body.next_after).toBeNull();
      const nothing = await history(roomId, owner, "after=25");
      expect(nothing.body).toEqual({ results: [], next_before: null, next_after: null });
    }, 60_000);

    test("after and before together give the messages between them", async () => {
      const { owner, roomId } = await roomWithMessages(20);
      const res = await history(roomId, owner, "after=5&before=9");
      expect(seqs(res.body.results)).toEqual([6, 7, 8]);
    });

    test("limit=100000 is capped to 100", async () => {
      const { owner, roomId } = await roomWithMessages(120);
      const newest = await history(roomId, owner, "limit=100000");
      expect(newest.status).toBe(200);
      expect(seqs(newest.body.results)).toEqual(range(21, 120));
      expect(newest.body.next_before).toBe(21);
      const forward = await history(roomId, owner, "after=0&limit=100000");
      expect(seqs(forward.body.results)).toEqual(range(1, 100));
      expect(forward.body.next_after).toBe(100);
      const backward = await history(roomId, owner, "before=121&limit=100000");
      expect(seqs(backward.body.results)).toEqual(range(21, 120));
    }, 90_000);

    test.each([
      ["limit=0", "limit"],
      ["limit=-5", "limit"],
      ["limit=abc", "limit"],
      ["limit=2.5", "limit"],
      ["before=abc", "before"],
      ["before=-1", "before"],
      ["after=-1", "after"],
      ["after=abc", "after"],
      ["after=1%20OR%201%3D1", "after"],
      ["before=", "before"],
      ["limit=1e3", "limit"],
      ["before=0x10", "before"],
      ["after=99999999999", "after"],
    ])("refuses ?%s with 400 VALIDATION_ERROR", async (query, field) => {
      const { owner, roomId } = await ownRoom();
      await send(roomId, owner, "present");
      expectFieldError(await history(roomId, owner, query), field);
    });

    test("a non-member's read is 403 NOT_A_MEMBER and shows nothing", async () => {
      const { owner, roomId } = await ownRoom();
      await send(roomId, owner, "members only");
      const outsider = await registerUser(api, "outsider");
      const res = await history(roomId, outsider);
      expectError(res, 403, "NOT_A_MEMBER");
      expect(JSON.stringify(res.body)).not.toContain("members only");
      expectError(await history(roomId, outsider, "after=0"), 403, "NOT_A_MEMBER");
    });

    test("an unknown room is 404 NOT_FOUND", async () => {
      const user = await registerUser(api, "user");
      expectError(await history(2147483000, user), 404, "NOT_FOUND");
    });
  });

  describe("PATCH /api/rooms/<id>/messages/<message_id>/ (edit)", () => {
    test("edits the caller's own message: content changed, edited_at set, seq and id kept", async () => {
      const { owner, roomId } = await ownRoom();
      const message = await send(roomId, owner, "typo");
      const res = await api.patch(messagesPath(roomId, message.id), { content: "fixed" }, owner.access);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: message.id, seq: message.seq, content: "fixed", is_deleted: false });
      expect(Number.isNaN(Date.parse(res.body.edited_at))).toBe(false);
      expect((await allMessages(roomId, owner))[0]).toEqual(res.body);
      expect(await lastSeq(roomId, owner)).toBe(1);
    });

    test("editing someone else's message is 403 FORBIDDEN and leaves it unchanged, even for the owner", async () => {
      const { owner, roomId } = await ownRoom();
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      const membersMessage = await send(roomId, member, "member's words");
      const ownersMessage = await send(roomId, owner, "owner's words");
      expectError(
        await api.patch(messagesPath(roomId, membersMessage.id), { content: "owned" }, owner.access),
        403,
        "FORBIDDEN",
      );
      expectError(
        await api.patch(messagesPath(roomId, ownersMessage.id), { content: "hacked" }, member.access),
        403,
        "FORBIDDEN",
      );
      expect(await allMessages(roomId, owner)).toEqual([membersMessage, ownersMessage]);
    });

    test("editing a deleted message is 400 MESSAGE_DELETED and it stays deleted", async () => {
      const { owner, roomId } = await ownRoom();
      const message = await send(roomId, owner, "gone soon");
      expect((await api.delete(messagesPath(roomId, message.id), owner.access)).status).toBe(200);
      const res = await api.patch(messagesPath(roomId, message.id), { content: "back" }, owner.access);
      expectError(res, 400, "MESSAGE_DELETED");
      expect((await allMessages(roomId, owner))[0]).toMatchObject({ content: "", is_deleted: true, edited_at: null });
    });

    test.each(BAD_CONTENT)(
      "an edit to content that is %s is 400 VALIDATION_ERROR and keeps the message",
      async (_, content) => {
        const { owner, roomId } = await ownRoom();
        const message = await send(roomId, owner, "original");
        expectFieldError(await api.patch(messagesPath(roomId, message.id), { content }, owner.access), "content");
        expect(await allMessages(roomId, owner)).toEqual([message]);
      },
    );

    test("an edit without content is 400 VALIDATION_ERROR and keeps the message", async () => {
      const { owner, roomId } = await ownRoom();
      const message = await send(roomId, owner, "original");
      expectFieldError(await api.patch(messagesPath(roomId, message.id), {}, owner.access), "content");
      expect(await allMessages(roomId, owner)).toEqual([message]);
    });

    test("a message id of another room in the path is 404 NOT_FOUND and changes nothing", async () => {
      const { owner, roomId } = await ownRoom();
      const other = await createRoom(api, owner);
      const message = await send(roomId, owner, "stay");
      expectError(
        await api.patch(messagesPath(other, message.id), { content: "moved" }, owner.access),
        404,
        "NOT_FOUND",
      );
      expect(await allMessages(roomId, owner)).toEqual([message]);
    });

    test("an unknown message id is 404 NOT_FOUND; a malformed one is 400 VALIDATION_ERROR", async () => {
      const { owner, roomId } = await ownRoom();
      expectError(await api.patch(messagesPath(roomId, 2147483000), { content: "x" }, owner.access), 404, "NOT_FOUND");
      const res = await api.request("PATCH", `${messagesPath(roomId)}abc/`, { content: "x" }, owner.access);
      expectFieldError(res, "messageId");
    });

    test("a former member cannot edit their message: 403 NOT_A_MEMBER", async () => {
      const { owner, roomId } = await ownRoom();
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      const message = await send(roomId, member, "before leaving");
      expect((await api.post(`/api/rooms/${roomId}/leave/`, {}, member.access)).status).toBe(200);
      const res = await api.patch(messagesPath(roomId, message.id), { content: "after" }, member.access);
      expectError(res, 403, "NOT_A_MEMBER");
      expect((await allMessages(roomId, owner))[0].content).toBe("before leaving");
    });
  });

  describe("DELETE /api/rooms/<id>/messages/<message_id>/", () => {
    test("deletes the caller's own message: is_deleted true, content empty, seq kept", async () => {
      const { owner, roomId } = await ownRoom();
      const message = await send(roomId, owner, "secret");
      const res = await api.delete(messagesPath(roomId, message.id), owner.access);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: message.id, seq: 1, is_deleted: true, content: "" });
      const [stored] = await allMessages(roomId, owner);
      expect(stored).toMatchObject({ id: message.id, seq: 1, is_deleted: true, content: "" });
      expect(JSON.stringify(await history(roomId, owner))).not.toContain("secret");
    });

    test("deleting twice is harmless", async () => {
      const { owner, roomId } = await ownRoom();
      const message = await send(roomId, owner, "twice");
      await api.delete(messagesPath(roomId, message.id), owner.access);
      const again = await api.delete(messagesPath(roomId, message.id), owner.access);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: message.id, is_deleted: true, content: "" });
    });

    test("the room's owner may delete another member's message", async () => {
      const { owner, roomId } = await ownRoom();
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      const message = await send(roomId, member, "spam");
      const res = await api.delete(messagesPath(roomId, message.id), owner.access);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: message.id, is_deleted: true, sender: { id: member.id } });
      expect((await allMessages(roomId, member))[0].is_deleted).toBe(true);
    });

    test("a plain member deleting another's message is 403 FORBIDDEN and it stays", async () => {
      const { owner, roomId } = await ownRoom();
      const member = await registerUser(api, "member");
      await joined(roomId, member);
      const message = await send(roomId, owner, "keep me");
      expectError(await api.delete(messagesPath(roomId, message.id), member.access), 403, "FORBIDDEN");
      expect(await allMessages(roomId, owner)).toEqual([message]);
    });

    test("a non-member deleting is 403 NOT_A_MEMBER and it stays", async () => {
      const { owner, roomId } = await ownRoom();
      const outsider = await registerUser(api, "outsider");
      const message = await send(roomId, owner, "keep me");
      expectError(await api.delete(messagesPath(roomId, message.id), outsider.access), 403, "NOT_A_MEMBER");
      expect(await allMessages(roomId, owner)).toEqual([message]);
    });

    test("a message id of another room in the path is 404 NOT_FOUND and it stays", async () => {
      const { owner, roomId } = await ownRoom();
      const other = await createRoom(api, owner);
      const message = await send(roomId, owner, "stay");
      expectError(await api.delete(messagesPath(other, message.id), owner.access), 404, "NOT_FOUND");
      expect(await allMessages(roomId, owner)).toEqual([message]);
    });

    test("an unknown message id is 404 NOT_FOUND", async () => {
      const { owner, roomId } = await ownRoom();
      expectError(await api.delete(messagesPath(roomId, 2147483000), owner.access), 404, "NOT_FOUND");
    });
  });
}
