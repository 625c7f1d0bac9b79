//! `findings-bench`: the collector's findings read against a fake Security
//! Hub on loopback (`bench/run` runs it).
//!
//! ```text
//! findings-bench run [--findings 100000] [--quota-findings 10000] [--regions 4] [--runs 3] [--out FILE]
//! ```
//!
//! Each measured process is a child of `run`, so its CPU time and peak RSS
//! are its own: `serve` (the fake), `collect` (the product's
//! `collector::collect_findings` through its quota buckets) and `floor` (a
//! plain typed serde parse of the same pages).

use anyhow::{Context, bail};

// The collector function's allocator, so the collector is measured as it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use posture_bench::fake::{self, Fake, FakeSettings};
use posture_bench::{generate, measure};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "111122223333";
const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} needs a value")),
    }
}

fn text_flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args),
        Some("collect") => collect(&args),
        Some("floor") => floor(&args),
        Some("run") => run(&args),
        _ => {
            bail!("usage: findings-bench run [--findings N] [--quota-findings N] [--regions N] [--runs N] [--out FILE]")
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Debug builds of the SDK's finding deserializer need deep stacks.
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()?)
}

/// `serve --findings N --updated-at T [--no-quotas] [--latency-ms L]`:
/// prints its endpoint, then serves until killed.
fn serve(args: &[String]) -> anyhow::Result<()> {
    let settings = FakeSettings {
        findings_per_region: flag(args, "--findings", 10_000)?,
        quotas: !args.iter().any(|a| a == "--no-quotas"),
        latency: Duration::from_millis(flag(args, "--latency-ms", 0)?),
        updated_at: text_flag(args, "--updated-at").context("--updated-at")?,
    };
    runtime()?.block_on(async {
        let fake = Fake::new(settings);
        let (endpoint, task) = fake::serve(&fake, 0).await?;
        println!("{endpoint}");
        std::io::stdout().flush()?;
        task.await?;
        Ok(())
    })
}

/// `collect --endpoint E --regions a,b [--no-quotas]`: one account's
/// findings through the product's collector (without its client-side
/// buckets when asked, to measure CPU apart from waiting); prints one JSON
/// line.
fn collect(args: &[String]) -> anyhow::Result<()> {
    let endpoint = text_flag(args, "--endpoint").context("--endpoint")?;
    let regions: Vec<String> = text_flag(args, "--regions")
        .context("--regions")?
        .split(',')
        .map(str::to_string)
        .collect();
    runtime()?.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new(regions[0].clone()))
            .credentials_provider(aws_credential_types::Credentials::new(
                format!("bench-{ACCOUNT}"),
                "bench-secret",
                None,
                None,
                "bench",
            ))
            .retry_config(posture_aws::config::retry_config())
            .load()
            .await;
        let sdk = if args.iter().any(|a| a == "--no-quotas") {
            posture_aws::transport::for_account_without_quotas(&sdk)
        } else {
            posture_aws::transport::for_account(&sdk, ACCOUNT)
        };
        let cpu_before = measure::cpu_time();
        let start = Instant::now();
        // Its own task: the read is a deep future (a debug build overflows
        // the main thread's stack polling it).
        let read_regions = regions.clone();
        let read = tokio::spawn(async move {
            posture_aws::collector::collect_findings(
                &sdk,
                &read_regions,
                jiff::Timestamp::now(),
                posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
            )
            .await
        })
        .await?;
        let wall = start.elapsed();
        let cpu = measure::cpu_time().saturating_sub(cpu_before);
        // What the collection weighs as the JSON the collector function stores.
        let stored_bytes = serde_json::to_vec(&read.findings)?.len();
        let findings = read.findings;
        let unread: Vec<String> = read
            .gaps
            .iter()
            .filter(|g| g.leaves_unread())
            .map(ToString::to_string)
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "findings": findings.len(),
                "stored_bytes": stored_bytes,
                "unread": unread,
                "wall_s": wall.as_secs_f64(),
                "cpu_s": cpu.as_secs_f64(),
                "peak_rss": measure::peak_rss(),
            })
        );
        Ok(())
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypedPage {
    #[allow(dead_code)]
    findings: Vec<posture_core::findings::asff::AsffFinding>,
    #[allow(dead_code)]
    next_token: Option<String>,
}

/// `floor --findings N --updated-at T`: the same pages parsed with plain
/// typed serde, page by page; prints one JSON line.
fn floor(args: &[String]) -> anyhow::Result<()> {
    let total: usize = flag(args, "--findings", 10_000)?;
    let updated_at = text_flag(args, "--updated-at").context("--updated-at")?;
    let scope = generate::Scope {
        account: ACCOUNT,
        region: REGIONS[0],
        updated_at: &updated_at,
    };
    let mut parse = Duration::ZERO;
    let mut parsed = 0;
    for page in 0..total.div_ceil(generate::PAGE_SIZE) {
        let body = generate::page(&scope, total, page, generate::PAGE_SIZE);
        let start = Instant::now();
        let typed: TypedPage = serde_json::from_str(&body)?;
        parse += start.elapsed();
        parsed += typed.findings.len();
    }
    println!(
        "{}",
        serde_json::json!({"findings": parsed, "parse_s": parse.as_secs_f64(), "peak_rss": measure::peak_rss()})
    );
    Ok(())
}

