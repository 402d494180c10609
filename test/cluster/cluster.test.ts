/**
 * The realtime cluster: three node processes (`node dist/server.js`) over the real NATS, Redis and
 * PostgreSQL: gateway A (api,io), gateway B (api,io) and a services node (auth,rooms,messages,presence).
 * Clients on A talk to clients on B; then B is killed with SIGKILL and its users must drop out of presence,
 * and clients catch up with messages.sync.
 *
 * The tests share the cluster and run in order: the ones that need gateway B come before the one that
 * kills it. Every test makes its own users and rooms.
 */
import { performance } from "node:perf_hooks";
import { freePort, percentile, startCluster } from "../helpers/cluster";
import type { Cluster, NodeProcess } from "../helpers/cluster";
import { client, createRoom, registerUser } from "../helpers/http";
import type { Client, TestUser } from "../helpers/http";
import { describeWithServers } from "../helpers/servers";
import { call, collect, connectSocket, eventually, plainWs, waitForEvent, wsOpen } from "../helpers/sockets";
import type { ChatSocket, PlainClient } from "../helpers/sockets";
import type { MessageDTO as Message } from "../../types";

jest.setTimeout(60_000);

interface Presence {
  user_id: number;
  username: string;
  is_online: boolean;
}

/** What one socket receives of one room, in arrival order. */
function roomMessages(socket: ChatSocket, roomId: number): Message[] {
  const seen: Message[] = [];
  socket.on("message", (m: Message) => {
    if (m.room_id === roomId) seen.push(m);
  });
  return seen;
}

