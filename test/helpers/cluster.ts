/**
 * Starts a cluster of real node processes (`node dist/server.js`, built by jest's globalSetup) on the
 * PostgreSQL, Redis and NATS of the integration tests: each node gets its own SERVICES, PORT and NODE_ID,
 * all share one fresh NAMESPACE so that concurrent runs on the same servers stay apart.
 * Every process's output is kept for the failure report, and stop() leaves no process behind.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { TEST_JWT_SECRET } from "./app";
import { serverUrl } from "./servers";

const REPO_ROOT = join(__dirname, "..", "..");
/** Output kept per process: its last this many characters. */
const MAX_LOG_CHARS = 64 * 1024;
const STOP_GRACE_MS = 5000;
/**
 * Loaded into each node before dist/server.js: the node kills itself once the process that started it is
 * gone, so that no node outlives a test run that was killed or exited without its afterAll. (An "exit"
 * listener cannot do it: jest gives each test file its own `process` object, whose events never fire.)
 */
const ORPHAN_WATCHDOG =
  "const parent = process.ppid;" +
  "setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, 500).unref();";

type Env = Record<string, string | undefined>;

/** A port nobody listens on right now (the OS picks it; the node binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface NodeSpec {
  /** Also the NODE_ID suffix and the label in logs. */
  name: string;
  services: string[];
  /** Only for nodes that run the api service. */
  port?: number;
  env?: Env;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly nodeId: string;
  private output = "";
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<void>;

  constructor(
    readonly spec: NodeSpec,
    env: Env,
  ) {
    this.nodeId = env.NODE_ID!;
    const watchdog = `data:text/javascript,${encodeURIComponent(ORPHAN_WATCHDOG)}`;
    this.child = spawn(process.execPath, ["--import", watchdog, "dist/server.js"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString("utf8");
      if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(-MAX_LOG_CHARS);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      this.child.once("error", (err) => {
        this.output += `\n[spawn error] ${String(err)}\n`;
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get baseUrl(): string {
    if (this.spec.port === undefined) throw new Error(`${this.spec.name} has no HTTP port`);
    return `http://127.0.0.1:${this.spec.port}`;
  }

  /** Sends a signal; no-op once the process is gone. */
  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const gone = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (gone) {
      this.kill("SIGKILL");
      await this.exited;
    }
  }

  /** Its output so far, with how it ended if it did. */
  report(): string {
    const state = this.exitInfo
      ? `exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})`
      : `running (pid ${this.child.pid})`;
    const body = this.output.trim() ? this.output.trimEnd() : "(no output)";
    return `----- ${this.spec.name} [${this.nodeId}, SERVICES=${this.spec.services.join(",")}] ${state} -----\n${body}`;
  }
}

/** Polls GET /health/ready until it answers 200. */
export async function waitReady(node: NodeProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!node.running) throw new Error(`${node.spec.name} exited while starting`);
    try {
      const res = await fetch(`${node.baseUrl}/health/ready`, { signal: AbortSignal.timeout(3000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${node.spec.name} not ready after ${timeoutMs} ms: ${last}`);
}

export interface Cluster {
  namespace: string;
  nodes: NodeProcess[];
  node(name: string): NodeProcess;
  /** Starts one more node in the same namespace; resolves once it is ready (if it has a port). */
  add(spec: NodeSpec, readyTimeoutMs?: number): Promise<NodeProcess>;
  /** Every node's output, for a failure report. */
  report(): string;
  stop(): Promise<void>;
}

/**
 * Starts the nodes at once (the services node runs the migrations, under a lock) and resolves when every
 * node with a port is ready. On failure everything started is stopped and the error carries the output.
 */
export async function startCluster(specs: NodeSpec[], sharedEnv: Env = {}, readyTimeoutMs = 30_000): Promise<Cluster> {
  const namespace = `cluster-${randomBytes(4).toString("hex")}`;
  const base: Env = {
    ...process.env,
    DATABASE_URL: serverUrl("postgres"),
    REDIS_URL: serverUrl("redis"),
    TRANSPORTER: serverUrl("nats"),
    JWT_SECRET: TEST_JWT_SECRET,
    NAMESPACE: namespace,
    LOG_LEVEL: "warn",
    NODE_ENV: "test",
    ...sharedEnv,
  };
  const nodes: NodeProcess[] = [];
  const spawnNode = (spec: NodeSpec): NodeProcess => {
    if (nodes.some((node) => node.spec.name === spec.name)) throw new Error(`a node named ${spec.name} exists`);
    const env: Env = {
      ...base,
      ...spec.env,
      SERVICES: spec.services.join(","),
      NODE_ID: `${namespace}-${spec.name}`,
      PORT: spec.port === undefined ? undefined : String(spec.port),
    };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const node = new NodeProcess(spec, env);
    nodes.push(node);
    return node;
  };
  const cluster: Cluster = {
    namespace,
    nodes,
    node(name) {
      const found = nodes.find((node) => node.spec.name === name);
      if (!found) throw new Error(`no node named ${name}`);
      return found;
    },
    async add(spec, timeoutMs = readyTimeoutMs) {
      const node = spawnNode(spec);
      if (spec.port !== undefined) await waitReady(node, timeoutMs);
      return node;
    },
    report: () => nodes.map((node) => node.report()).join("\n"),
    /** Gateways first: on the way out they hand their connections back to the presence service. */
    async stop() {
      await Promise.all(nodes.filter((node) => node.spec.port !== undefined).map((node) => node.stop()));
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
  const started = specs.map(spawnNode);
  try {
    await Promise.all(
      started.filter((node) => node.spec.port !== undefined).map((node) => waitReady(node, readyTimeoutMs)),
    );
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${cluster.report()}`);
  }
  return cluster;
}

/** The p-th percentile (0–100) of the values, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
