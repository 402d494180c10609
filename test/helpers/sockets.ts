/** Socket.IO and plain-WebSocket clients for realtime tests, with waits that time out instead of hanging. */
import { io } from "socket.io-client";
import type { Socket } from "socket.io-client";
import WebSocket from "ws";

export type ChatSocket = Socket;

/** Connects with `auth: { token }` and resolves once the server says the socket's rooms are joined. */
export async function connectSocket(baseUrl: string, token: string, timeoutMs = 5000): Promise<ChatSocket> {
  const socket = io(baseUrl, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  try {
    await waitForEvent(socket, "session", timeoutMs);
  } catch (err) {
    socket.close();
    throw err;
  }
  return socket;
}

/** Resolves with the `connect_error` a refused handshake gets. */
export function connectError(
  baseUrl: string,
  auth: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<Error & { data?: any }> {
  const socket = io(baseUrl, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no connect_error"));
    }, timeoutMs);
    socket.on("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      resolve(err);
    });
    socket.on("session", () => {
      clearTimeout(timer);
      socket.close();
      reject(new Error("connected, expected a refusal"));
    });
  });
}

export function waitForEvent<T = any>(
  socket: ChatSocket,
  event: string,
  timeoutMs = 5000,
  filter?: (payload: T) => boolean,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (filter && !filter(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

export interface CallError {
  name: string;
  message: string;
  code: number;
  type: string;
  data?: unknown;
}

/** `socket.emit("call", name, params, ack)`; resolves `{ err, res }` so tests can assert refusals. */
export function call<T = any>(
  socket: ChatSocket,
  name: string,
  params: unknown,
  timeoutMs = 5000,
): Promise<{ err: CallError | null; res: T }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${name}`)), timeoutMs);
    socket.emit("call", name, params, (err: CallError | null, res: T) => {
      clearTimeout(timer);
      resolve({ err, res });
    });
  });
}

/** Collects every payload of one event, in arrival order. */
export function collect<T = any>(socket: ChatSocket, event: string): T[] {
  const items: T[] = [];
  socket.on(event, (payload: T) => items.push(payload));
  return items;
}

/** Polls `predicate` until it holds (no bare sleeps in tests). */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A plain-WebSocket client of the original protocol that records frames and its close code. */
export interface PlainClient {
  ws: WebSocket;
  frames: any[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  next(filter: (frame: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

export function plainWs(baseUrl: string, path: string): PlainClient {
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + path);
  const frames: any[] = [];
  const waiters: { filter: (frame: any) => boolean; resolve: (frame: any) => void }[] = [];
  ws.on("message", (data) => {
    const frame = JSON.parse((data as Buffer).toString("utf8"));
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.filter(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on("error", () => undefined);
  });
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next(filter, timeoutMs = 5000) {
      const seen = frames.find(filter);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error("timed out waiting for a frame"));
        }, timeoutMs);
        const waiter = {
          filter,
          resolve: (frame: any) => {
            clearTimeout(timer);
            resolve(frame);
          },
        };
        waiters.push(waiter);
      });
    },
    close: () => ws.close(),
  };
}

export function wsOpen(client: PlainClient, timeoutMs = 5000): Promise<void> {
  if (client.ws.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("websocket did not open")), timeoutMs);
    client.ws.once("open", () => {
      clearTimeout(timer);
      resolve();
    });
    client.ws.once("close", () => {
      clearTimeout(timer);
      reject(new Error("websocket closed before opening"));
    });
  });
}