const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithServers(
  "Realtime cluster: two gateways and a services node as separate processes over NATS, Redis and PostgreSQL",
  ["postgres", "redis", "nats"],
  () => {
    let cluster: Cluster | undefined;
    let gatewayA: NodeProcess;
    let gatewayB: NodeProcess;
    let A: string;
    let B: string;
    let apiA: Client;
    let apiB: Client;
    const sockets: ChatSocket[] = [];
    const plainClients: PlainClient[] = [];
    const declared: string[] = [];
    /** The first test's clients, connected right after start-up and kept until the end. */
    let early: { socketA: ChatSocket; socketB: ChatSocket; presenceA: Presence[] } | undefined;
    const passed = new Set<string>();

    /** A test whose failure (or time-out) prints every node's output in afterAll. */
    function clusterTest(name: string, body: () => Promise<void>, timeoutMs?: number): void {
      declared.push(name);
      test(
        name,
        async () => {
          await body();
          passed.add(name);
        },
        timeoutMs,
      );
    }

    function firstClients(): NonNullable<typeof early> {
      if (!early) throw new Error("the first test did not get as far as connecting its clients");
      return early;
    }

    async function connect(baseUrl: string, user: TestUser): Promise<ChatSocket> {
      const socket = await connectSocket(baseUrl, user.access, 10_000);
      sockets.push(socket);
      return socket;
    }

    async function join(api: Client, user: TestUser, roomId: number): Promise<void> {
      const res = await api.post(`/api/rooms/${roomId}/join/`, {}, user.access);
      if (res.status !== 200) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
    }

    async function send(socket: ChatSocket, roomId: number, content: string, clientMsgId: string): Promise<Message> {
      const { err, res } = await call<Message>(socket, "messages.send", { roomId, content, clientMsgId }, 10_000);
      if (err) throw new Error(`messages.send refused: ${JSON.stringify(err)}`);
      return res;
    }

    async function onlineIds(api: Client, user: TestUser): Promise<number[]> {
      const res = await api.get("/api/users/online/", user.access);
      if (res.status !== 200) throw new Error(`online failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body.users as { id: number }[]).map((u) => u.id);
    }

    beforeAll(async () => {
      const portA = await freePort();
      let portB = await freePort();
      while (portB === portA) portB = await freePort();
      cluster = await startCluster([
        { name: "gateway-a", services: ["api", "io"], port: portA },
        { name: "gateway-b", services: ["api", "io"], port: portB },
        {
          name: "services",
          services: ["auth", "rooms", "messages", "presence"],
          // The timing run sends faster than the default per-user limit.
          env: { MSG_RATE_PER_SEC: "1000", MSG_BURST: "1000" },
        },
      ]);
      gatewayA = cluster.node("gateway-a");
      gatewayB = cluster.node("gateway-b");
      A = gatewayA.baseUrl;
      B = gatewayB.baseUrl;
      apiA = client(A);
      apiB = client(B);
    }, 60_000);

    afterAll(async () => {
      for (const socket of sockets) socket.close();
      for (const plain of plainClients) plain.close();
      const failed = declared.filter((name) => !passed.has(name));
      if (cluster && failed.length > 0) {
        // eslint-disable-next-line no-console
        console.log(`cluster tests failed: ${failed.join("; ")}\nnode output:\n${cluster.report()}`);
      }
      await cluster?.stop();
    }, 30_000);

    clusterTest("a client on A and a client on B chat both ways; a plain-WS client on B sees it all", async () => {
      const [alice, bob] = await Promise.all([registerUser(apiA, "alice"), registerUser(apiB, "bob")]);
      const roomId = await createRoom(apiA, alice);
      await join(apiB, bob, roomId);

      const onA = await connect(A, alice);
      const onB = await connect(B, bob);
      early = { socketA: onA, socketB: onB, presenceA: collect<Presence>(onA, "presence") };
      const seenA = roomMessages(onA, roomId);
      const seenB = roomMessages(onB, roomId);
      const plain = plainWs(B, `/ws/chat/${roomId}/?token=${encodeURIComponent(bob.access)}`);
      plainClients.push(plain);
      await wsOpen(plain, 10_000);
      // Sent once the plain client is registered on B for the room.
      await plain.next((frame) => frame.type === "online_status", 10_000);
      const plainSeen = () => plain.frames.filter((frame) => frame.type === "message");

      const perSide = 10;
      const sendAll = async (socket: ChatSocket, who: string) => {
        const acks: Message[] = [];
        for (let i = 0; i < perSide; i++) acks.push(await send(socket, roomId, `${who} ${i}`, `${who}-${i}`));
        return acks;
      };
      const [fromA, fromB] = await Promise.all([sendAll(onA, "a"), sendAll(onB, "b")]);
      // A last message: once it is in, everything before it (and any duplicate of it) had its chance.
      const last = await send(onA, roomId, "the end", "a-end");
      const total = 2 * perSide + 1;
      expect(last.seq).toBe(total);
      expect(seqs([...fromA, ...fromB, last]).sort((x, y) => x - y)).toEqual(range(1, total));

      await eventually(
        () => seenA.some((m) => m.seq === total) && seenB.some((m) => m.seq === total),
        10_000,
        "the last message on both sockets",
      );
      await eventually(() => plainSeen().some((f) => f.seq === total), 10_000, "the last message on plain WS");

      // Each socket saw every message exactly once, in seq order, the sender's own ones included.
      expect(seqs(seenA)).toEqual(range(1, total));
      expect(seqs(seenB)).toEqual(range(1, total));
      expect(plainSeen().map((f) => f.seq)).toEqual(range(1, total));
      const bySeq = new Map([...fromA, ...fromB, last].map((m) => [m.seq, m]));
      for (const seen of [seenA, seenB]) {
        for (const m of seen) {
          expect(m.content).toBe(bySeq.get(m.seq)!.content);
          expect(m.client_msg_id).toBe(bySeq.get(m.seq)!.client_msg_id);
        }
      }
      for (const frame of plainSeen()) {
        const sent = bySeq.get(frame.seq)!;
        expect(frame.message).toBe(sent.content);
        expect(frame.user).toBe(sent.sender.username);
      }
    });

    clusterTest("a user connecting on B is seen online from A and from B", async () => {
      const [watcher, third] = await Promise.all([registerUser(apiA, "watcher"), registerUser(apiB, "third")]);
      const roomId = await createRoom(apiA, watcher);
      await join(apiB, third, roomId);
      const onA = await connect(A, watcher);
      const presence = collect<Presence>(onA, "presence");

      const cameOnline = waitForEvent<Presence>(onA, "presence", 10_000, (p) => p.user_id === third.id);
      await connect(B, third);
      expect(await cameOnline).toEqual({ user_id: third.id, username: third.username, is_online: true });

      expect(await onlineIds(apiA, watcher)).toContain(third.id);
      expect(await onlineIds(apiB, watcher)).toContain(third.id);
      expect(await onlineIds(apiA, third)).toContain(watcher.id);
      // Told once, although both gateways heard the event.
      expect(presence.filter((p) => p.user_id === third.id)).toHaveLength(1);
    });

    clusterTest("a user on A who joins a room through B gets its messages on A without reconnecting", async () => {
      const [owner, joiner] = await Promise.all([registerUser(apiB, "owner"), registerUser(apiA, "joiner")]);
      const roomId = await createRoom(apiB, owner);
      const ownerOnB = await connect(B, owner);
      const joinerOnA = await connect(A, joiner);
      const seen = roomMessages(joinerOnA, roomId);
      const joined = waitForEvent(joinerOnA, "room.member_joined", 10_000, (e) => e.room_id === roomId);

      await join(apiB, joiner, roomId);
      // Sent right after the join's answer: the join reaches A's sockets before this message does.
      const message = await send(ownerOnB, roomId, "welcome", "welcome-1");
      expect(await joined).toMatchObject({ room_id: roomId, user: { id: joiner.id } });
      await eventually(() => seen.length > 0, 10_000, "the message on the joiner's socket on A");
      expect(seen.map((m) => [m.seq, m.content])).toEqual([[message.seq, "welcome"]]);

      // The socket call rooms.join on B works the same for a socket on A.
      const roomId2 = await createRoom(apiB, owner);
      const joinerOnB = await connect(B, joiner);
      const seen2 = roomMessages(joinerOnA, roomId2);
      const { err } = await call(joinerOnB, "rooms.join", { roomId: roomId2 }, 10_000);
      expect(err).toBeNull();
      const second = await send(ownerOnB, roomId2, "welcome again", "welcome-2");
      await eventually(() => seen2.length > 0, 10_000, "the message of the second room on A");
      expect(seen2.map((m) => [m.seq, m.content])).toEqual([[second.seq, "welcome again"]]);
      joinerOnB.close();
    });

    clusterTest("delivery latency A→B over 200 messages (printed, not asserted)", async () => {
      const [sender, receiver] = await Promise.all([registerUser(apiA, "sender"), registerUser(apiB, "receiver")]);
      const roomId = await createRoom(apiA, sender);
      await join(apiB, receiver, roomId);
      const onA = await connect(A, sender);
      const onB = await connect(B, receiver);

      // 40 a second: a pace a busy test machine sustains. Much faster, and the sends of the one room (which
      // are serialised) queue up, so what gets measured is the queue.
      const count = 200;
      const intervalMs = 25;
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const received: Message[] = [];
      onB.on("message", (m: Message) => {
        if (m.room_id !== roomId) return;
        const at = performance.now();
        received.push(m);
        const start = sentAt.get(m.client_msg_id ?? "");
        if (start !== undefined) latencies.push(at - start);
      });

      const acks: Promise<Message>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const wait = t0 + i * intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        const id = `lat-${i}`;
        sentAt.set(id, performance.now());
        acks.push(send(onA, roomId, `latency ${i}`, id));
      }
      const stored = await Promise.all(acks);
      expect(seqs(stored).sort((x, y) => x - y)).toEqual(range(1, count));
      await eventually(() => received.length >= count, 15_000, `${count} messages on B`);

      expect(seqs(received)).toEqual(range(1, count));
      expect(latencies).toHaveLength(count);
      const p50 = percentile(latencies, 50).toFixed(1);
      const p99 = percentile(latencies, 99).toFixed(1);
      const max = Math.max(...latencies).toFixed(1);
      // eslint-disable-next-line no-console
      console.log(
        `cluster delivery A→B: n=${count} p50=${p50}ms p99=${p99}ms max=${max}ms (one every ${intervalMs}ms)`,
      );
    });

    clusterTest("a gateway that stops (SIGTERM) takes its users offline at once and no other client", async () => {
      const gatewayC = await cluster!.add({ name: "gateway-c", services: ["api", "io"], port: await freePort() });
      const [watcher, leaving] = await Promise.all([registerUser(apiA, "watcher"), registerUser(apiA, "leaving")]);
      const roomId = await createRoom(apiA, watcher);
      await join(apiA, leaving, roomId);
      const watcherOnA = await connect(A, watcher);
      const watcherOnB = await connect(B, watcher);
      const dropped: string[] = [];
      const { socketA, socketB } = firstClients();
      for (const socket of [watcherOnA, watcherOnB, socketA, socketB]) {
        socket.on("disconnect", (reason: string) => dropped.push(reason));
      }
      const cameOnline = waitForEvent<Presence>(watcherOnA, "presence", 10_000, (p) => p.user_id === leaving.id);
      await connect(gatewayC.baseUrl, leaving);
      expect(await cameOnline).toMatchObject({ is_online: true });

      const wentOffline = waitForEvent<Presence>(
        watcherOnA,
        "presence",
        10_000,
        (p) => p.user_id === leaving.id && !p.is_online,
      );
      const stoppedAt = performance.now();
      gatewayC.kill("SIGTERM");
      await gatewayC.exited;
      // A stopping gateway hands its connections back: no need to wait for its heartbeat to expire.
      await wentOffline;
      const offlineAfter = (performance.now() - stoppedAt) / 1000;
      expect(await onlineIds(apiA, watcher)).not.toContain(leaving.id);
      // The clients of the other gateways stay connected and keep working.
      const { err } = await call(watcherOnB, "presence.online", {}, 10_000);
      expect(err).toBeNull();
      expect(dropped).toEqual([]);
      expect([watcherOnA, watcherOnB, socketA, socketB].map((socket) => socket.connected)).toEqual([
        true,
        true,
        true,
        true,
      ]);
      // eslint-disable-next-line no-console
      console.log(`cluster graceful stop of a gateway: its user reported offline after ${offlineAfter.toFixed(1)} s`);
    });

    // Set by the kill test for the catch-up test: a user who was on B when it died, and what it had seen.
    let orphan: { user: TestUser; roomId: number; lastSeq: number; missed: Message[] } | undefined;

    clusterTest(
      "kill -9 of gateway B: its users go offline within 30 s, users also on A stay online",
      async () => {
        const [watcher, onlyOnB, onBoth] = await Promise.all([
          registerUser(apiA, "watcher"),
          registerUser(apiA, "onlyb"),
          registerUser(apiA, "both"),
        ]);
        const roomId = await createRoom(apiA, watcher);
        await Promise.all([join(apiA, onlyOnB, roomId), join(apiA, onBoth, roomId)]);
        const watcherOnA = await connect(A, watcher);
        const presence = collect<Presence>(watcherOnA, "presence");
        const victim = await connect(B, onlyOnB);
        const victimSeen = roomMessages(victim, roomId);
        await connect(A, onBoth);
        await connect(B, onBoth);
        expect(await onlineIds(apiA, watcher)).toEqual(expect.arrayContaining([onlyOnB.id, onBoth.id]));

        // Since start-up, the first test's clients stayed connected and nobody of theirs was reported offline
        // (a gateway's connections must not be swept while it is alive, e.g. before its first heartbeat).
        const first = firstClients();
        expect([first.socketA.connected, first.socketB.connected]).toEqual([true, true]);
        expect(first.presenceA.filter((p) => !p.is_online)).toEqual([]);

        // The victim sees some messages live before its gateway dies.
        for (let i = 1; i <= 3; i++) await send(watcherOnA, roomId, `before ${i}`, `before-${i}`);
        await eventually(() => victimSeen.length === 3, 10_000, "the first messages on B");
        expect(seqs(victimSeen)).toEqual([1, 2, 3]);

        const killedAt = performance.now();
        const since = () => (performance.now() - killedAt) / 1000;
        let eventAfter: number | null = null;
        watcherOnA.on("presence", (p: Presence) => {
          if (p.user_id === onlyOnB.id && !p.is_online && eventAfter === null) eventAfter = since();
        });
        gatewayB.kill("SIGKILL");
        await gatewayB.exited;

        // Others keep talking meanwhile; the victim will catch up on A.
        const missed: Message[] = [];
        for (let i = 1; i <= 5; i++) missed.push(await send(watcherOnA, roomId, `while down ${i}`, `down-${i}`));
        orphan = { user: onlyOnB, roomId, lastSeq: 3, missed };

        // Both signs must come within 30 s of the kill: the presence event on A and the user's absence from
        // GET /api/users/online/ on A.
        let listAfter: number | null = null;
        while (since() < 30 && (eventAfter === null || listAfter === null)) {
          if (listAfter === null && !(await onlineIds(apiA, watcher)).includes(onlyOnB.id)) listAfter = since();
          await sleep(250);
        }
        const seconds = (value: number | null) => (value === null ? "never" : `${value.toFixed(1)} s`);
        // eslint-disable-next-line no-console
        console.log(
          `cluster offline detection after kill -9 of gateway B: presence event after ${seconds(eventAfter)}, ` +
            `gone from /api/users/online/ after ${seconds(listAfter)}`,
        );
        expect({ eventAfter, listAfter }).toEqual({ eventAfter: expect.any(Number), listAfter: expect.any(Number) });
        expect(presence.filter((p) => p.user_id === onlyOnB.id)).toEqual([
          { user_id: onlyOnB.id, username: onlyOnB.username, is_online: true },
          { user_id: onlyOnB.id, username: onlyOnB.username, is_online: false },
        ]);

        // Still connected on A: never reported offline, still listed.
        expect(await onlineIds(apiA, watcher)).toContain(onBoth.id);
        expect(presence.filter((p) => p.user_id === onBoth.id && !p.is_online)).toEqual([]);
      },
      50_000,
    );

    clusterTest("catch-up: clients that missed messages get each one exactly once from messages.sync", async () => {
      // 1. A client on A drops out while another keeps sending.
      const [reader, writer] = await Promise.all([registerUser(apiA, "reader"), registerUser(apiA, "writer")]);
      const roomId = await createRoom(apiA, writer);
      await join(apiA, reader, roomId);
      const writerOnA = await connect(A, writer);
      const readerOnA = await connect(A, reader);
      const live: Message[] = [];
      readerOnA.on("message", (m: Message) => {
        if (m.room_id !== roomId) return;
        live.push(m);
        if (live.length === 5) readerOnA.disconnect();
      });
      const total = 20;
      const sent: Message[] = [];
      for (let i = 1; i <= total; i++) {
        sent.push(await send(writerOnA, roomId, `msg ${i}`, `w-${i}`));
        await sleep(10);
      }
      expect(seqs(sent)).toEqual(range(1, total));
      expect(live.length).toBeGreaterThanOrEqual(5);
      const lastSeen = live[live.length - 1].seq;
      expect(seqs(live)).toEqual(range(1, lastSeen));

      const back = await connect(A, reader);
      const { err, res } = await call(back, "messages.sync", { rooms: { [roomId]: lastSeen } }, 10_000);
      expect(err).toBeNull();
      const synced: Message[] = res.rooms[roomId].messages;
      expect(seqs(synced)).toEqual(range(lastSeen + 1, total));
      expect(synced.map((m) => m.content)).toEqual(sent.slice(lastSeen).map((m) => m.content));
      expect(res.rooms[roomId].has_more).toBe(false);

      // 2. The user who was on B when it was killed reconnects to A.
      if (!orphan) throw new Error("the kill test did not get far enough to leave a user behind");
      const { user, roomId: orphanRoom, lastSeq, missed } = orphan;
      const again = await connect(A, user);
      const resync = await call(again, "messages.sync", { rooms: { [orphanRoom]: lastSeq } }, 10_000);
      expect(resync.err).toBeNull();
      const caughtUp: Message[] = resync.res.rooms[orphanRoom].messages;
      expect(seqs(caughtUp)).toEqual(range(lastSeq + 1, lastSeq + missed.length));
      expect(caughtUp.map((m) => m.id)).toEqual(missed.map((m) => m.id));
    });
  },
);
