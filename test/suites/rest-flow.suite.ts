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

  test("health: live and ready", async () => {
    expect((await api.get("/health/live")).status).toBe(200);
    const ready = await api.get("/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
  });
}
