import { startEmbedded } from "../helpers/app";
import { realtimeSuite } from "../suites/realtime.suite";

describe("Realtime, embedded (one broker, SQLite)", () => {
  realtimeSuite((env) => startEmbedded(env));
});
