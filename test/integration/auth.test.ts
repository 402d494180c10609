import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { authSuite } from "../suites/auth.suite";

describeWithServers(
  "auth over REST, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    authSuite(() => startDistributed());
  },
);
