//! `findings-bench`: the collector's findings read against a fake Security
//! Hub on loopback (`bench/run` runs it).
//!
//! ```text
//! findings-bench run [--findings 100000] [--quota-findings 10000] [--regions 4] [--runs 3] [--out FILE]
//! findings-bench org [--accounts 50] [--regions 4] [--org-findings 10000] [--concurrency 8] [--full] [--out FILE]
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
/// The 17 Regions AWS enables by default.
const DEFAULT_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];

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
        Some("org-collect") => org_collect(&args),
        Some("org") => org(&args),
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
/// Counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An SDK configuration against the fake at `endpoint`, as the access key
/// `key` (`bench-<account id>` is that account), with the product's retries.
async fn fake_sdk(endpoint: &str, region: &str, key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_credential_types::Credentials::new(
            key,
            "bench-secret",
            None,
            None,
            "bench",
        ))
        .retry_config(posture_aws::config::retry_config())
        .load()
        .await
}

fn collect(args: &[String]) -> anyhow::Result<()> {
    let endpoint = text_flag(args, "--endpoint").context("--endpoint")?;
    let regions: Vec<String> = text_flag(args, "--regions")
        .context("--regions")?
        .split(',')
        .map(str::to_string)
        .collect();
    runtime()?.block_on(async {
        let sdk = fake_sdk(&endpoint, &regions[0], &format!("bench-{ACCOUNT}")).await;
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
                &posture_aws::finding_sources::SourceKind::HUB_AND_GUARDDUTY,
                jiff::Timestamp::now(),
                posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
            )
            .await
        })
        .await?;
        let wall = start.elapsed();
        let cpu = measure::cpu_time().saturating_sub(cpu_before);
        // What the collection weighs as the JSON the collector function
        // stores, counted as it is written (never held whole).
        let mut counted = ByteCount(0);
        serde_json::to_writer(&mut counted, &read.findings)?;
        let stored_bytes = counted.0;
        let spooled_bytes = read.findings.compressed_bytes();
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
                "spooled_bytes": spooled_bytes,
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
    // The product's own stages on the same pages, apart from HTTP and the
    // SDK: its ASFF parse, normalization, and spooling.
    let (mut asff, mut normalize, mut spooling) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut spool = posture_core::findings::spool::FindingSpool::new();
    for page in 0..total.div_ceil(generate::PAGE_SIZE) {
        let body = generate::page(&scope, total, page, generate::PAGE_SIZE);
        let start = Instant::now();
        let typed: TypedPage = serde_json::from_str(&body)?;
        parse += start.elapsed();
        parsed += typed.findings.len();
        let start = Instant::now();
        let product: posture_core::findings::asff::AsffPage = serde_json::from_str(&body)?;
        asff += start.elapsed();
        for finding in product.findings {
            let start = Instant::now();
            let normalized = finding.into_normalized()?;
            normalize += start.elapsed();
            let start = Instant::now();
            spool.push(normalized)?;
            spooling += start.elapsed();
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "findings": parsed,
            "parse_s": parse.as_secs_f64(),
            "asff_parse_s": asff.as_secs_f64(),
            "normalize_s": normalize.as_secs_f64(),
            "spool_s": spooling.as_secs_f64(),
            "spooled": spool.len(),
            "peak_rss": measure::peak_rss(),
        })
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
    let mut stages: [Vec<f64>; 3] = Default::default();
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
        stages[0].push(number(&floor, "asff_parse_s"));
        stages[1].push(number(&floor, "normalize_s"));
        stages[2].push(number(&floor, "spool_s"));
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
    let [asff, normalize, spooling] = stages.map(median);
    let rest = cpu - asff - normalize - spooling;
    writeln!(
        w,
        "\nWhere the collector's CPU goes, per finding (its stages timed alone on the same pages, in the floor's \
         process): the product's ASFF parse {:.1} µs, normalization {:.1} µs, spooling (postcard + LZ4) {:.1} µs; \
         the rest, {:.1} µs, is the HTTP client, the SDK's request pipeline (signing, interceptors, retries), the \
         quota buckets and the tasks.",
        per_finding(asff),
        per_finding(normalize),
        per_finding(spooling),
        per_finding(rest)
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

/// `org-collect --endpoint E --accounts N --regions R --concurrency C`: an
/// organization's collection as the fan-out runs it: `C` accounts at a
/// time, each entered through STS (`collector::enter_account`, the fake's
/// AssumeRole) and its findings read in every Region at once
/// (`collector::collect_findings`, through its quota buckets); prints one
/// JSON line.
fn org_collect(args: &[String]) -> anyhow::Result<()> {
    use futures::StreamExt;
    let endpoint = text_flag(args, "--endpoint").context("--endpoint")?;
    let accounts: u64 = flag(args, "--accounts", 50)?;
    let regions: Vec<String> = DEFAULT_REGIONS[..flag(args, "--regions", 4usize)?.clamp(1, DEFAULT_REGIONS.len())]
        .iter()
        .map(|r| r.to_string())
        .collect();
    let concurrency: usize = flag(args, "--concurrency", 8)?;
    runtime()?.block_on(async {
        let base = fake_sdk(&endpoint, "us-east-1", "bench-management").await;
        let roles = posture_aws::collector::RoleSettings {
            role: "PostureAdvisorReadOnly".to_string(),
            external_id: Some("bench-external-id".to_string()),
            regions: Some(regions.clone()),
            partition: "aws".to_string(),
            max_findings_per_account: posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
        };
        let cpu_before = measure::cpu_time();
        let start = Instant::now();
        let ids = (0..accounts).map(|i| format!("{:012}", 200_000_000_000 + i));
        let collected: Vec<anyhow::Result<(usize, Vec<String>, f64)>> = futures::stream::iter(ids)
            .map(|account| {
                let (base, roles, regions) = (base.clone(), roles.clone(), regions.clone());
                // Each account in its own task (a deep future), as each is
                // its own collector invocation in AWS.
                async move {
                    tokio::spawn(async move {
                        let started = Instant::now();
                        let sdk =
                            posture_aws::collector::enter_account(&base, &roles, "20261207T000000Z-bench", &account)
                                .await
                                .map_err(|e| anyhow::anyhow!("{account}: {e}"))?;
                        let read = posture_aws::collector::collect_findings(
                            &sdk,
                            &regions,
                            &posture_aws::finding_sources::SourceKind::HUB_AND_GUARDDUTY,
                            jiff::Timestamp::now(),
                            posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
                        )
                        .await;
                        let unread = read
                            .gaps
                            .iter()
                            .filter(|g| g.leaves_unread())
                            .map(|g| format!("{account} {g}"))
                            .collect();
                        Ok((read.findings.len(), unread, started.elapsed().as_secs_f64()))
                    })
                    .await?
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let wall = start.elapsed();
        let cpu = measure::cpu_time().saturating_sub(cpu_before);
        let (mut findings, mut unread, mut slowest) = (0, Vec::new(), 0.0f64);
        for account in collected {
            let (read, gaps, took) = account?;
            findings += read;
            unread.extend(gaps);
            slowest = slowest.max(took);
        }
        println!(
            "{}",
            serde_json::json!({
                "findings": findings,
                "unread": unread,
                "wall_s": wall.as_secs_f64(),
                "slowest_account_s": slowest,
                "cpu_s": cpu.as_secs_f64(),
                "peak_rss": measure::peak_rss(),
            })
        );
        Ok(())
    })
}

/// Wall time of one account-Region's read under the GetFindings quota:
/// pages are sequential (each needs the last one's token), so the slower of
/// the latency chain and the bucket.
fn region_bound(findings: usize, latency: f64) -> f64 {
    let pages = findings.div_ceil(generate::PAGE_SIZE).max(1) as f64;
    let (rate, burst) = (3.0, 6.0);
    (pages * latency).max((pages - burst).max(0.0) / rate + latency)
}

/// `org`: the organization simulation (6b): a fake AWS with AWS's quotas
/// per account and Region and a fixed latency, the collection fanned out
/// `--concurrency` accounts at a time, its wall time against the quota
/// bound. `--full`: 1,000 accounts × 17 Regions (100 findings each).
fn org(args: &[String]) -> anyhow::Result<()> {
    let full = args.iter().any(|a| a == "--full");
    let accounts: usize = flag(args, "--accounts", if full { 1000 } else { 50 })?;
    let regions: usize = flag(args, "--regions", if full { 17 } else { 4 })?.clamp(1, DEFAULT_REGIONS.len());
    let findings: usize = flag(args, "--org-findings", if full { 100 } else { 10_000 })?;
    let concurrency: usize = flag(args, "--concurrency", if full { 64 } else { 8 })?.max(1);
    let latency_ms: u64 = flag(args, "--latency-ms", 50)?;
    let out_file = text_flag(args, "--out")
        .unwrap_or_else(|| format!("bench/results/org_collection{}.md", if full { "_full" } else { "" }));
    let at = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24))?
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    eprintln!("{accounts} accounts × {regions} Regions × {findings} findings, {concurrency} accounts at a time");
    let fake = start_fake(findings, true, latency_ms, &at)?;
    let out = child_json(&[
        "org-collect",
        "--endpoint",
        &fake.endpoint,
        "--accounts",
        &accounts.to_string(),
        "--regions",
        &regions.to_string(),
        "--concurrency",
        &concurrency.to_string(),
    ])?;
    let fake_cpu = measure::cpu_time_of(&fake.child.id().to_string()).as_secs_f64();
    let (mut requests, mut throttled, mut assumed) = (0u64, 0u64, 0u64);
    for (scope, counted) in stats(&fake.endpoint)?.as_object().into_iter().flatten() {
        let n = |k: &str| counted.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        requests += n("requests");
        throttled += n("throttled");
        if scope.ends_with(" AssumeRole") {
            assumed += n("requests");
        }
    }
    drop(fake);
    let latency = latency_ms as f64 / 1000.0;
    // Entering an account is one STS request; its Regions are read at once.
    let account_bound = latency + region_bound(findings, latency);
    let waves = accounts.div_ceil(concurrency);
    let bound = waves as f64 * account_bound;
    let wall = number(&out, "wall_s");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // All collectors and the fake AWS share this machine's cores here (in
    // AWS each collector is a Lambda of its own): the wall cannot be below
    // their CPU over the cores.
    let cpu_floor = (number(&out, "cpu_s") + fake_cpu) / cores as f64;
    let read = number(&out, "findings") as usize;
    let slowest = number(&out, "slowest_account_s");
    let expected = accounts * regions * findings;
    let unread: Vec<String> = out
        .get("unread")
        .and_then(|u| u.as_array())
        .map(|u| u.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();

    let when = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC");
    let mut table = String::new();
    let w = &mut table;
    use std::fmt::Write as _;
    writeln!(
        w,
        "# Organization collection: the fan-out against a fake AWS with AWS's quotas\n"
    )?;
    writeln!(
        w,
        "Measured {when} on {} cores; `bench/run org{}` (release build). A fake AWS on loopback \
         (`findings-bench serve`: STS AssumeRole, Security Hub GetFindings at 3/s burst 6 per account and Region, \
         GuardDuty; {latency_ms} ms per request) holds {accounts} accounts × {regions} Regions × {findings} \
         findings. The product's collection runs {concurrency} accounts at a time (the Distributed Map's \
         MaxConcurrency, `POSTURE_CONCURRENCY`), each entered through STS (`collector::enter_account`) and read \
         in all its Regions at once (`collector::collect_findings`, its quota buckets), in one process: every \
         account a task, as each is its own collector invocation in AWS.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if full { " --full" } else { "" }
    )?;
    writeln!(w, "| measure | value |")?;
    writeln!(w, "|---|---|")?;
    writeln!(w, "| findings read | {read} of {expected} |")?;
    writeln!(w, "| wall (s) | {wall:.1} |")?;
    writeln!(
        w,
        "| quota bound (s) | {bound:.1} ({waves} waves of {concurrency} accounts × {account_bound:.2} s) |"
    )?;
    writeln!(w, "| wall / bound | {:.2} |", wall / bound)?;
    writeln!(
        w,
        "| CPU of the collectors and the fake over this machine's {cores} cores (s) | {cpu_floor:.1}{} |",
        if cpu_floor > bound {
            " (above the bound: here the simulation is CPU-bound, not quota-bound)"
        } else {
            ""
        }
    )?;
    writeln!(w, "| slowest account (s) | {slowest:.1} |")?;
    writeln!(
        w,
        "| collector CPU (s) | {:.1} (the fake: {fake_cpu:.1}) |",
        number(&out, "cpu_s")
    )?;
    writeln!(
        w,
        "| collector peak RSS (MB) | {:.0} |",
        number(&out, "peak_rss") / (1024.0 * 1024.0)
    )?;
    writeln!(w, "| requests (AssumeRole) | {requests} ({assumed}) |")?;
    writeln!(w, "| requests over a quota | {throttled} |")?;
    let verdicts = [
        ("every finding read", read == expected && unread.is_empty()),
        (
            "never above a quota (requests the fake had to throttle: 0)",
            throttled == 0,
        ),
        (
            "wall time ≤ 1.2× the quota bound (or, where this machine's cores bind first, its CPU floor)",
            wall <= 1.2 * bound.max(cpu_floor),
        ),
        ("each account inside one 15-minute Lambda invocation", slowest < 900.0),
    ];
    writeln!(w)?;
    for (what, met) in verdicts {
        writeln!(w, "- {what}: {}", if met { "met" } else { "NOT met" })?;
    }
    if !unread.is_empty() {
        writeln!(w, "- unread: {:?}", &unread[..unread.len().min(10)])?;
    }
    print!("{table}");
    std::fs::write(&out_file, &table).with_context(|| out_file.clone())?;
    Ok(())
}