struct Server {
    child: Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_fake(findings: usize, quotas: bool, latency_ms: u64, updated_at: &str) -> anyhow::Result<Server> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args([
        "serve",
        "--findings",
        &findings.to_string(),
        "--latency-ms",
        &latency_ms.to_string(),
        "--updated-at",
        updated_at,
    ]);
    if !quotas {
        command.arg("--no-quotas");
    }
    let mut child = command.stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().context("fake stdout")?;
    let mut endpoint = String::new();
    BufReader::new(stdout).read_line(&mut endpoint)?;
    Ok(Server {
        child,
        endpoint: endpoint.trim().to_string(),
    })
}

fn child_json(args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(std::env::current_exe()?).args(args).output()?;
    if !out.status.success() {
        bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn stats(endpoint: &str) -> anyhow::Result<serde_json::Value> {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address)?;
    write!(
        stream,
        "GET /__stats HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response)?;
    let body = response.split("\r\n\r\n").nth(1).context("stats body")?;
    Ok(serde_json::from_str(body)?)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn number(v: &serde_json::Value, key: &str) -> f64 {
    v.get(key).and_then(serde_json::Value::as_f64).unwrap_or(0.0)
}

/// One quota-bound scenario: wall times, the bound, and what the fake counted.
struct QuotaRun {
    walls: Vec<f64>,
    findings: f64,
    requests: u64,
    throttled: u64,
    unread: Vec<String>,
}

fn quota_scenario(findings: usize, regions: usize, runs: usize, latency_ms: u64, at: &str) -> anyhow::Result<QuotaRun> {
    let mut result = QuotaRun {
        walls: Vec::new(),
        findings: 0.0,
        requests: 0,
        throttled: 0,
        unread: Vec::new(),
    };
    let region_list = REGIONS[..regions].join(",");
    for _ in 0..runs {
        // A fresh fake per run: its buckets start full, as AWS's would after a pause.
        let fake = start_fake(findings, true, latency_ms, at)?;
        let out = child_json(&["collect", "--endpoint", &fake.endpoint, "--regions", &region_list])?;
        result.walls.push(number(&out, "wall_s"));
        result.findings = number(&out, "findings");
        if let Some(unread) = out.get("unread").and_then(|u| u.as_array()) {
            result
                .unread
                .extend(unread.iter().filter_map(|u| u.as_str().map(str::to_string)));
        }
        for counted in stats(&fake.endpoint)?.as_object().into_iter().flat_map(|o| o.values()) {
            result.requests += counted.get("requests").and_then(serde_json::Value::as_u64).unwrap_or(0);
            result.throttled += counted
                .get("throttled")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
        }
    }
    Ok(result)
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let findings: usize = flag(args, "--findings", 100_000)?;
    let quota_findings: usize = flag(args, "--quota-findings", 10_000)?;
    let regions: usize = flag(args, "--regions", 4)?.clamp(1, REGIONS.len());
    let runs: usize = flag(args, "--runs", 3)?.max(1);
    let latency_ms: u64 = flag(args, "--latency-ms", 50)?;
    let out_file = text_flag(args, "--out").unwrap_or_else(|| "bench/results/findings_throughput.md".to_string());
    let at = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24))?
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();

    // (a) CPU and memory: no quota, no latency; the floor parses the same pages.
    eprintln!("{findings} findings without quotas, {runs} runs");
    let (mut cpu, mut wall, mut rss, mut floor_s, mut floor_rss) = (vec![], vec![], vec![], vec![], vec![]);
    let mut read = 0.0;
    for _ in 0..runs {
        let fake = start_fake(findings, false, 0, &at)?;
        let out = child_json(&[
            "collect",
            "--endpoint",
            &fake.endpoint,
            "--regions",
            REGIONS[0],
            "--no-quotas",
        ])?;
        drop(fake);
        read = number(&out, "findings");
        cpu.push(number(&out, "cpu_s"));
        wall.push(number(&out, "wall_s"));
        rss.push(number(&out, "peak_rss"));
        let floor = child_json(&["floor", "--findings", &findings.to_string(), "--updated-at", &at])?;
        floor_s.push(number(&floor, "parse_s"));
        floor_rss.push(number(&floor, "peak_rss"));
    }
    if read as usize != findings {
        bail!("the collector read {read} of {findings} findings");
    }
    let (cpu, wall, rss, floor_s, floor_rss) = (
        median(cpu),
        median(wall),
        median(rss),
        median(floor_s),
        median(floor_rss),
    );
    let per_finding = |s: f64| s / findings as f64 * 1e6;
    let cpu_ratio = cpu / floor_s;
    let mb = |b: f64| b / (1024.0 * 1024.0);

    // (a) under AWS's GetFindings quota: one Region, then several at once.
    let pages = quota_findings.div_ceil(generate::PAGE_SIZE) as f64;
    let (rate, burst) = (3.0, 6.0);
    let latency = latency_ms as f64 / 1000.0;
    // Pages are sequential (each needs the last one's token): the bound is
    // the slower of the latency chain and the bucket.
    let bound = (pages * latency).max((pages - burst).max(0.0) / rate + latency);
    eprintln!("{quota_findings} findings in 1 Region under the quota, {runs} runs");
    let one = quota_scenario(quota_findings, 1, runs, latency_ms, &at)?;
    eprintln!("{quota_findings} findings in each of {regions} Regions under the quota, {runs} runs");
    let many = quota_scenario(quota_findings, regions, runs, latency_ms, &at)?;

    let when = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC");
    let mut table = String::new();
    let w = &mut table;
    use std::fmt::Write as _;
    writeln!(w, "# Findings throughput: the collector against a fake Security Hub\n")?;
    writeln!(
        w,
        "Measured {when} on {} cores; `bench/run` (release build). Generated ASFF pages of 100 findings \
         ({:.1} KB per finding), served on loopback by `findings-bench serve`; the collector is the product's \
         `posture_aws::collector::collect_findings` with its quota buckets, in a process of its own. Medians of {runs} runs.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        generate::page(
            &generate::Scope {
                account: ACCOUNT,
                region: REGIONS[0],
                updated_at: &at
            },
            generate::PAGE_SIZE,
            0,
            generate::PAGE_SIZE
        )
        .len() as f64
            / generate::PAGE_SIZE as f64
            / 1000.0
    )?;
    writeln!(w, "## {findings} findings, no quota: CPU and memory\n")?;
    writeln!(
        w,
        "| measure | collector | typed serde parse (floor) | ratio | target |"
    )?;
    writeln!(w, "|---|---|---|---|---|")?;
    writeln!(
        w,
        "| CPU per finding (µs) | {:.1} | {:.1} | {cpu_ratio:.2} | ≤ 2 |",
        per_finding(cpu),
        per_finding(floor_s)
    )?;
    writeln!(w, "| CPU (s) | {cpu:.2} | {floor_s:.2} | | |")?;
    writeln!(w, "| wall (s) | {wall:.2} | | | |")?;
    writeln!(w, "| findings/s | {:.0} | | | |", findings as f64 / wall)?;
    writeln!(
        w,
        "| peak RSS (MB) | {:.0} | {:.0} | | < 256 (aim 100) |",
        mb(rss),
        mb(floor_rss)
    )?;
    writeln!(
        w,
        "\n## Under AWS's GetFindings quota (3/s, burst 6, per account and Region), {latency_ms} ms per request\n"
    )?;
    writeln!(
        w,
        "| scenario | findings read | wall (s) | quota bound (s) | wall / bound | requests | over the quota |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|")?;
    for (name, r) in [
        (format!("1 Region × {quota_findings}"), &one),
        (format!("{regions} Regions × {quota_findings}, at once"), &many),
    ] {
        let wall = median(r.walls.clone());
        writeln!(
            w,
            "| {name} | {:.0} | {wall:.1} | {bound:.1} | {:.2} | {} | {} |",
            r.findings,
            wall / bound,
            r.requests,
            r.throttled
        )?;
    }
    writeln!(
        w,
        "\nThe {regions}-Region row has the same bound as one Region (each Region has its own bucket): read one \
         Region after another it would take {:.1} s.",
        bound * regions as f64
    )?;
    let over = one.throttled + many.throttled;
    let verdicts = [
        ("CPU ≤ 2× the typed-parse floor", cpu_ratio <= 2.0),
        ("peak RSS < 256 MB", mb(rss) < 256.0),
        (
            "never above the quota (requests the fake had to throttle: 0)",
            over == 0,
        ),
        (
            "every finding read under the quota",
            one.findings as usize == quota_findings && many.findings as usize == quota_findings * regions,
        ),
    ];
    writeln!(w)?;
    for (what, met) in verdicts {
        writeln!(w, "- {what}: {}", if met { "met" } else { "NOT met" })?;
    }
    if !one.unread.is_empty() || !many.unread.is_empty() {
        writeln!(w, "- unread: {:?} {:?}", one.unread, many.unread)?;
    }
    print!("{table}");
    std::fs::write(&out_file, &table).with_context(|| out_file.clone())?;
    if over > 0 {
        bail!("{over} requests above AWS's quota");
    }
    Ok(())
}
