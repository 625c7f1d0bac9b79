//! The fault suite over an org-wide run (item 2 of the reliability issue):
//! an organization of three members in moto, each with the collector's role,
//! assessed in two regions through the fault-injecting proxy into a local
//! store. Every scenario is compared, account by account and CIS
//! requirement by requirement, with the fault-free run through the same
//! proxy: a requirement may move only to UNKNOWN (its account's snapshot
//! then lists a gap) or its account may become a gap of the run; nothing
//! moves to PASSED or FAILED. Persistent faults are tried at most the retry
//! budget's 4 times per call, and every run ends in bounded time. A table of
//! the scenarios is printed (`-- --nocapture`).

use posture_aws::org::{Org, OrgSettings};
use posture_aws::store::local::LocalSnapshotStore;
use posture_core::org::run::{AccountOutcome, RunRecord, RunState};
use posture_core::org::snapshot::AccountSnapshot;
use posture_core::ports::SnapshotStore;
use posture_core::posture::frameworks::ControlStatus;
use posture_tests::faults::{Fault, FaultProxy, FaultRule, open_ssh, sdk_through};
use posture_tests::moto::Moto;
use posture_tests::org::{admin_sessions, create_member_role, create_organization, create_public_bucket};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const EXTERNAL_ID: &str = "posture-faults-external-id";
const ROLE: &str = "PostureAdvisorReadOnly";
const MAX_ATTEMPTS: usize = 4;

/// The organization: A has SSH open to the world in eu-west-1 only, B a
/// public bucket, C nothing planted.
async fn plant(moto: &Moto) -> Vec<String> {
    let management = moto.sdk_config().await;
    let members = create_organization(&management, &["member-a", "member-b", "member-c"]).await;
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    for session in &admin {
        create_member_role(session, ROLE, EXTERNAL_ID).await;
    }
    open_ssh(&admin[0], "eu-west-1", "0.0.0.0/0").await;
    create_public_bucket(&admin[1], "member-b-public-assets").await;
    members
}

struct Assessed {
    run: RunRecord,
    snapshots: BTreeMap<String, AccountSnapshot>,
    took: Duration,
}

