import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { messagesSuite } from "../suites/messages.suite";

describeWithServers(
  "messages over REST, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    messagesSuite(() => startDistributed());
  },
);
