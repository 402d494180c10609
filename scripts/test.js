#!/usr/bin/env node
/**
 * Runs jest and ends with one plain summary line, "N passed, N failed", taken from jest's JSON report.
 * Extra arguments go to jest (e.g. `npm test -- test/unit`).
 */
const { spawnSync } = require("node:child_process");
const { mkdtempSync, readFileSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");

const dir = mkdtempSync(join(tmpdir(), "jest-report-"));
const report = join(dir, "report.json");
const jest = require.resolve("jest/bin/jest");
const result = spawnSync(process.execPath, [jest, "--json", `--outputFile=${report}`, ...process.argv.slice(2)], {
  stdio: "inherit",
});

let passed = 0;
let failed = 0;
try {
  const summary = JSON.parse(readFileSync(report, "utf8"));
  passed = summary.numPassedTests;
  // Suites that crash before running a test count as failures too.
  failed = summary.numFailedTests + summary.numRuntimeErrorTestSuites;
} catch {
  failed = Math.max(failed, 1);
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(result.status === 0 && failed === 0 ? 0 : 1);
