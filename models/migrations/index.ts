import { Client } from "pg";
import type { QueryInterface, Sequelize } from "sequelize";
import { SequelizeStorage, Umzug } from "umzug";
import * as initialSchema from "./001-initial-schema";

/** Every migration, in order. New ones are appended, never edited once released. */
const MIGRATIONS = [{ name: "001-initial-schema", module: initialSchema }];

// Arbitrary constant identifying this project's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK_KEY = 7_246_001;

function migrator(sequelize: Sequelize): Umzug<QueryInterface> {
  return new Umzug({
    migrations: MIGRATIONS.map(({ name, module }) => ({
      name,
      up: ({ context }) => module.up(context),
      down: ({ context }) => module.down(context),
    })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
    logger: undefined,
  });
}

/**
 * Brings the schema up to date. On PostgreSQL several nodes may start at once, so they take turns
 * through an advisory lock held on a connection of its own.
 */
export async function runMigrations(sequelize: Sequelize, postgresUrl: string | null): Promise<void> {
  if (!postgresUrl) {
    await migrator(sequelize).up();
    return;
  }
  const lock = new Client({ connectionString: postgresUrl });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await migrator(sequelize).up();
  } finally {
    await lock.end();
  }
}
