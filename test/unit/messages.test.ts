import { startEmbedded } from "../helpers/app";
import { messagesSuite } from "../suites/messages.suite";

describe("messages over REST, embedded (one broker, SQLite)", () => {
  messagesSuite(() => startEmbedded());
});
