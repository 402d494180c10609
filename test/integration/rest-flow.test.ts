import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { restFlowSuite } from "../suites/rest-flow.suite";

describeWithServers(
  "REST flow, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    restFlowSuite(() => startDistributed());
  },
);
