import { startEmbedded } from "../helpers/app";
import { realtimeBadInputSuite } from "../suites/realtime-bad-input.suite";

describe("Realtime bad input, embedded (one broker, SQLite)", () => {
  realtimeBadInputSuite(() => startEmbedded());
});
