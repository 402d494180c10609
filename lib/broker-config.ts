import type { ServiceBroker } from "moleculer";
import type { Config } from "../config";

/**
 * Each broker carries the Config it was built from, so services read settings without touching
 * process.env and a test can run brokers with different settings side by side.
 */
const configs = new WeakMap<ServiceBroker, Config>();

export function bindConfig(broker: ServiceBroker, config: Config): void {
  configs.set(broker, config);
}

export function configOf(broker: ServiceBroker): Config {
  const config = configs.get(broker);
  if (!config) throw new Error("broker was created without a Config (use createBroker)");
  return config;
}
