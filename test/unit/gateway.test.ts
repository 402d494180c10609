import { startEmbedded } from "../helpers/app";
import { gatewaySuite, startEmbeddedCapturing } from "../suites/gateway.suite";

describe("REST gateway, embedded (one broker, SQLite)", () => {
  gatewaySuite(() => startEmbedded(), startEmbeddedCapturing);
});
