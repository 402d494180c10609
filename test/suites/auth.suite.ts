/**
 * Accounts and tokens over REST (DESIGN §4, §6): register, login, refresh rotation with reuse
 * detection, the profile, and every way a token can be wrong. Runs against any deployment shape.
 */
import type { TestApp } from "../helpers/app";
import { TEST_JWT_SECRET } from "../helpers/app";
import { client, expectError, registerUser, uniqueName } from "../helpers/http";
import type { Client, Reply, TestUser } from "../helpers/http";
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

const PASSWORD = "correct-horse-battery";

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
}

/** Neither the password, nor its hash, nor a password field anywhere in the answer. */
function expectNoPassword(res: Reply, password: string): void {
  const text = JSON.stringify(res.body);
  expect(text).not.toContain(password);
  expect(text).not.toContain("scrypt$");
  expect(keysOf(res.body).filter((key) => /password/i.test(key) && key !== "password2")).toEqual([]);
}

export function authSuite(start: () => Promise<TestApp>): void {
  let app: TestApp;
  let api: Client;

  beforeAll(async () => {
    app = await start();
    api = client(app.baseUrl);
  });
  afterAll(() => app?.stop());

  /** Posts a registration for a fresh name; `body` overrides or removes (undefined) fields. */
  function register(body: Record<string, unknown> = {}): Promise<Reply> {
    return api.post("/api/register/", { username: uniqueName(), password: PASSWORD, password2: PASSWORD, ...body });
  }

  function login(username: unknown, password: unknown): Promise<Reply> {
    return api.post("/api/token/", { username, password });
  }

  /** The account does not exist: nobody can log in with it and the name is still free. */
  async function expectNoAccount(username: string): Promise<void> {
    expectError(await login(username, PASSWORD), 401, "INVALID_CREDENTIALS");
    const again = await api.post("/api/register/", { username, password: PASSWORD });
    expect(again.status).toBe(201);
  }

  describe("POST /api/register/", () => {
    test("creates the account: 201 with {user:{id,username,email,first_name}, access, refresh, message}", async () => {
      const username = uniqueName("reg");
      const res = await api.post("/api/register/", {
        username,
        password: PASSWORD,
        password2: PASSWORD,
        email: `${username}@example.com`,
        first_name: "Ada",
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        user: { id: expect.any(Number), username, email: `${username}@example.com`, first_name: "Ada" },
        access: expect.any(String),
        refresh: expect.any(String),
        message: expect.any(String),
      });
      expectNoPassword(res, PASSWORD);
      expect(decodePayload(res.body.access)).toMatchObject({ token_type: "access", user_id: res.body.user.id });
      expect(decodePayload(res.body.refresh)).toMatchObject({ token_type: "refresh", user_id: res.body.user.id });

      const me = await api.get("/api/users/me/", res.body.access);
      expect(me.status).toBe(200);
      expect(me.body).toEqual(res.body.user);
    });

    test("password2, email and first_name are optional; email and first_name default to empty", async () => {
      const username = uniqueName();
      const res = await api.post("/api/register/", { username, password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.user).toEqual({ id: expect.any(Number), username, email: "", first_name: "" });
    });

    test("gives every account its own id", async () => {
      const a = await registerUser(api);
      const b = await registerUser(api);
      expect(a.id).not.toBe(b.id);
    });

    test.each([
      ["an empty body", {}, ["username", "password"]],
      ["no username", { password: PASSWORD }, ["username"]],
      ["no password", { username: "someone" }, ["password"]],
    ])("refuses %s with VALIDATION_ERROR naming the missing fields", async (_label, body, fields) => {
      const res = await api.post("/api/register/", body);
      expectError(res, 400, "VALIDATION_ERROR");
      for (const field of fields) expect(res.body.fields).toHaveProperty(field);
    });

    test.each([
      ["username is a number", { username: 123 }, "username"],
      ["username is null", { username: null }, "username"],
      ["username is an object", { username: { $gt: "" } }, "username"],
      ["password is an array", { password: [] }, "password"],
      ["password is a number", { password: 12345678 }, "password"],
      ["password is an object", { password: { length: 10 } }, "password"],
      ["email is a number", { email: 5 }, "email"],
      ["first_name is an array", { first_name: ["a"] }, "first_name"],
    ])(
      "refuses a wrong-typed field (%s) with VALIDATION_ERROR and creates nothing",
      async (_label, override, field) => {
        const username = uniqueName();
        const res = await register({ username, ...override });
        expectError(res, 400, "VALIDATION_ERROR");
        expect(res.body.fields).toHaveProperty(field);
        if (field !== "username") await expectNoAccount(username);
      },
    );

    test.each([
      ["a space", "john smith"],
      ["a leading space", " john"],
      ["a slash", "a/b"],
      ["angle brackets", "<script>"],
      ["a quote", "o'brien"],
      ["a NUL", "nul\u0000byte"],
      ["a trailing newline", "alice\n"],
      ["a semicolon", "x;DROP TABLE users"],
      ["nothing", ""],
      ["151 characters", "a".repeat(151)],
    ])("refuses a username with %s with VALIDATION_ERROR on username", async (_label, username) => {
      const res = await register({ username });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("username");
    });

    test("accepts the characters Django allows: letters, digits and @ . + - _", async () => {
      const username = `${uniqueName("ok")}.a+b-c@d`;
      const res = await register({ username });
      expect(res.status).toBe(201);
      expect(res.body.user.username).toBe(username);
    });

    test("refuses a taken username with USERNAME_TAKEN and keeps the first account intact", async () => {
      const first = await registerUser(api);
      const res = await api.post("/api/register/", {
        username: first.username,
        password: "another-password-1",
        email: "thief@example.com",
      });
      expectError(res, 400, "USERNAME_TAKEN");
      expectError(await login(first.username, "another-password-1"), 401, "INVALID_CREDENTIALS");
      expect((await login(first.username, first.password)).status).toBe(200);
      expect((await api.get("/api/users/me/", first.access)).body.email).toBe("");
    });

    test("concurrent registrations of one name: exactly one 201, the rest USERNAME_TAKEN", async () => {
      const username = uniqueName("race");
      const replies = await Promise.all(
        Array.from({ length: 6 }, (_, i) => api.post("/api/register/", { username, password: `${PASSWORD}-${i}` })),
      );
      const created = replies.filter((r) => r.status === 201);
      expect(created).toHaveLength(1);
      for (const r of replies.filter((reply) => reply.status !== 201)) expectError(r, 400, "USERNAME_TAKEN");
      // The one account that exists is the winner's.
      const winner = replies.indexOf(created[0]);
      expect((await login(username, `${PASSWORD}-${winner}`)).status).toBe(200);
    });

    test("refuses a password shorter than 8 characters with VALIDATION_ERROR on password", async () => {
      const username = uniqueName();
      const res = await register({ username, password: "1234567", password2: "1234567" });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("password");
      await expectNoAccount(username);
    });

    test("accepts a password of exactly 8 characters", async () => {
      const username = uniqueName();
      expect((await register({ username, password: "12345678", password2: "12345678" })).status).toBe(201);
      expect((await login(username, "12345678")).status).toBe(200);
    });

    test("refuses a password longer than 128 characters", async () => {
      const long = "p".repeat(129);
      const res = await register({ password: long, password2: long });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("password");
    });

    test("refuses password2 that does not match with VALIDATION_ERROR on password2, and creates nothing", async () => {
      const username = uniqueName();
      const res = await register({ username, password2: `${PASSWORD}x` });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("password2");
      expectNoPassword(res, PASSWORD);
      await expectNoAccount(username);
    });

    test.each([
      ["not-an-email"],
      ["a@b"],
      ["two words@example.com"],
      ["@example.com"],
      ["me@"],
      ["x".repeat(250) + "@e.com"],
    ])("refuses the email %j with VALIDATION_ERROR on email, and creates nothing", async (email) => {
      const username = uniqueName();
      const res = await register({ username, email });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("email");
      await expectNoAccount(username);
    });

    test("refuses a first_name longer than 150 characters", async () => {
      const res = await register({ first_name: "f".repeat(151) });
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("first_name");
    });
  });

  describe("POST /api/token/", () => {
    test("answers 200 {access, refresh} for the right password, and the access token works", async () => {
      const user = await registerUser(api);
      const res = await login(user.username, user.password);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access: expect.any(String), refresh: expect.any(String) });
      expectNoPassword(res, user.password);
      const me = await api.get("/api/users/me/", res.body.access);
      expect(me.body).toMatchObject({ id: user.id, username: user.username });
    });

    test("refuses a wrong password with 401 INVALID_CREDENTIALS, word for word what an unknown user gets", async () => {
      const user = await registerUser(api);
      const wrong = await login(user.username, `${user.password}!`);
      const unknown = await login(uniqueName("ghost"), user.password);
      expectError(wrong, 401, "INVALID_CREDENTIALS");
      expectError(unknown, 401, "INVALID_CREDENTIALS");
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.body).toEqual({ error: expect.any(String), code: "INVALID_CREDENTIALS" });
    });

    test("usernames are matched exactly (case matters)", async () => {
      const user = await registerUser(api);
      expectError(await login(user.username.toUpperCase(), user.password), 401, "INVALID_CREDENTIALS");
    });

    test.each([
      ["missing fields", {}],
      ["username is a number", { username: 1, password: PASSWORD }],
      ["password is an array", { username: "someone", password: [PASSWORD] }],
      ["username is an object", { username: { $ne: null }, password: PASSWORD }],
      ["an empty password", { username: "someone", password: "" }],
    ])("refuses %s with VALIDATION_ERROR", async (_label, body) => {
      expectError(await api.post("/api/token/", body), 400, "VALIDATION_ERROR");
    });
  });

  describe("POST /api/token/refresh/", () => {
    test("rotates: a new pair that works, different from the old one", async () => {
      const user = await registerUser(api);
      const res = await api.post("/api/token/refresh/", { refresh: user.refresh });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access: expect.any(String), refresh: expect.any(String) });
      expect(res.body.refresh).not.toBe(user.refresh);
      expect(res.body.access).not.toBe(user.access);
      expect((await api.get("/api/users/me/", res.body.access)).body.id).toBe(user.id);
      // and the new refresh token rotates in turn
      expect((await api.post("/api/token/refresh/", { refresh: res.body.refresh })).status).toBe(200);
    });

    test("reusing a rotated refresh token is refused and revokes the new one of the same family", async () => {
      const user = await registerUser(api);
      const rotated = await api.post("/api/token/refresh/", { refresh: user.refresh });
      expect(rotated.status).toBe(200);

      expectError(await api.post("/api/token/refresh/", { refresh: user.refresh }), 401, "UNAUTHORIZED");
      expectError(await api.post("/api/token/refresh/", { refresh: rotated.body.refresh }), 401, "UNAUTHORIZED");
    });

    test("reuse revokes only its own family: another login of the same user keeps working", async () => {
      const user = await registerUser(api);
      const other = await login(user.username, user.password);
      expect((await api.post("/api/token/refresh/", { refresh: user.refresh })).status).toBe(200);
      expect((await api.post("/api/token/refresh/", { refresh: user.refresh })).status).toBe(401);

      const fromOther = await api.post("/api/token/refresh/", { refresh: other.body.refresh });
      expect(fromOther.status).toBe(200);
    });

    test("two concurrent refreshes with one token: exactly one rotates, the other counts as reuse", async () => {
      const user = await registerUser(api);
      const replies = await Promise.all([
        api.post("/api/token/refresh/", { refresh: user.refresh }),
        api.post("/api/token/refresh/", { refresh: user.refresh }),
      ]);
      const ok = replies.filter((r) => r.status === 200);
      expect(ok).toHaveLength(1);
      expectError(
        replies.find((r) => r.status !== 200)!,
        401,
        "UNAUTHORIZED",
      );
      // The reuse revoked the family, including the pair the winner just got.
      expectError(await api.post("/api/token/refresh/", { refresh: ok[0].body.refresh }), 401, "UNAUTHORIZED");
    });

    test("refuses an access token in place of a refresh token, and does not rotate anything", async () => {
      const user = await registerUser(api);
      expectError(await api.post("/api/token/refresh/", { refresh: user.access }), 401, "UNAUTHORIZED");
      expect((await api.post("/api/token/refresh/", { refresh: user.refresh })).status).toBe(200);
    });

    test("refuses an expired refresh token with TOKEN_EXPIRED", async () => {
      const user = await registerUser(api);
      const claims = { ...decodePayload(user.refresh), iat: epoch(-7200), exp: epoch(-60) };
      expectError(await api.post("/api/token/refresh/", { refresh: signClaims(claims) }), 401, "TOKEN_EXPIRED");
    });

    test("refuses a well-signed refresh token the server never issued", async () => {
      const user = await registerUser(api);
      const forged = signClaims({ ...decodePayload(user.refresh), jti: "never-issued" });
      expectError(await api.post("/api/token/refresh/", { refresh: forged }), 401, "UNAUTHORIZED");
    });

    test.each([
      ["garbage", "not-a-token"],
      ["a token signed with another secret", "OTHER"],
    ])("refuses %s with 401", async (_label, value) => {
      const user = await registerUser(api);
      const refresh =
        value === "OTHER" ? signClaims(decodePayload(user.refresh), "another-secret-long-enough-0123456789") : value;
      expectError(await api.post("/api/token/refresh/", { refresh }), 401, "UNAUTHORIZED");
    });

    test.each([
      ["no refresh field", {}],
      ["an empty string", { refresh: "" }],
      ["a number", { refresh: 42 }],
      ["an array", { refresh: ["a.b.c"] }],
    ])("refuses %s with VALIDATION_ERROR", async (_label, body) => {
      expectError(await api.post("/api/token/refresh/", body), 400, "VALIDATION_ERROR");
    });
  });

  describe("the access token on authenticated routes", () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await registerUser(api, "tok");
    });

    function me(token: string): Promise<Reply> {
      return api.get("/api/users/me/", token);
    }

    function meWithHeader(authorization: string): Promise<Reply> {
      return fetch(`${app.baseUrl}/api/users/me/`, { headers: { authorization } }).then(async (res) => ({
        status: res.status,
        body: await res.json(),
        headers: res.headers,
      }));
    }

    test("a valid token is accepted (control for the refusals below)", async () => {
      expect((await me(user.access)).status).toBe(200);
      expect((await meWithHeader(`Bearer ${user.access}`)).status).toBe(200);
      const hand = signClaims(accessClaims(user, { exp: epoch(600) }));
      expect((await me(hand)).body).toMatchObject({ id: user.id, username: user.username });
    });

    test("a refresh token used as a Bearer token is refused with 401", async () => {
      expectError(await me(user.refresh), 401, "UNAUTHORIZED");
    });

    test("an expired access token is refused with 401 TOKEN_EXPIRED", async () => {
      expectError(await me(expiredAccessToken(user)), 401, "TOKEN_EXPIRED");
    });

    test("a token with a character of its payload changed is refused with 401", async () => {
      expectError(await me(flipPayloadChar(user.access)), 401, "UNAUTHORIZED");
    });

    test("a token whose payload names another user, signature kept, is refused with 401", async () => {
      const other = await registerUser(api);
      const forged = withPayload(user.access, { ...decodePayload(user.access), user_id: other.id });
      expectError(await me(forged), 401, "UNAUTHORIZED");
    });

    test("an alg:none token is refused with 401", async () => {
      expectError(await me(unsignedToken(accessClaims(user, { exp: epoch(600) }))), 401, "UNAUTHORIZED");
    });

    test("a token signed with the wrong secret is refused with 401", async () => {
      const token = signClaims(accessClaims(user, { exp: epoch(600) }), `${TEST_JWT_SECRET}-but-not-quite`);
      expectError(await me(token), 401, "UNAUTHORIZED");
    });

    test("a token without exp is refused with 401", async () => {
      expectError(await me(signClaims(accessClaims(user))), 401, "UNAUTHORIZED");
    });

    test.each([
      ["the bare token", (t: string) => t],
      ["Token <token> (the DRF scheme)", (t: string) => `Token ${t}`],
      ["JWT <token>", (t: string) => `JWT ${t}`],
      ["Basic credentials", () => `Basic ${Buffer.from("user:pass").toString("base64")}`],
      ["Bearer with no token", () => "Bearer "],
      ["Bearer with two tokens", (t: string) => `Bearer ${t} ${t}`],
      ["Bearer<token> without a space", (t: string) => `Bearer${t}`],
    ])("an Authorization header with %s is refused with 401", async (_label, header) => {
      expectError(await meWithHeader(header(user.access)), 401, "UNAUTHORIZED");
    });
  });

  describe("GET and PUT /api/users/me/", () => {
    test("GET returns the caller's profile and nothing more", async () => {
      const user = await registerUser(api);
      const res = await api.get("/api/users/me/", user.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: user.id, username: user.username, email: "", first_name: "" });
    });

    test("PUT updates email and first_name, ignores unknown fields and keeps the username", async () => {
      const user = await registerUser(api);
      const res = await api.put(
        "/api/users/me/",
        {
          email: "new@example.com",
          first_name: "Grace",
          username: "renamed_" + user.username,
          id: user.id + 1000,
          password: "hijacked-password",
          is_staff: true,
        },
        user.access,
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: user.id, username: user.username, email: "new@example.com", first_name: "Grace" });
      expectNoPassword(res, "hijacked-password");

      expect((await api.get("/api/users/me/", user.access)).body).toEqual(res.body);
      expect((await login(user.username, user.password)).status).toBe(200);
      expectError(await login(user.username, "hijacked-password"), 401, "INVALID_CREDENTIALS");
      expectError(await login("renamed_" + user.username, user.password), 401, "INVALID_CREDENTIALS");
    });

    test("PUT changes only the fields it is given", async () => {
      const user = await registerUser(api);
      await api.put("/api/users/me/", { email: "keep@example.com", first_name: "Keep" }, user.access);
      const res = await api.put("/api/users/me/", { first_name: "Changed" }, user.access);
      expect(res.body).toMatchObject({ email: "keep@example.com", first_name: "Changed" });
    });

    test("PATCH works like PUT", async () => {
      const user = await registerUser(api);
      const res = await api.patch("/api/users/me/", { first_name: "Patched" }, user.access);
      expect(res.status).toBe(200);
      expect((await api.get("/api/users/me/", user.access)).body.first_name).toBe("Patched");
    });

    test("PUT with a bad email is a 400 VALIDATION_ERROR and changes nothing", async () => {
      const user = await registerUser(api);
      await api.put("/api/users/me/", { email: "old@example.com", first_name: "Old" }, user.access);
      const res = await api.put("/api/users/me/", { email: "not an email", first_name: "New" }, user.access);
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty("email");
      expect((await api.get("/api/users/me/", user.access)).body).toMatchObject({
        email: "old@example.com",
        first_name: "Old",
      });
    });

    test.each([
      ["email is a number", { email: 1 }, "email"],
      ["first_name is an object", { first_name: { a: 1 } }, "first_name"],
      ["first_name is too long", { first_name: "f".repeat(151) }, "first_name"],
    ])("PUT where %s is a 400 VALIDATION_ERROR", async (_label, body, field) => {
      const user = await registerUser(api);
      const res = await api.put("/api/users/me/", body, user.access);
      expectError(res, 400, "VALIDATION_ERROR");
      expect(res.body.fields).toHaveProperty(field);
    });

    test("an empty email clears it", async () => {
      const user = await registerUser(api);
      await api.put("/api/users/me/", { email: "x@example.com" }, user.access);
      const res = await api.put("/api/users/me/", { email: "" }, user.access);
      expect(res.status).toBe(200);
      expect(res.body.email).toBe("");
    });

    test("each user sees and changes only their own profile", async () => {
      const a = await registerUser(api);
      const b = await registerUser(api);
      await api.put("/api/users/me/", { first_name: "Only A" }, a.access);
      expect((await api.get("/api/users/me/", b.access)).body).toMatchObject({ id: b.id, first_name: "" });
      expect((await api.get("/api/users/me/", a.access)).body).toMatchObject({ id: a.id, first_name: "Only A" });
    });

    test("without a token: 401 for GET and PUT", async () => {
      expectError(await api.get("/api/users/me/"), 401, "UNAUTHORIZED");
      expectError(await api.put("/api/users/me/", { first_name: "x" }), 401, "UNAUTHORIZED");
    });
  });
}
