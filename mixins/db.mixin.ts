import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Sequelize } from "sequelize";
import { configOf } from "../lib/broker-config";
import { acquireDatabase, releaseDatabase } from "../lib/database";
import type { Database } from "../lib/database";

export interface DbThis {
  db: Database;
}

/**
 * Gives a service its database connection. `initModels` binds only the models that service owns,
 * so no service reaches another's tables. Adds a `<service>.health` action the gateway's
 * readiness probe calls.
 */
export function DbMixin(initModels: (sequelize: Sequelize) => void): Partial<ServiceSchema> {
  const mixin: Partial<ServiceSchema<ServiceSettingSchema, Service & DbThis>> = {
    actions: {
      health: {
        visibility: "public",
        async handler(this: Service & DbThis, _ctx: Context): Promise<{ ok: true }> {
          await this.db.ping();
          return { ok: true };
        },
      },
    },
    async started(this: Service & DbThis) {
      this.db = await acquireDatabase(configOf(this.broker).databaseUrl);
      initModels(this.db.sequelize);
    },
    async stopped(this: Service & DbThis) {
      if (this.db) await releaseDatabase(configOf(this.broker).databaseUrl);
    },
  };
  // Moleculer's typings cannot express a lifecycle `this` that mixins extend.
  return mixin as Partial<ServiceSchema>;
}
