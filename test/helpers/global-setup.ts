import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** Compiles the project once, for tests that start real node processes from dist/. */
export default function globalSetup(): void {
  const root = join(__dirname, "..", "..");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
