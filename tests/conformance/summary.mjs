// Summarizes a conformance run for scripts/conformance.sh:
//   node summary.mjs RESULTS_DIR SCENARIOS_FILE EXPECTED_FAILURES SUMMARY_OUT
// RESULTS_DIR holds the suite's `server-<scenario>-<timestamp>/checks.json`;
// SCENARIOS_FILE lists every scenario the suite knows, one per line. A scenario
// passes when it ran and has no FAILURE and no WARNING check (the suite's own
// baseline rule). Exit status 1 if a scenario did not run, failed without being
// allowed, or if the allow-list has a stale, unknown or unexplained entry.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [resultsDir, scenariosFile, allowFile, summaryOut] = process.argv.slice(2);
const lines = (file) => readFileSync(file, "utf8").split("\n");
const scenarios = lines(scenariosFile).map((l) => l.trim()).filter(Boolean);
const problems = [];

const allowed = new Map();
for (const line of lines(allowFile)) {
  const [entry, ...reason] = line.split("#");
  const name = entry.trim();
  if (!name) continue;
  if (!reason.join("#").trim()) problems.push(`expected failure without a reason: ${name}`);
  if (!scenarios.includes(name)) problems.push(`expected failure that is not a suite scenario: ${name}`);
  allowed.set(name, reason.join("#").trim());
}

const checks = new Map();
for (const dir of readdirSync(resultsDir)) {
  const name = dir.match(/^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/)?.[1];
  if (name) checks.set(name, JSON.parse(readFileSync(join(resultsDir, dir, "checks.json"), "utf8")));
}

const rows = [["scenario", "passed", "failed", "warnings", "result"]];
const count = (list, status) => list.filter((c) => c.status === status).length;
let [expected, unexpected] = [0, 0];
for (const name of scenarios) {
  const list = checks.get(name);
  const [ok, failed, warned] = list ? ["SUCCESS", "FAILURE", "WARNING"].map((s) => count(list, s)) : ["-", "-", "-"];
  const passing = list !== undefined && failed === 0 && warned === 0;
  let result = !list ? "NOT RUN" : passing ? "pass" : failed ? "FAIL" : "WARN";
  if (!list) {
    problems.push(`scenario did not run: ${name}`);
  } else if (allowed.has(name) && passing) {
    problems.push(`expected failure now passes (remove it): ${name}`);
  } else if (allowed.has(name)) {
    result += " (expected)";
    expected += 1;
  } else if (!passing) {
    unexpected += 1;
  }
  rows.push([name, ok, failed, warned, result]);
}
for (const name of checks.keys()) {
  if (!scenarios.includes(name)) problems.push(`result for a scenario the suite did not list: ${name}`);
}

const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
const table = rows.map((r) => r.map((v, i) => String(v).padEnd(widths[i])).join("  ").trimEnd());
const passes = rows.slice(1).filter((r) => r[4] === "pass").length;
const verdict = unexpected || problems.length ? "FAILED" : "OK";
const text = [
  ...table,
  "",
  `${scenarios.length} scenarios: ${passes} pass, ${expected} expected failures, ${unexpected} unexpected failures`,
  ...problems.map((p) => `problem: ${p}`),
  `conformance: ${verdict}`,
].join("\n");
writeFileSync(summaryOut, text + "\n");
console.log(text);
process.exit(verdict === "OK" ? 0 : 1);
