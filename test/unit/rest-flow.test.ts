import { startEmbedded } from "../helpers/app";
import { restFlowSuite } from "../suites/rest-flow.suite";

describe("REST flow, embedded (one broker, SQLite)", () => {
  restFlowSuite(() => startEmbedded());
});
