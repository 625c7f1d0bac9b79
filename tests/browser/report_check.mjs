// Renders a run's HTML report in headless Chromium and checks that its charts
// draw the numbers of the run's JSON report:
//   node report_check.mjs <report.html> <report.json> <screenshot.png>
// Takes a full-page screenshot first (so a failing page can still be looked
// at), then reads the SVG marks' data-* attributes and rendered boxes.
// Prints one line of JSON saying what it checked; exit status 1 with the
// problems on stderr if any chart is missing, empty or disagrees with the JSON.
// Chromium: $CHROMIUM, else /usr/bin/chromium (Debian package `chromium`).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

// crate::report::WORST_ACCOUNTS_SHOWN: the chart draws at most this many.
const WORST_ACCOUNTS_SHOWN = 10;
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
const CHARTS = ["chart-framework-scores", "chart-severity", "chart-trend", "chart-worst-accounts"];

const [htmlPath, jsonPath, screenshotPath] = process.argv.slice(2);
if (!htmlPath || !jsonPath || !screenshotPath) {
  console.error("usage: node report_check.mjs <report.html> <report.json> <screenshot.png>");
  process.exit(2);
}

const fail = (message) => {
  console.error(`report_check: ${message}`);
  process.exit(1);
};

let report;
try {
  report = JSON.parse(readFileSync(jsonPath, "utf8"));
} catch (e) {
  fail(`cannot read ${jsonPath}: ${e.message}`);
}
const summary = report.run?.summary ?? null;
const url = pathToFileURL(resolve(htmlPath)).href;
const problems = [];
const checked = { html: htmlPath, screenshot: screenshotPath };

