/**
 * Entry point: `npm start` runs the services named in SERVICES (default: all) on one node.
 * `--repl` opens the Moleculer REPL on the node once it has started.
 */
import { ConfigError, loadConfig } from "./config";
import type { Config } from "./config";
import { createBroker } from "./moleculer.config";

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(`Configuration error: ${err.message}`);
    throw err;
  }
  const broker = createBroker(config);
  if (config.jwtSecretGenerated) {
    broker.logger.warn(
      "JWT_SECRET is not set: using a secret generated into ./data (set JWT_SECRET for real deployments)",
    );
  } else if (Buffer.byteLength(config.jwtSecret) < 32) {
    broker.logger.warn("JWT_SECRET is shorter than 32 bytes; use a longer one");
  }
  try {
    await broker.start();
  } catch (err) {
    fail(`Start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  // moleculer-repl attaches repl() to the broker at run time; the typings do not list it.
  if (process.argv.includes("--repl")) await (broker as unknown as { repl(): Promise<void> }).repl();
}

void main();
