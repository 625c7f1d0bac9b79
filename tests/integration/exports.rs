//! The exports of `posture_core::report::export`, made for every account of
//! the demo organization (one failing outcome per account suppressed by a
//! made-up exception), validated against the published schemas by
//! tests/python/validate_exports.py: OCSF 1.8.0 (Compliance Finding and
//! Detection Finding, from the official export), OASIS's SARIF 2.1.0 schema,
//! and botocore's validation of Security Hub `BatchImportFindings` for ASFF
//! (tests/schemas/README.md says where each schema comes from). Any
//! validation error fails the test.

use jiff::Timestamp;
use posture_core::demo::DemoOrganization;
use posture_core::exceptions::{Exception, ExceptionScope};
use posture_core::posture::checks::{self, Status};
use posture_core::posture::frameworks;
use posture_core::report::export::{AccountExport, CheckRow, ExportContext, ExportFile, ExportFormat};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn exception(account_id: &str, control: &str) -> Exception {
    Exception {
        id: format!("EXC-{account_id}"),
        control: control.to_string(),
        scope: ExceptionScope {
            organization: false,
            ou: None,
            account_id: Some(account_id.to_string()),
            region: None,
            resource: None,
        },
        reason: "compensating control: reviewed quarterly, =not a formula".into(),
        owner: "security-team@example.com".into(),
        created: jiff::civil::date(2026, 1, 1),
        expires: jiff::civil::date(2026, 12, 31),
    }
}

/// What the Rust side wrote, to hold the validator's counts against.
#[derive(Default)]
struct Expected {
    files: usize,
    ocsf_events: usize,
    compliance_findings: usize,
    detection_findings: usize,
    sarif_results: usize,
    asff_findings: usize,
}

/// Runs tests/python/validate_exports.py on every export file in `dir`.
fn run_validator(dir: &Path) -> std::process::Output {
    let python = std::env::var("POSTURE_PYTHON").expect("POSTURE_PYTHON (scripts/test-env.sh) names the venv's python");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Command::new(python)
        .arg(root.join("python/validate_exports.py"))
        .arg(root.join("schemas"))
        .arg(dir)
        .output()
        .expect("validate_exports.py runs")
}

