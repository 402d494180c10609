import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { realtimeSuite } from "../suites/realtime.suite";

describeWithServers(
  "Realtime, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    realtimeSuite((env) => startDistributed(env));
  },
);