// "" (unscored) is null; anything else must be a number exactly as in the JSON.
const score = (attr) => (attr === "" || attr === null ? null : Number(attr));
const same = (what, got, want) => {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) problems.push(`${what}: page has ${g}, report.json has ${w}`);
};

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const launch = {
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 60_000,
};
const browser = await chromium.launch(launch).catch((e) => {
  fail(`cannot start Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM): ${e.message}`);
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The report must be self-contained: the page itself is the only request.
  page.on("request", (r) => {
    if (r.url() !== url) problems.push(`the page fetched ${r.url()} (the report must be self-contained)`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const opened = await page.goto(url, { waitUntil: "load" }).catch((e) => e);
  if (opened instanceof Error) {
    await browser.close();
    fail(`cannot open ${url}: ${opened.message.split("\n")[0]}`);
  }
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // Everything the checks need, read in one go from the rendered page.
  const seen = await page.evaluate((ids) => {
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    const marks = (svg, selector) =>
      svg ? [...svg.querySelectorAll(selector)].map((el) => ({ data: { ...el.dataset }, box: box(el) })) : [];
    const charts = {};
    for (const id of ids) {
      const svg = document.getElementById(id);
      charts[id] = svg && {
        tag: svg.tagName.toLowerCase(),
        role: svg.getAttribute("role"),
        title: svg.querySelector(":scope > title")?.textContent?.trim() ?? "",
        data: { ...svg.dataset },
        box: box(svg),
        figure: svg.closest("figure") ? box(svg.closest("figure")) : null,
        bars: marks(svg, "rect.bar"),
        series: marks(svg, "polyline.series").map((m, i) => ({
          ...m,
          points: svg.querySelectorAll("polyline.series")[i].points.numberOfItems,
        })),
        points: marks(svg, "circle.point").map((m, i) => ({
          ...m,
          cy: svg.querySelectorAll("circle.point")[i].cy.baseVal.value,
        })),
        text: svg.textContent,
      };
    }
    return {
      charts,
      noSummary: !!document.getElementById("no-summary"),
      text: document.body.innerText,
      width: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    };
  }, CHARTS);

  if (seen.width > seen.viewport) problems.push(`the page scrolls sideways (${seen.width}px wide in ${seen.viewport}px)`);

  if (!summary) {
    // A run without a summary: a page that says so, and no charts.
    checked.summary = false;
    if (!seen.noSummary) problems.push("report.json has no summary but the page has no #no-summary notice");
    for (const id of CHARTS) if (seen.charts[id]) problems.push(`#${id} drawn although the run has no summary`);
  } else {
    checked.summary = true;
    for (const id of CHARTS) {
      const c = seen.charts[id];
      if (!c) {
        problems.push(`chart #${id} is missing`);
        continue;
      }
      if (c.tag !== "svg") problems.push(`#${id} is a <${c.tag}>, not an <svg>`);
      if (c.role !== "img") problems.push(`#${id} has role=${JSON.stringify(c.role)}, want "img"`);
      if (!c.title) problems.push(`#${id} has no <title>`);
      if (!(c.box.width > 0 && c.box.height > 0)) problems.push(`#${id} renders at ${c.box.width}x${c.box.height}`);
    }
    // Charts sit side by side or stacked, never on top of each other.
    const figures = CHARTS.map((id) => [id, seen.charts[id]?.figure]).filter(([, f]) => f);
    for (let i = 0; i < figures.length; i++) {
      for (let j = i + 1; j < figures.length; j++) {
        const [a, fa] = figures[i];
        const [b, fb] = figures[j];
        const overlap =
          fa.x < fb.x + fb.width && fb.x < fa.x + fa.width && fa.y < fb.y + fb.height && fb.y < fa.y + fa.height;
        if (overlap) problems.push(`charts #${a} and #${b} overlap`);
      }
    }

    // A bar with a value above zero must show; bar length is proportional to
    // the value (one scale per chart).
    const proportional = (id, bars, value) => {
      const drawn = bars.filter((b) => value(b) > 0);
      for (const b of drawn) {
        if (!(b.box.width > 0 && b.box.height > 0)) problems.push(`#${id}: bar ${JSON.stringify(b.data)} is not visible`);
      }
      const ratios = drawn.map((b) => b.box.width / value(b));
      const [lo, hi] = [Math.min(...ratios), Math.max(...ratios)];
      // Coordinates are written with one decimal: allow a pixel of rounding.
      if (drawn.length > 1 && (hi - lo) * Math.max(...drawn.map(value)) > 1.5) {
        problems.push(`#${id}: bar lengths are not proportional to their values`);
      }
    };

    // 1. Framework scores.
    const frameworks = Object.entries(summary.frameworks ?? {});
    const fwBars = seen.charts["chart-framework-scores"]?.bars ?? [];
    same("framework bars", fwBars.map((b) => b.data.framework), frameworks.map(([name]) => name));
    for (const [name, f] of frameworks) {
      const bar = fwBars.find((b) => b.data.framework === name);
      if (bar) same(`${name} score`, score(bar.data.score), f.score ?? null);
    }
    proportional("chart-framework-scores", fwBars, (b) => score(b.data.score) ?? 0);
    checked.frameworks = fwBars.length;

    // 2. Open findings by severity, zero counts included.
    const sevBars = seen.charts["chart-severity"]?.bars ?? [];
    same("severity bars", sevBars.map((b) => b.data.severity), SEVERITIES);
    for (const s of SEVERITIES) {
      const bar = sevBars.find((b) => b.data.severity === s);
      if (bar) same(`${s} count`, Number(bar.data.count), summary.open_findings?.[s] ?? 0);
    }
    proportional("chart-severity", sevBars, (b) => Number(b.data.count));
    checked.severities = Object.fromEntries(sevBars.map((b) => [b.data.severity, Number(b.data.count)]));

    // 3. Trend: one line per framework, one point per scored run and framework.
    const trend = report.trend ?? [];
    const trendChart = seen.charts["chart-trend"];
    const names = [...new Set(trend.flatMap((p) => Object.keys(p.scores ?? {})))].sort();
    const want = new Map();
    for (const p of trend) {
      for (const [name, s] of Object.entries(p.scores ?? {})) if (s !== null) want.set(`${name} @ ${p.run_id}`, s);
    }
    const got = new Map();
    for (const c of trendChart?.points ?? []) {
      const key = `${c.data.framework} @ ${c.data.run}`;
      if (got.has(key)) problems.push(`trend point ${key} drawn twice`);
      got.set(key, score(c.data.score));
      if (!(c.box.width > 0 && c.box.height > 0)) problems.push(`trend point ${key} is not visible`);
    }
    for (const [key, s] of want) same(`trend point ${key}`, got.has(key) ? got.get(key) : "missing", s);
    for (const key of got.keys()) if (!want.has(key)) problems.push(`trend point ${key} is not in report.json`);
    // Higher scores sit higher (smaller y) on the one score axis.
    const byScore = [...(trendChart?.points ?? [])].sort((a, b) => score(a.data.score) - score(b.data.score));
    for (let i = 1; i < byScore.length; i++) {
      if (score(byScore[i].data.score) > score(byScore[i - 1].data.score) && !(byScore[i].cy < byScore[i - 1].cy)) {
        problems.push("trend points are not placed by score");
        break;
      }
    }
    const series = trendChart?.series ?? [];
    if (trend.length >= 2) {
      same("trend lines", series.map((s) => s.data.framework).sort(), names);
      for (const s of series) {
        const n = trend.filter((p) => (p.scores?.[s.data.framework] ?? null) !== null).length;
        same(`trend line ${s.data.framework} points`, s.points, n);
        if (n >= 2 && !(s.box.width > 0)) problems.push(`trend line ${s.data.framework} is not visible`);
      }
    } else if (!trendChart?.text.includes("trend needs two or more runs")) {
      problems.push(`the trend has ${trend.length} run(s) but the chart does not say it needs two or more`);
    }
    checked.trend = { runs: trend.length, lines: series.length, points: got.size };

    // 4. Worst accounts: the first of the summary's ranking, on its ranking framework.
    const ranking = "CIS" in (summary.frameworks ?? {}) ? "CIS" : Object.keys(summary.frameworks ?? {})[0];
    const worst = summary.worst_accounts ?? [];
    const shown = worst.slice(0, WORST_ACCOUNTS_SHOWN);
    const worstChart = seen.charts["chart-worst-accounts"];
    const accBars = worstChart?.bars ?? [];
    same("worst account bars", accBars.map((b) => b.data.account), shown.map((a) => a.account_id));
    same("worst accounts data-total", Number(worstChart?.data.total), worst.length);
    for (const a of shown) {
      const bar = accBars.find((b) => b.data.account === a.account_id);
      if (!bar) continue;
      same(`account ${a.account_id} ${ranking} score`, score(bar.data.score), a.scores?.[ranking] ?? null);
      same(`account ${a.account_id} failures`, Number(bar.data.failures), a.failures);
    }
    proportional("chart-worst-accounts", accBars, (b) => score(b.data.score) ?? 0);
    if (worst.length > shown.length && !seen.text.includes(`${worst.length - shown.length} more accounts not shown`)) {
      problems.push(`${worst.length - shown.length} accounts left out of the chart without saying so`);
    }
    checked.worstAccounts = { ranking, shown: accBars.length, total: worst.length };
  }
} finally {
  await browser.close();
}

checked.ok = problems.length === 0;
checked.problems = problems.length;
console.log(JSON.stringify(checked));
if (problems.length) {
  for (const p of problems) console.error(`report_check: ${p}`);
  process.exit(1);
}
