//! The compliance report of a run: every requirement of every framework
//! across the assessed accounts (a matrix, as JSON or Markdown).

use crate::org::run::RunReport;
use crate::posture::frameworks::{ControlStatus, Framework};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One requirement across the accounts of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlAcrossAccounts {
    /// Requirement id.
    pub control_id: String,
    /// Title.
    pub title: String,
    /// Accounts per status.
    pub accounts_by_status: BTreeMap<String, usize>,
    /// Accounts where it FAILED.
    pub failing_accounts: Vec<String>,
}

/// The compliance matrix of a run: per framework, each requirement's status
/// counted over accounts.
pub fn compliance_matrix(report: &RunReport, frameworks: &[Framework]) -> BTreeMap<String, Vec<ControlAcrossAccounts>> {
    let mut out = BTreeMap::new();
    for fw in frameworks {
        if !report
            .snapshots
            .iter()
            .any(|s| s.frameworks.contains_key(&fw.short_name))
        {
            continue;
        }
        let rows = fw
            .requirements
            .iter()
            .map(|req| {
                let mut by = BTreeMap::new();
                let mut failing = Vec::new();
                for s in &report.snapshots {
                    let status = s
                        .frameworks
                        .get(&fw.short_name)
                        .and_then(|f| f.controls.get(&req.id))
                        .copied();
                    let label = status.map_or("NOT_EVALUATED".to_string(), |st| {
                        serde_json::to_value(st)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    });
                    *by.entry(label).or_insert(0) += 1;
                    if status == Some(ControlStatus::Failed) {
                        failing.push(s.account_id.clone());
                    }
                }
                ControlAcrossAccounts {
                    control_id: req.id.clone(),
                    title: req.title.clone(),
                    accounts_by_status: by,
                    failing_accounts: failing,
                }
            })
            .collect();
        out.insert(fw.short_name.clone(), rows);
    }
    out
}

/// Compliance report (Markdown): per framework, every requirement with the
/// accounts in each status and the failing accounts by id.
pub fn compliance_markdown(report: &RunReport, frameworks: &[Framework]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Compliance: run {}\n", report.run.run_id);
    let _ = writeln!(out, "{} account(s) assessed.", report.snapshots.len());
    for (name, rows) in compliance_matrix(report, frameworks) {
        let score = report
            .run
            .summary
            .as_ref()
            .and_then(|s| s.frameworks.get(&name))
            .and_then(|f| f.score);
        let score = crate::report::format::score_text(score);
        let _ = writeln!(out, "\n## {name} (organization score {score})\n");
        let _ = writeln!(
            out,
            "| requirement | title | passed | failed | unknown | other | failing accounts |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
        for r in rows {
            let get = |k: &str| r.accounts_by_status.get(k).copied().unwrap_or(0);
            let other: usize = r
                .accounts_by_status
                .iter()
                .filter(|(k, _)| !["PASSED", "FAILED", "UNKNOWN"].contains(&k.as_str()))
                .map(|(_, v)| v)
                .sum();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {other} | {} |",
                r.control_id,
                r.title.replace('|', "/"),
                get("PASSED"),
                get("FAILED"),
                get("UNKNOWN"),
                r.failing_accounts.join(", ")
            );
        }
    }
    out
}