async fn assess(proxy: &FaultProxy, members: &[String], name: &str) -> Assessed {
    let dir = std::env::temp_dir().join(format!("posture-faults-org-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let include = members.join(",");
    let data_dir = dir.display().to_string();
    let vars: HashMap<&str, &str> = HashMap::from([
        ("POSTURE_DATA_DIR", data_dir.as_str()),
        ("POSTURE_EXTERNAL_ID", EXTERNAL_ID),
        ("POSTURE_REGIONS", "us-east-1,eu-west-1"),
        ("POSTURE_INCLUDE_ACCOUNTS", include.as_str()),
        ("POSTURE_CONCURRENCY", "3"),
    ]);
    let settings = OrgSettings::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let org = Org::aws(&settings, &sdk_through(&proxy.endpoint).await).unwrap();
    let run_settings = settings.run_settings(posture_core::posture::frameworks::builtin().unwrap(), Vec::new());
    let run_id = posture_core::org::run::run_id(jiff::Timestamp::now(), "faults");
    let request = assessor::run_request(&serde_json::json!({"run_id": run_id, "trigger": "cli"})).unwrap();
    let started = Instant::now();
    let answer = assessor::assess(&org, &run_settings, &request, &jiff::Timestamp::now)
        .await
        .unwrap();
    let took = started.elapsed();
    let store = LocalSnapshotStore::new(&dir);
    let mut snapshots = BTreeMap::new();
    for account in members {
        if let Some(s) = store.snapshot(account, &run_id).await.unwrap() {
            snapshots.insert(account.clone(), s);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Assessed {
        run: answer.run,
        snapshots,
        took,
    }
}

fn cis(snapshot: &AccountSnapshot) -> &BTreeMap<String, ControlStatus> {
    &snapshot.frameworks["CIS"].controls
}

/// Requirements whose status moved other than to UNKNOWN (in an account
/// still assessed), or moved to UNKNOWN in a snapshot that lists no gap.
fn dishonest_flips(baseline: &Assessed, faulted: &Assessed) -> Vec<String> {
    let mut flips = Vec::new();
    for (account, before) in &baseline.snapshots {
        let Some(after) = faulted.snapshots.get(account) else {
            continue; // the whole account is a gap of the run, said so
        };
        for (id, was) in cis(before) {
            let now = cis(after).get(id).copied().unwrap_or(ControlStatus::Unknown);
            let honest = now == *was || (now == ControlStatus::Unknown && !after.gaps.is_empty());
            if !honest {
                flips.push(format!("{account} CIS {id}: {was:?} -> {now:?}"));
            }
        }
    }
    flips
}

fn unknown(a: &Assessed) -> usize {
    a.snapshots.values().map(|s| s.frameworks["CIS"].unknown).sum()
}

struct Scenario {
    name: &'static str,
    rules: Vec<FaultRule>,
    /// The run must end in this state.
    state: RunState,
    /// (account index, CIS requirement) that must be UNKNOWN afterwards.
    now_unknown: Vec<(usize, &'static str)>,
}

fn rule(service: &str, region: Option<&str>, operation: Option<&str>, fault: Fault, share: f64) -> FaultRule {
    FaultRule {
        service: Some(service.into()),
        region: region.map(str::to_string),
        operation: operation.map(str::to_string),
        fault,
        share,
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "EC2 503 in eu-west-1",
            rules: vec![rule("ec2", Some("eu-west-1"), None, Fault::Unavailable, 1.0)],
            state: RunState::Complete,
            now_unknown: vec![(0, "5.2")],
        },
        Scenario {
            name: "S3 throttled",
            rules: vec![rule("s3", None, None, Fault::Throttle, 1.0)],
            state: RunState::Complete,
            now_unknown: vec![(1, "2.1.4")],
        },
        Scenario {
            name: "AssumeRole throttled (60 %)",
            rules: vec![rule("sts", None, Some("AssumeRole"), Fault::Throttle, 0.6)],
            state: RunState::Complete,
            now_unknown: vec![],
        },
        Scenario {
            name: "Security Hub 500",
            rules: vec![rule("securityhub", None, None, Fault::InternalError, 1.0)],
            state: RunState::Complete,
            now_unknown: vec![],
        },
        Scenario {
            name: "KMS answers after 1 s",
            rules: vec![rule("kms", None, None, Fault::Delay(Duration::from_secs(1)), 1.0)],
            state: RunState::Complete,
            now_unknown: vec![],
        },
        Scenario {
            name: "connections cut in eu-west-1 (20 %)",
            rules: vec![FaultRule {
                service: None,
                region: Some("eu-west-1".into()),
                operation: None,
                fault: Fault::Drop,
                share: 0.2,
            }],
            state: RunState::Complete,
            now_unknown: vec![],
        },
        Scenario {
            name: "Organizations 500",
            rules: vec![rule("organizations", None, None, Fault::InternalError, 1.0)],
            state: RunState::Failed,
            now_unknown: vec![],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_run_under_faults_never_turns_a_verdict() {
    let moto = Moto::start();
    let members = plant(&moto).await;

    let clean = FaultProxy::start(&moto.endpoint, Vec::new(), 1).await;
    let baseline = assess(&clean, &members, "baseline").await;
    assert_eq!(baseline.run.state, RunState::Complete, "{:?}", baseline.run);
    assert_eq!(baseline.snapshots.len(), 3);
    let status = |a: &Assessed, account: usize, id: &str| cis(&a.snapshots[&members[account]])[id];
    // The planted facts decide in the fault-free run.
    assert_eq!(status(&baseline, 0, "5.2"), ControlStatus::Failed);
    assert_eq!(status(&baseline, 1, "2.1.4"), ControlStatus::Failed);
    println!(
        "| fault | requests | faulted | max attempts per call | accounts assessed | account gaps | section gaps | CIS UNKNOWN | flips | run | time |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let row = |name: &str, proxy: &FaultProxy, a: &Assessed, flips: usize, max_attempts: usize| {
        let totals = proxy.totals();
        println!(
            "| {name} | {} | {} | {max_attempts} | {} | {} | {} | {} | {flips} | {:?} | {:.1} s |",
            totals.requests,
            totals.faulted,
            a.snapshots.len(),
            a.run
                .accounts
                .iter()
                .filter(|x| x.outcome == AccountOutcome::Gap)
                .count(),
            a.snapshots.values().map(|s| s.gaps.len()).sum::<usize>(),
            unknown(a),
            a.run.state,
            a.took.as_secs_f64()
        );
    };
    row("none (baseline)", &clean, &baseline, 0, 1);

    for scenario in scenarios() {
        let proxy = FaultProxy::start(&moto.endpoint, scenario.rules.clone(), 7).await;
        let faulted = assess(&proxy, &members, scenario.name.split_whitespace().next().unwrap()).await;
        let flips = dishonest_flips(&baseline, &faulted);
        let counts = proxy.counts();
        let max_attempts = counts
            .values()
            .filter(|c| c.faulted > 0)
            .map(|c| c.requests)
            .max()
            .unwrap_or(0);
        row(scenario.name, &proxy, &faulted, flips.len(), max_attempts);
        assert!(proxy.totals().faulted > 0, "{}: no fault was injected", scenario.name);
        assert_eq!(
            faulted.run.state, scenario.state,
            "{}: {:?}",
            scenario.name, faulted.run
        );
        assert!(flips.is_empty(), "{}: dishonest flips {flips:?}", scenario.name);
        for (account, id) in &scenario.now_unknown {
            assert_eq!(
                status(&faulted, *account, id),
                ControlStatus::Unknown,
                "{}: {id}",
                scenario.name
            );
        }
        // An account without a snapshot is a gap of the run, with its reason.
        for account in &faulted.run.accounts {
            if !faulted.snapshots.contains_key(&account.account_id) && faulted.run.state == RunState::Complete {
                assert_eq!(account.outcome, AccountOutcome::Gap, "{}: {account:?}", scenario.name);
                assert!(account.gap.as_deref().is_some_and(|g| !g.is_empty()));
            }
        }
        if faulted.run.state == RunState::Failed {
            assert!(faulted.snapshots.is_empty());
            assert!(faulted.run.error.as_deref().is_some_and(|e| !e.is_empty()));
        }
        // Persistent faults: each faulted call tried at most the retry
        // budget's attempts. The proxy counts by (service, region,
        // operation), which the three members share: the bound is per member.
        if scenario
            .rules
            .iter()
            .all(|r| r.share >= 1.0 && !matches!(r.fault, Fault::Delay(_)))
        {
            for (call, c) in counts.iter().filter(|(_, c)| c.faulted > 0) {
                assert!(
                    c.requests <= MAX_ATTEMPTS * members.len(),
                    "{}: {call:?} was sent {} times",
                    scenario.name,
                    c.requests
                );
            }
        }
        assert!(
            faulted.took < Duration::from_secs(120),
            "{}: {:?}",
            scenario.name,
            faulted.took
        );
    }
}
