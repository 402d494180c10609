/**
 * The cache suite on Redis, and what happens without Redis (DESIGN §7: "Redis down: sending and
 * history keep working from PostgreSQL").
 */
import type { TestApp } from "../helpers/app";
import { startDistributed } from "../helpers/app";
import { client, createRoom, registerUser } from "../helpers/http";
import type { Client } from "../helpers/http";
import { describeWithServers } from "../helpers/servers";
import { cacheSuite } from "../suites/cache.suite";

/** Nothing listens here: the cacher, presence, rate limits and the Socket.IO adapter all fail to connect. */
const DEAD_REDIS_URL = "redis://127.0.0.1:6399";

describeWithServers(
  "fresh reads after writes, distributed (Redis cache, PostgreSQL, NATS)",
  ["postgres", "redis", "nats"],
  () => {
    cacheSuite(() => startDistributed());
  },
);

describeWithServers("with Redis down (PostgreSQL, NATS; Redis unreachable)", ["postgres", "nats"], () => {
  let app: TestApp;
  let api: Client;

  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(String(reason));

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    app = await startDistributed({ REDIS_URL: DEAD_REDIS_URL });
    api = client(app.baseUrl);
  }, 30_000);
  afterAll(async () => {
    await app?.stop();
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
  });

  test("registering, creating rooms, joining, sending, editing and history work from the database", async () => {
    const [owner, member] = await Promise.all([registerUser(api, "owner"), registerUser(api, "member")]);
    const roomId = await createRoom(api, owner);
    expect((await api.post(`/api/rooms/${roomId}/join/`, {}, member.access)).status).toBe(200);

    const sent = await api.post(
      `/api/rooms/${roomId}/messages/`,
      { content: "no cache", client_msg_id: "r-1" },
      owner.access,
    );
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ seq: 1, content: "no cache" });
    const retry = await api.post(
      `/api/rooms/${roomId}/messages/`,
      { content: "no cache", client_msg_id: "r-1" },
      owner.access,
    );
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(sent.body.id);
    expect((await api.post(`/api/rooms/${roomId}/messages/`, { content: "second" }, member.access)).body.seq).toBe(2);

    const history = await api.get(`/api/rooms/${roomId}/messages/`, member.access);
    expect(history.status).toBe(200);
    expect(history.body.results.map((m: { content: string }) => m.content)).toEqual(["no cache", "second"]);

    const edited = await api.patch(
      `/api/rooms/${roomId}/messages/${sent.body.id}/`,
      { content: "edited" },
      owner.access,
    );
    expect(edited.status).toBe(200);
    const after = await api.get(`/api/rooms/${roomId}/messages/`, owner.access);
    expect(after.body.results.map((m: { content: string }) => m.content)).toEqual(["edited", "second"]);

    const detail = await api.get(`/api/rooms/${roomId}/`, owner.access);
    expect(detail.body).toMatchObject({ member_count: 2, last_seq: 2 });
    const list = await api.get("/api/rooms/?mine=1", member.access);
    expect(list.status).toBe(200);
    expect(list.body.results.map((room: { id: number }) => room.id)).toEqual([roomId]);

    // Membership checks still hold without the cache.
    expect((await api.post(`/api/rooms/${roomId}/leave/`, {}, member.access)).status).toBe(200);
    const refused = await api.get(`/api/rooms/${roomId}/messages/`, member.access);
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: "NOT_A_MEMBER" });
  });

  test("logging in works", async () => {
    const user = await registerUser(api, "login");
    const res = await api.post("/api/token/", { username: user.username, password: user.password });
    expect(res.status).toBe(200);
  });

  test("keeps serving after Redis has been unreachable longer than a client's retry budget", async () => {
    const owner = await registerUser(api, "patient");
    const roomId = await createRoom(api, owner);
    // ioredis gives up on a queued command after 20 reconnect attempts, about 10 s with its default
    // back-off; a command nobody handles then would end the process.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const sent = await api.post(`/api/rooms/${roomId}/messages/`, { content: "still here" }, owner.access);
    expect(sent.status).toBe(201);
    const history = await api.get(`/api/rooms/${roomId}/messages/`, owner.access);
    expect(history.body.results.map((m: { content: string }) => m.content)).toEqual(["still here"]);
    expect(unhandled).toEqual([]);
  }, 40_000);

  test("/health/ready answers 503 with checks.redis 'down'; /health/live stays 200", async () => {
    const ready = await api.get("/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe("not_ready");
    expect(ready.body.checks.redis).toBe("down");
    expect(ready.body.checks.rooms).toBe("ok");
    expect(ready.body.checks.messages).toBe("ok");
    expect((await api.get("/health/live")).status).toBe(200);
  });
});
