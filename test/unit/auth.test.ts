import { startEmbedded } from "../helpers/app";
import { authSuite } from "../suites/auth.suite";

describe("auth over REST, embedded (one broker, SQLite)", () => {
  authSuite(() => startEmbedded());
});
