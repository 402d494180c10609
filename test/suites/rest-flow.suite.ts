/**
 * The REST walk-through of DESIGN §4, run against any deployment shape (embedded or distributed).
 */
import type { TestApp } from "../helpers/app";
import { client, createRoom, registerUser } from "../helpers/http";
import type { Client } from "../helpers/http";

export function restFlowSuite(start: () => Promise<TestApp>): void {
  let app: TestApp;
  let api: Client;

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
  });
  afterAll(() => app?.stop());

  test("register → token → create room → send → history", async () => {
    const alice = await registerUser(api, "alice");
    const login = await api.post("/api/token/", { username: alice.username, password: alice.password });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ access: expect.any(String), refresh: expect.any(String) });

    const roomId = await createRoom(api, alice, "general");
    const sent = await api.post(`/api/rooms/${roomId}/messages/`, { content: "hello" }, login.body.access);
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({
      room_id: roomId,
      seq: 1,
      content: "hello",
      sender: { id: alice.id, username: alice.username },
    });

    const history = await api.get(`/api/rooms/${roomId}/messages/`, alice.access);
    expect(history.status).toBe(200);
    expect(history.body.results.map((m: { content: string }) => m.content)).toEqual(["hello"]);
  });

  test("routes answer with and without a trailing slash", async () => {
    const bob = await registerUser(api, "bob");
    expect((await api.get("/api/users/me/", bob.access)).status).toBe(200);
    expect((await api.get("/api/users/me", bob.access)).body).toMatchObject({ id: bob.id, username: bob.username });
  });

  test("failed logins of one account are throttled with 429 RATE_LIMITED; other accounts are not", async () => {
    const victim = await registerUser(api, "victim");
    const bystander = await registerUser(api, "bystander");
    for (let i = 0; i < 10; i++) {
      const wrong = await api.post("/api/token/", { username: victim.username, password: "wrong-password" });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe("INVALID_CREDENTIALS");
    }
    const throttled = await api.post("/api/token/", { username: victim.username, password: victim.password });
    expect(throttled.status).toBe(429);
    expect(throttled.body.code).toBe("RATE_LIMITED");
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    const other = await api.post("/api/token/", { username: bystander.username, password: bystander.password });
    expect(other.status).toBe(200);
  });

  test("a successful login clears the account's failures", async () => {
    const user = await registerUser(api, "forgetful");
    for (let i = 0; i < 9; i++) await api.post("/api/token/", { username: user.username, password: "wrong-password" });
    expect((await api.post("/api/token/", { username: user.username, password: user.password })).status).toBe(200);
    for (let i = 0; i < 9; i++) await api.post("/api/token/", { username: user.username, password: "wrong-password" });
    expect((await api.post("/api/token/", { username: user.username, password: user.password })).status).toBe(200);
  });

  test("health: live and ready", async () => {
    expect((await api.get("/health/live")).status).toBe(200);
    const ready = await api.get("/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
  });
}
