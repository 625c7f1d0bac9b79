//! A run report for the report tests: the demo organization as a complete
//! run.

use crate::demo::DemoOrganization;
use crate::org::run::{
    AccountOutcome, RUN_SCHEMA_VERSION, RunAccount, RunRecord, RunReport, RunState, RunTrigger, TrendPoint,
};
use crate::org::snapshot::{org_summary, take};

/// The demo organization as a complete run, with a fourth account that
/// could not be entered, and two earlier runs in the trend.
pub fn demo_report() -> RunReport {
    let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let org = DemoOrganization::load(now).unwrap();
    let findings = org.findings();
    let frameworks = crate::posture::frameworks::builtin().unwrap();
    let run_id = "20261126T060000Z-scheduled";
    let mut snaps: Vec<_> = org
        .inventories
        .iter()
        .map(|i| {
            take(
                run_id,
                i,
                &findings,
                &[],
                &frameworks,
                &crate::exceptions::Acceptance::NONE,
            )
        })
        .collect();
    snaps.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let summary = org_summary(run_id, &snaps);
    let mut accounts: Vec<RunAccount> = org
        .accounts
        .iter()
        .map(|a| RunAccount {
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            status: "ACTIVE".to_string(),
            outcome: AccountOutcome::Assessed,
            gap: None,
            ou_path: Vec::new(),
        })
        .collect();
    accounts.push(RunAccount {
        account_id: "999999999999".to_string(),
        name: "legacy \"ops\" & <friends>".to_string(),
        status: "ACTIVE".to_string(),
        outcome: AccountOutcome::Gap,
        gap: Some("AccessDenied: <script>alert('x')</script>".to_string()),
        ou_path: Vec::new(),
    });
    let run = RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        trigger: RunTrigger::Schedule,
        started_at: now,
        deadline: "2026-11-26T07:00:00Z".parse().unwrap(),
        finished_at: Some("2026-11-26T06:03:12Z".parse().unwrap()),
        state: RunState::Complete,
        attempt: 1,
        accounts_done: accounts.len(),
        accounts,
        error: None,
        summary: Some(summary.clone()),
        reports: Vec::new(),
        execution: None,
    };
    let current = TrendPoint::of(&run, &summary);
    let earlier = |run_id: &str, started_at: &str, shift: f64| TrendPoint {
        run_id: run_id.to_string(),
        started_at: started_at.parse().unwrap(),
        scores: current
            .scores
            .iter()
            .map(|(k, v)| (k.clone(), v.map(|s| ((s - shift).max(0.0) * 10.0).round() / 10.0)))
            .collect(),
        failures: current.failures + 3,
        open_findings: current.open_findings + 1,
    };
    let trend = vec![
        earlier("20261124T060000Z-scheduled", "2026-11-24T06:00:00Z", 12.5),
        earlier("20261125T060000Z-scheduled", "2026-11-25T06:00:00Z", 4.0),
        current,
    ];
    RunReport {
        schema_version: RUN_SCHEMA_VERSION,
        run,
        snapshots: snaps,
        trend,
    }
}