/// The validator's counts; fails on any validation error.
fn validate(dir: &Path) -> Value {
    let out = run_validator(dir);
    assert!(
        out.status.success(),
        "the exports do not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn demo_exports_validate_against_the_published_schemas() {
    let now = Timestamp::now();
    let org = DemoOrganization::load(now).unwrap();
    let frameworks = frameworks::builtin().unwrap();
    let findings = org.findings();
    let dir = std::env::temp_dir().join(format!("posture-exports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut expected = Expected::default();
    let mut suppressed_accounts = 0;
    for inventory in &org.inventories {
        let account = inventory.account_id.as_str();
        let outcomes = checks::evaluate_all(inventory);
        let account_findings: Vec<_> = findings.iter().filter(|f| f.account_id == account).collect();
        let failing = outcomes.iter().position(|o| o.status == Status::Fail);
        let exception = failing.map(|i| exception(account, &outcomes[i].check_id));
        suppressed_accounts += usize::from(failing.is_some());
        let ctx = ExportContext {
            run_id: "20260301T120000Z-demo",
            account_id: account,
            generated_at: now,
            frameworks: &frameworks,
            product_version: env!("CARGO_PKG_VERSION"),
        };
        let mut files: BTreeMap<&str, ExportFile> = BTreeMap::new();
        for format in ExportFormat::ALL {
            let mut export = AccountExport::new(format, &ctx);
            for (i, outcome) in outcomes.iter().enumerate() {
                export
                    .check(&CheckRow {
                        outcome,
                        collected_at: inventory.collected_at,
                        suppressed_by: if Some(i) == failing { exception.as_ref() } else { None },
                    })
                    .unwrap();
            }
            for finding in &account_findings {
                export.finding(finding).unwrap();
            }
            let file = export.finish().unwrap();
            assert_eq!(file.name, format!("{account}.{}", format.extension()));
            std::fs::write(dir.join(&file.name), &file.body).unwrap();
            files.insert(format.name(), file);
        }
        expected.files += 1;

        // CSV: one data row per outcome, exactly.
        let mut csv = csv_rows(&files["csv"].body);
        let header = csv.remove(0);
        assert_eq!(csv.len(), outcomes.len(), "{account}: CSV data rows");
        assert_eq!(files["csv"].rows, outcomes.len());
        let status = header.iter().position(|c| c == "status").unwrap();
        let suppressed = csv.iter().filter(|r| r[status] == "SUPPRESSED").count();
        assert_eq!(suppressed, usize::from(failing.is_some()), "{account}");
        assert!(
            csv.iter()
                .all(|r| r[status] != "PASS" || r[header.iter().position(|c| c == "exception_id").unwrap()].is_empty())
        );

        // OCSF: a Compliance Finding per outcome, a Detection Finding per finding.
        let events: Vec<Value> = serde_json::from_slice(&files["ocsf"].body).unwrap();
        let class = |uid: u64| events.iter().filter(|e| e["class_uid"] == uid).count();
        assert_eq!(class(2003), outcomes.len(), "{account}: Compliance Findings");
        assert_eq!(class(2004), account_findings.len(), "{account}: Detection Findings");
        assert_eq!(events.len(), files["ocsf"].rows);
        expected.ocsf_events += events.len();
        expected.compliance_findings += class(2003);
        expected.detection_findings += class(2004);

        let sarif: Value = serde_json::from_slice(&files["sarif"].body).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap().len();
        assert_eq!(results, files["sarif"].rows);
        expected.sarif_results += results;

        let asff: Vec<Value> = serde_json::from_slice(&files["asff"].body).unwrap();
        assert_eq!(asff.len(), outcomes.len(), "{account}: ASFF findings");
        expected.asff_findings += asff.len();
    }
    assert_eq!(
        expected.files, 3,
        "the demo organization has three inventoried accounts"
    );
    assert_eq!(suppressed_accounts, expected.files);
    assert!(expected.detection_findings > 0);

    let counts = validate(&dir);
    assert_eq!(counts["ocsf"]["files"], expected.files);
    assert_eq!(counts["ocsf"]["events"], expected.ocsf_events);
    assert_eq!(counts["ocsf"]["by_class"]["2003"], expected.compliance_findings);
    assert_eq!(counts["ocsf"]["by_class"]["2004"], expected.detection_findings);
    assert_eq!(counts["sarif"]["files"], expected.files);
    assert_eq!(counts["sarif"]["results"], expected.sarif_results);
    assert_eq!(counts["asff"]["files"], expected.files);
    assert_eq!(counts["asff"]["findings"], expected.asff_findings);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The validator is not vacuous: a file with one field broken per format
/// fails it.
#[test]
fn the_validator_rejects_a_broken_field_in_each_format() {
    let now = Timestamp::now();
    let org = DemoOrganization::load(now).unwrap();
    let frameworks = frameworks::builtin().unwrap();
    let inventory = &org.inventories[0];
    let outcomes = checks::evaluate_all(inventory);
    let findings: Vec<_> = org
        .findings()
        .into_iter()
        .filter(|f| f.account_id == inventory.account_id)
        .collect();
    let ctx = ExportContext {
        run_id: "run",
        account_id: &inventory.account_id,
        generated_at: now,
        frameworks: &frameworks,
        product_version: "0",
    };
    type Break = fn(&mut Value);
    let breaks: [(ExportFormat, &str, Break); 6] = [
        (ExportFormat::Ocsf, "status_id out of the enum", |v| {
            v[0]["status_id"] = 42.into()
        }),
        (ExportFormat::Ocsf, "an attribute OCSF does not define", |v| {
            v[0]["finding_info"]["no_such_attribute"] = 1.into()
        }),
        (ExportFormat::Sarif, "a level SARIF does not define", |v| {
            v["runs"][0]["results"][0]["level"] = "fatal".into()
        }),
        (ExportFormat::Sarif, "a suppression without its kind", |v| {
            v["runs"][0]["results"][0]["suppressions"] = serde_json::json!([{"status": "accepted"}])
        }),
        (ExportFormat::Asff, "a finding without its Title", |v| {
            v[0].as_object_mut().unwrap().remove("Title");
        }),
        (
            ExportFormat::Asff,
            "a Workflow status Security Hub does not know",
            |v| v[0]["Workflow"]["Status"] = "ACCEPTED".into(),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("posture-exports-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut broken = Vec::new();
    for (n, (format, what, break_it)) in breaks.into_iter().enumerate() {
        let mut export = AccountExport::new(format, &ctx);
        for outcome in &outcomes {
            export
                .check(&CheckRow {
                    outcome,
                    collected_at: inventory.collected_at,
                    suppressed_by: None,
                })
                .unwrap();
        }
        for finding in &findings {
            export.finding(finding).unwrap();
        }
        let file = export.finish().unwrap();
        let mut value: Value = serde_json::from_slice(&file.body).unwrap();
        break_it(&mut value);
        // The validator picks a file's format by its extension; each file is judged alone.
        let name = format!("broken{n}-{}", file.name);
        std::fs::write(dir.join(&name), serde_json::to_vec(&value).unwrap()).unwrap();
        broken.push((name, format, what));
    }
    let out = run_validator(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "broken exports passed validation");
    for (name, format, what) in broken {
        assert!(
            stderr.contains(&name),
            "{format} with {what} passed validation: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    // RFC 4180 as the csv crate writes it; quoted fields may hold line breaks.
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

/// An org-wide run of the demo organization (through `execute`, as
/// `assessor --demo` makes it, with one accepted failure) writes every
/// account's exports beside its reports: their row counts agree with the
/// run's results (CSV rows and OCSF Compliance Findings = the check outcomes
/// of the stored collection, OCSF Detection Findings = its findings, the
/// accepted failure SUPPRESSED), and they validate against the schemas.
#[tokio::test]
async fn a_demo_run_writes_exports_that_agree_with_its_results() {
    use posture_aws::org::Org;
    use posture_core::org::execute::{RunOutcome, execute, export_name};
    use posture_core::org::run::RunTrigger;
    use std::sync::Arc;

    let now = Timestamp::now();
    let dir = std::env::temp_dir().join(format!("posture-run-exports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let org = Org::demo(Arc::new(DemoOrganization::load(now).unwrap()), &dir);
    let mut settings = posture_tests::runs::settings();
    let today = posture_core::time::utc_day(now);
    let accepted = Exception {
        created: today.checked_sub(jiff::Span::new().days(1)).unwrap(),
        expires: today.checked_add(jiff::Span::new().days(30)).unwrap(),
        scope: ExceptionScope {
            resource: Some("sandbox-admin".into()),
            ..exception("456789012345", "x").scope
        },
        ..exception("456789012345", "iam.console_users_mfa")
    };
    settings.exceptions = vec![accepted];
    let clock = Timestamp::now;
    let run_id = posture_core::org::run::run_id(now, "exports");
    let outcome = execute(org.ports(&clock), &settings, &run_id, RunTrigger::Cli, now)
        .await
        .unwrap();
    let RunOutcome::Completed(run) = outcome else {
        panic!("{outcome:?}")
    };
    let files = dir.join("exported");
    std::fs::create_dir_all(&files).unwrap();
    let mut suppressed = 0;
    for account in run.accounts.iter().map(|a| a.account_id.as_str()) {
        let kept = org
            .stores
            .collections
            .collection(&run_id, account)
            .await
            .unwrap()
            .unwrap();
        let outcomes = checks::evaluate_all(&kept.inventory);
        let findings = kept.findings.iter().filter(|f| f.account_id == account).count();
        for format in ExportFormat::ALL {
            let body = org
                .stores
                .reports
                .get(&run_id, &export_name(account, format))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{account}: no {format} export"));
            match format {
                ExportFormat::Csv => {
                    let mut rows = csv_rows(&body);
                    let header = rows.remove(0);
                    assert_eq!(rows.len(), outcomes.len(), "{account}: CSV rows = check outcomes");
                    let status = header.iter().position(|c| c == "status").unwrap();
                    let failing = outcomes.iter().filter(|o| o.status == Status::Fail).count();
                    let shown_failing = rows
                        .iter()
                        .filter(|r| matches!(r[status].as_str(), "FAIL" | "SUPPRESSED"))
                        .count();
                    assert_eq!(shown_failing, failing, "{account}");
                    suppressed += rows.iter().filter(|r| r[status] == "SUPPRESSED").count();
                }
                ExportFormat::Ocsf => {
                    let events: Vec<Value> = serde_json::from_slice(&body).unwrap();
                    let class = |uid: u64| events.iter().filter(|e| e["class_uid"] == uid).count();
                    assert_eq!(
                        class(2003),
                        outcomes.len(),
                        "{account}: Compliance Findings = check outcomes"
                    );
                    assert_eq!(class(2004), findings, "{account}: Detection Findings = findings");
                }
                _ => {}
            }
            std::fs::write(files.join(format!("{account}.{}", format.extension())), &body).unwrap();
        }
    }
    assert_eq!(suppressed, 1, "the accepted failure, and only it, is SUPPRESSED");
    let counts = validate(&files);
    assert_eq!(counts["ocsf"]["files"], run.accounts.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
