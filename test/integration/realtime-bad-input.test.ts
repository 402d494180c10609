import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { realtimeBadInputSuite } from "../suites/realtime-bad-input.suite";

describeWithServers(
  "Realtime bad input, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    realtimeBadInputSuite(() => startDistributed());
  },
);
