import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { roomsSuite } from "../suites/rooms.suite";

describeWithServers(
  "rooms over REST, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    roomsSuite(() => startDistributed());
  },
);
