import { startEmbedded } from "../helpers/app";
import { cacheSuite } from "../suites/cache.suite";

describe("fresh reads after writes, embedded (memory cache, SQLite)", () => {
  cacheSuite(() => startEmbedded());
});
