import { startEmbedded } from "../helpers/app";
import { roomsSuite } from "../suites/rooms.suite";

describe("rooms over REST, embedded (one broker, SQLite)", () => {
  roomsSuite(() => startEmbedded());
});
