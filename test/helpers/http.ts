/** A small JSON client over fetch for REST tests. */
import { randomBytes } from "node:crypto";

export interface Reply<T = any> {
  status: number;
  // Tests read arbitrary JSON answers; `any` keeps assertions short.
  body: T;
  headers: Headers;
}

export interface Client {
  request<T = any>(method: string, path: string, body?: unknown, token?: string, rawBody?: string): Promise<Reply<T>>;
  get<T = any>(path: string, token?: string): Promise<Reply<T>>;
  post<T = any>(path: string, body?: unknown, token?: string): Promise<Reply<T>>;
  patch<T = any>(path: string, body?: unknown, token?: string): Promise<Reply<T>>;
  put<T = any>(path: string, body?: unknown, token?: string): Promise<Reply<T>>;
  delete<T = any>(path: string, token?: string): Promise<Reply<T>>;
}

export function client(baseUrl: string): Client {
  async function request(method: string, path: string, body?: unknown, token?: string, rawBody?: string) {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  }
  return {
    request,
    get: (path, token) => request("GET", path, undefined, token),
    post: (path, body, token) => request("POST", path, body ?? {}, token),
    patch: (path, body, token) => request("PATCH", path, body ?? {}, token),
    put: (path, body, token) => request("PUT", path, body ?? {}, token),
    delete: (path, token) => request("DELETE", path, undefined, token),
  };
}

export interface TestUser {
  id: number;
  username: string;
  password: string;
  access: string;
  refresh: string;
}

/** A fresh username, unique across test runs sharing one database. */
export function uniqueName(prefix = "user"): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

export async function registerUser(api: Client, prefix = "user"): Promise<TestUser> {
  const username = uniqueName(prefix);
  const password = "correct-horse-battery";
  const res = await api.post("/api/register/", { username, password, password2: password });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, password, access: res.body.access, refresh: res.body.refresh };
}

export async function createRoom(api: Client, owner: TestUser, name = uniqueName("room")): Promise<number> {
  const res = await api.post("/api/rooms/", { name }, owner.access);
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** A 4xx with its machine-readable code, in the `{error, code, fields?}` JSON shape and nothing else. */
export function expectError(res: Reply, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expectErrorShape(res);
}

export function expectErrorShape(res: Reply): void {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(typeof res.body).toBe("object");
  expect(typeof res.body.error).toBe("string");
  expect(res.body.error.length).toBeGreaterThan(0);
  expect(res.body.code).toMatch(/^[A-Z][A-Z_]+$/);
  expect(Object.keys(res.body).filter((key) => !["error", "code", "fields"].includes(key))).toEqual([]);
}

/** A 400 VALIDATION_ERROR that names `field`. */
export function expectFieldError(res: Reply, field: string): void {
  expectError(res, 400, "VALIDATION_ERROR");
  expect(Object.keys(res.body.fields ?? {})).toContain(field);
}
