import { startDistributed } from "../helpers/app";
import { describeWithServers } from "../helpers/servers";
import { gatewaySuite, startDistributedCapturing } from "../suites/gateway.suite";

describeWithServers(
  "REST gateway, distributed (gateway and services on two brokers over NATS, PostgreSQL, Redis)",
  ["postgres", "redis", "nats"],
  () => {
    gatewaySuite(() => startDistributed(), startDistributedCapturing);
  },
);
