/**
 * One Sequelize connection per process and database URL, shared by the services of that process
 * (SQLite allows a single writer, and one pool per process is what PostgreSQL wants too).
 * Migrations run once, when the first service acquires the connection.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Sequelize } from "sequelize";
import type { Transaction } from "sequelize";
import { runMigrations } from "../models/migrations";

export type Dialect = "postgres" | "sqlite";

export interface Database {
  sequelize: Sequelize;
  dialect: Dialect;
  /**
   * Runs `work` in a transaction. SQLite has one writer, so its write transactions are queued here
   * instead of failing with SQLITE_BUSY; PostgreSQL runs them concurrently and relies on row locks.
   */
  transaction<T>(work: (t: Transaction) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
}

interface Entry {
  db: Database;
  ready: Promise<void>;
  users: number;
}

const entries = new Map<string, Entry>();

function createSequelize(url: string): { sequelize: Sequelize; dialect: Dialect } {
  if (url.startsWith("sqlite:")) {
    const target = url.slice("sqlite:".length);
    const storage = target === ":memory:" ? ":memory:" : resolve(target);
    if (storage !== ":memory:") mkdirSync(dirname(storage), { recursive: true });
    return { sequelize: new Sequelize({ dialect: "sqlite", storage, logging: false }), dialect: "sqlite" };
  }
  const sequelize = new Sequelize(url, {
    dialect: "postgres",
    logging: false,
    pool: { max: 20, min: 0, idle: 10_000, acquire: 30_000 },
  });
  return { sequelize, dialect: "postgres" };
}

/** A FIFO lock: each task starts when the previous one settles. */
function createSerialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function openDatabase(url: string): Database {
  const { sequelize, dialect } = createSequelize(url);
  const serial = dialect === "sqlite" ? createSerialQueue() : null;
  return {
    sequelize,
    dialect,
    transaction<T>(work: (t: Transaction) => Promise<T>): Promise<T> {
      const run = () => sequelize.transaction((t) => work(t));
      return serial ? serial(run) : run();
    },
    async ping() {
      await sequelize.query("SELECT 1");
    },
  };
}

async function prepare(db: Database, url: string): Promise<void> {
  if (db.dialect === "sqlite") {
    // WAL lets readers proceed while the single writer holds its transaction.
    await db.sequelize.query("PRAGMA journal_mode = WAL");
  }
  await runMigrations(db.sequelize, db.dialect === "postgres" ? url : null);
}

/** Gets the process-wide connection for `url`, opening and migrating it on first use. */
export async function acquireDatabase(url: string): Promise<Database> {
  let entry = entries.get(url);
  if (!entry) {
    const db = openDatabase(url);
    entry = { db, ready: prepare(db, url), users: 0 };
    entries.set(url, entry);
  }
  entry.users += 1;
  try {
    await entry.ready;
  } catch (err) {
    await releaseDatabase(url);
    throw err;
  }
  return entry.db;
}

/** Closes the connection once the last service using it has stopped. */
export async function releaseDatabase(url: string): Promise<void> {
  const entry = entries.get(url);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  entries.delete(url);
  await entry.db.sequelize.close();
}

/** Sequelize errors that mean "a unique constraint said no". */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && err.name === "SequelizeUniqueConstraintError";
}
