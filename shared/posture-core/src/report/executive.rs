//! The executive report of a run (Markdown): scores, open findings, the worst
//! accounts, gaps and each account's failed checks.
//! Lists are capped for reading, and every cap says how much it left out.

use crate::org::run::{AccountOutcome, RunAccount};
use crate::org::snapshot::{AccountSnapshot, OrgSummary};
use crate::posture::checks;
use crate::report::format::score_text;
use crate::severity::Severity;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Accounts listed in the worst-accounts table.
pub const WORST_ACCOUNTS_SHOWN: usize = 10;
/// Failed checks listed per account.
pub const CHECKS_SHOWN_PER_ACCOUNT: usize = 10;

/// An account's failed checks with their failing-resource counts, most
/// severe first, then most resources (the order every report uses).
pub(crate) fn failed_checks_ranked(s: &AccountSnapshot) -> Vec<(Severity, &str, usize)> {
    let mut by_check: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &s.failures {
        *by_check.entry(f.check_id.as_str()).or_insert(0) += 1;
    }
    let mut rows: Vec<(Severity, &str, usize)> = by_check
        .into_iter()
        .map(|(id, n)| (checks::find(id).map_or(Severity::Medium, |c| c.severity), id, n))
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)));
    rows
}

/// Markdown report of one run: framework scores, open findings, the worst
/// accounts, the accounts in scope it could not assess (with why), and per
/// account its failed checks (most severe first).
pub fn markdown(org: &OrgSummary, snapshots: &[AccountSnapshot], accounts: &[RunAccount]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# Security posture: run {}\n", org.run_id);
    let _ = writeln!(
        out,
        "{} account(s), {} failing check outcome(s).\n",
        org.accounts, org.failures
    );

    let not_assessed: Vec<&RunAccount> = accounts
        .iter()
        .filter(|a| a.outcome != AccountOutcome::Assessed)
        .collect();
    if !not_assessed.is_empty() {
        let _ = writeln!(
            out,
            "## Accounts not assessed\n\n{} account(s) in scope have no snapshot in this run; the scores below leave them out.\n",
            not_assessed.len()
        );
        let _ = writeln!(out, "| account | name | reason |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for a in not_assessed {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                a.account_id,
                a.name.replace('|', "/"),
                a.gap.as_deref().unwrap_or("not collected").replace('|', "/")
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Compliance by framework\n");
    let _ = writeln!(
        out,
        "| framework | score | passed | failed | unknown | fully compliant accounts |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for (name, f) in &org.frameworks {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} of {} |",
            score_text(f.score),
            f.passed,
            f.failed,
            f.unknown,
            f.fully_compliant_accounts,
            org.accounts
        );
    }

    let _ = writeln!(out, "\n## Open findings by severity\n");
    let _ = writeln!(out, "| severity | findings |");
    let _ = writeln!(out, "| --- | --- |");
    for severity in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ] {
        let n = org.open_findings.get(&severity).copied().unwrap_or(0);
        let _ = writeln!(out, "| {} | {n} |", severity.label());
    }

    let _ = writeln!(out, "\n## Worst accounts\n");
    let names: Vec<&String> = org.frameworks.keys().collect();
    let header: Vec<String> = names.iter().map(|n| format!("{n} score")).collect();
    let _ = writeln!(out, "| account | {} | failing outcomes |", header.join(" | "));
    let _ = writeln!(out, "| --- |{} --- |", " --- |".repeat(names.len()));
    for a in org.worst_accounts.iter().take(WORST_ACCOUNTS_SHOWN) {
        let cells: Vec<String> = names
            .iter()
            .map(|n| score_text(a.scores.get(*n).copied().flatten()))
            .collect();
        let _ = writeln!(out, "| {} | {} | {} |", a.account_id, cells.join(" | "), a.failures);
    }
    if org.worst_accounts.len() > WORST_ACCOUNTS_SHOWN {
        let _ = writeln!(
            out,
            "\n({} more accounts in the JSON report.)",
            org.worst_accounts.len() - WORST_ACCOUNTS_SHOWN
        );
    }

    for s in snapshots {
        let _ = writeln!(out, "\n## Account {}\n", s.account_id);
        let _ = writeln!(out, "Inventory collected {}.", s.taken_at);
        let rows = failed_checks_ranked(s);
        if rows.is_empty() {
            let _ = writeln!(out, "\nNo native check fails.");
        } else {
            let _ = writeln!(out, "\n| severity | check | failing resources |");
            let _ = writeln!(out, "| --- | --- | --- |");
            for (severity, id, n) in rows.iter().take(CHECKS_SHOWN_PER_ACCOUNT) {
                let title = checks::find(id).map_or(*id, |c| c.title);
                let _ = writeln!(out, "| {} | `{id}` {title} | {n} |", severity.label());
            }
            if rows.len() > CHECKS_SHOWN_PER_ACCOUNT {
                let _ = writeln!(
                    out,
                    "\n({} more failed checks in the JSON report.)",
                    rows.len() - CHECKS_SHOWN_PER_ACCOUNT
                );
            }
        }
        if !s.gaps.is_empty() {
            let _ = writeln!(out, "\nNot collected (requirements that need these are UNKNOWN):\n");
            for g in &s.gaps {
                let _ = writeln!(out, "- {g}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;
    use crate::org::snapshot::{org_summary, take};

    #[test]
    fn the_markdown_report_carries_the_summary_numbers_and_says_what_it_leaves_out() {
        let now: jiff::Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let findings: Vec<_> = org.securityhub.iter().filter_map(|f| f.normalize().ok()).collect();
        let frameworks = crate::posture::frameworks::builtin().unwrap();
        let snaps: Vec<_> = org
            .inventories
            .iter()
            .map(|i| {
                take(
                    "run-7",
                    i,
                    &findings,
                    &[],
                    &frameworks,
                    &crate::exceptions::Acceptance::NONE,
                )
            })
            .collect();
        let summary = org_summary("run-7", &snaps);
        let refused = RunAccount {
            account_id: "999999999999".into(),
            name: "closed-lab".into(),
            status: "ACTIVE".into(),
            outcome: AccountOutcome::Gap,
            gap: Some("sts:AssumeRole: AccessDenied".into()),
            ou_path: Vec::new(),
        };
        let md = markdown(&summary, &snaps, &[refused]);
        assert!(
            md.contains("| 999999999999 | closed-lab | sts:AssumeRole: AccessDenied |"),
            "{md}"
        );

        assert!(md.starts_with("# Security posture: run run-7\n"));
        let cis = &summary.frameworks["CIS"];
        let row = format!(
            "| CIS | {} | {} | {} | {} | {} of 3 |",
            score_text(cis.score),
            cis.passed,
            cis.failed,
            cis.unknown,
            cis.fully_compliant_accounts
        );
        assert!(md.contains(&row), "{row}\n{md}");
        let critical = summary.open_findings.get(&Severity::Critical).copied().unwrap_or(0);
        assert!(md.contains(&format!("| CRITICAL | {critical} |")));
        // The sandbox's unencrypted, public, unpatched database is listed among its failures.
        let sandbox = md.split("## Account 456789012345").nth(1).unwrap();
        assert!(sandbox.contains("`rds.not_publicly_accessible`"), "{sandbox}");
        // The sandbox has more than ten failed checks: the cap says how many it left out.
        let failed_checks = snaps[2]
            .failures
            .iter()
            .map(|f| f.check_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        assert!(failed_checks > CHECKS_SHOWN_PER_ACCOUNT, "{failed_checks}");
        assert!(sandbox.contains(&format!(
            "({} more failed checks in the JSON report.)",
            failed_checks - CHECKS_SHOWN_PER_ACCOUNT
        )));
    }
}
