//! Exports of one account's results of a run, in formats other tools read:
//! CSV (spreadsheets, auditors), OCSF (security data lakes and SIEMs), SARIF
//! (result viewers and ticketing bridges) and ASFF (Security Hub's
//! `BatchImportFindings`). `docs/exports.md` documents every column and
//! mapping.
//!
//! One [`AccountExport`] per account keeps memory bounded by one account:
//! the caller feeds it the account's check outcomes ([`CheckRow`]), then its
//! findings, then calls [`AccountExport::finish`]. Each record is serialized
//! as it arrives into the file's bytes; nothing is kept per record except
//! what a format must write at the end (SARIF's rule list, one entry per
//! check or finding type). Pure: no IO, the caller stores the bytes.
//!
//! An outcome suppressed by an accepted-risk exception is still a failure:
//! every format shows it as suppressed, with the exception's id, reason,
//! owner and expiry, and none shows it as passed. Only a failing outcome can
//! be suppressed ([`ExportError::NotSuppressible`] otherwise).

mod asff;
mod csv;
mod ocsf;
mod sarif;

pub use asff::{ASFF_SCHEMA_VERSION, DEFAULT_REGION};
pub use csv::COLUMNS as CSV_COLUMNS;
pub use ocsf::OCSF_VERSION;
pub use sarif::{SARIF_SCHEMA, SARIF_VERSION};

use crate::exceptions::Exception;
use crate::finding::Finding;
use crate::posture::checks::{self, Check, Outcome, Status};
use crate::posture::frameworks::Framework;
use crate::severity::Severity;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The product's name as it appears in every export.
pub const PRODUCT_NAME: &str = "Posture Advisor";

/// A file format an account's results can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// One row per check outcome (findings are not rows).
    Csv,
    /// OCSF events: Compliance Findings for checks, Detection Findings for findings.
    Ocsf,
    /// One SARIF 2.1.0 log with one run.
    Sarif,
    /// ASFF findings for Security Hub `BatchImportFindings` (checks only).
    Asff,
}

impl ExportFormat {
    /// Every format, so callers can offer or write them all.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Csv,
        ExportFormat::Ocsf,
        ExportFormat::Sarif,
        ExportFormat::Asff,
    ];

    /// As named in arguments and settings.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ocsf => "ocsf",
            ExportFormat::Sarif => "sarif",
            ExportFormat::Asff => "asff",
        }
    }

    /// The file extension: the two JSON formats say which JSON they are.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ocsf => "ocsf.json",
            ExportFormat::Sarif => "sarif",
            ExportFormat::Asff => "asff.json",
        }
    }

    /// The MIME type of a file in this format (SARIF's is registered with IANA).
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ExportFormat::Ocsf | ExportFormat::Asff => "application/json",
            ExportFormat::Sarif => "application/sarif+json",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = ExportError;

    /// A format by its [`ExportFormat::name`], in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ExportError::UnknownFormat(s.to_string()))
    }
}

/// What every record of an account's export shares.
#[derive(Debug, Clone, Copy)]
pub struct ExportContext<'a> {
    /// The run the results belong to.
    pub run_id: &'a str,
    /// The account exported.
    pub account_id: &'a str,
    /// When the export was made (SARIF's run properties).
    pub generated_at: Timestamp,
    /// The frameworks loaded: each check's requirements are looked up here.
    pub frameworks: &'a [Framework],
    /// This build's version, for the tool or product fields.
    pub product_version: &'a str,
}

/// One native check outcome of the account.
#[derive(Debug, Clone, Copy)]
pub struct CheckRow<'a> {
    /// The verdict on one resource.
    pub outcome: &'a Outcome,
    /// When the inventory it was judged on was collected.
    pub collected_at: Timestamp,
    /// The accepted-risk exception covering it: only for a failing outcome.
    pub suppressed_by: Option<&'a Exception>,
}

/// A finished export: one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// `<account>.<extension>`.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// The file's bytes.
    pub body: Vec<u8>,
    /// Records written: CSV rows, OCSF events, SARIF results, ASFF findings.
    pub rows: usize,
}

/// Why an export could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Not one of [`ExportFormat::ALL`].
    #[error("unknown export format {0:?}: csv, ocsf, sarif or asff")]
    UnknownFormat(String),
    /// The outcome names no check of [`checks::CHECKS`]: its title, severity
    /// and remediation are unknown, and no format may make them up.
    #[error("outcome of unknown native check {0:?}")]
    UnknownCheck(String),
    /// An exception was given for an outcome that did not fail: only a
    /// failure can be accepted as a risk.
    #[error("check {check_id} on {resource}: only a failing outcome can be suppressed, this one is {status}")]
    NotSuppressible {
        /// The check.
        check_id: String,
        /// The resource.
        resource: String,
        /// Its verdict.
        status: &'static str,
    },
    /// A finding of another account was given to this account's export.
    #[error("finding {id} is in account {found}, not {expected}")]
    WrongAccount {
        /// The finding.
        id: String,
        /// Its account.
        found: String,
        /// The export's account.
        expected: String,
    },
    /// The CSV writer failed.
    #[error("writing CSV: {0}")]
    Csv(String),
    /// A record could not be serialized.
    #[error("writing JSON: {0}")]
    Json(String),
}

impl From<serde_json::Error> for ExportError {
    fn from(e: serde_json::Error) -> Self {
        ExportError::Json(e.to_string())
    }
}

/// A check outcome's status as exports show it: a suppressed failure is its
/// own status, never a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RowStatus {
    Pass,
    Fail,
    Skip,
    Error,
    Suppressed,
}

impl RowStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pass => "PASS",
            RowStatus::Fail => "FAIL",
            RowStatus::Skip => "SKIP",
            RowStatus::Error => "ERROR",
            RowStatus::Suppressed => "SUPPRESSED",
        }
    }
}

/// What the frameworks say about one check: the requirements it decides.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mapping {
    /// `CIS 1.4`, `NIST AC-2`: framework short name and requirement id.
    pub requirements: Vec<String>,
    /// The frameworks' names, once each.
    pub standards: Vec<String>,
}

/// The context, owned, with every check's mapping worked out once.
#[derive(Debug)]
pub(crate) struct Context {
    pub run_id: String,
    pub account_id: String,
    pub generated_at: Timestamp,
    pub product_version: String,
    mappings: BTreeMap<String, Mapping>,
    unmapped: Mapping,
}

impl Context {
    fn new(ctx: &ExportContext<'_>) -> Context {
        let mut mappings: BTreeMap<String, Mapping> = BTreeMap::new();
        for fw in ctx.frameworks {
            for req in &fw.requirements {
                for check in &req.checks {
                    let m = mappings.entry(check.clone()).or_default();
                    let label = format!("{} {}", fw.short_name, req.id);
                    if !m.requirements.contains(&label) {
                        m.requirements.push(label);
                    }
                    if !m.standards.contains(&fw.name) {
                        m.standards.push(fw.name.clone());
                    }
                }
            }
        }
        Context {
            run_id: ctx.run_id.to_string(),
            account_id: ctx.account_id.to_string(),
            generated_at: ctx.generated_at,
            product_version: ctx.product_version.to_string(),
            mappings,
            unmapped: Mapping::default(),
        }
    }

    pub(crate) fn mapping(&self, check_id: &str) -> &Mapping {
        self.mappings.get(check_id).unwrap_or(&self.unmapped)
    }
}

/// A check outcome with what every format needs resolved.
pub(crate) struct Row<'r> {
    pub outcome: &'r Outcome,
    pub check: &'static Check,
    pub status: RowStatus,
    pub exception: Option<&'r Exception>,
    pub collected_at: Timestamp,
    pub mapping: &'r Mapping,
    /// Stable across runs: account, Region, check and resource.
    pub id: String,
    pub resource: ResourceKind,
}

impl Row<'_> {
    /// The severity the record carries: the check's for a failure (or an
    /// error, which may hide one), informational for a pass or a skip, as
    /// Security Hub does for its own passed controls.
    pub(crate) fn effective_severity(&self) -> Severity {
        match self.status {
            RowStatus::Fail | RowStatus::Suppressed | RowStatus::Error => self.check.severity,
            RowStatus::Pass | RowStatus::Skip => Severity::Informational,
        }
    }

    /// The Region the record is placed in (Security Hub needs one).
    pub(crate) fn region_or_default(&self) -> &str {
        self.outcome.region.as_deref().unwrap_or(DEFAULT_REGION)
    }
}

/// The resource of an outcome in AWS's naming: its ASFF type and the id
/// Security Hub would use (an ARN where it can be built without guessing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceKind {
    pub kind: &'static str,
    pub id: String,
}

/// Exports one account's results in one format, a record at a time.
#[derive(Debug)]
pub struct AccountExport {
    format: ExportFormat,
    ctx: Context,
    writer: Writer,
    rows: usize,
}

#[derive(Debug)]
enum Writer {
    Csv(Box<csv::CsvWriter>),
    Ocsf(ocsf::OcsfWriter),
    Sarif(sarif::SarifWriter),
    Asff(asff::AsffWriter),
}

impl AccountExport {
    /// An empty export of `ctx.account_id` in `format`.
    pub fn new(format: ExportFormat, ctx: &ExportContext) -> Self {
        let writer = match format {
            ExportFormat::Csv => Writer::Csv(Box::new(csv::CsvWriter::new())),
            ExportFormat::Ocsf => Writer::Ocsf(ocsf::OcsfWriter::new()),
            ExportFormat::Sarif => Writer::Sarif(sarif::SarifWriter::new()),
            ExportFormat::Asff => Writer::Asff(asff::AsffWriter::new()),
        };
        AccountExport {
            format,
            ctx: Context::new(ctx),
            writer,
            rows: 0,
        }
    }

    /// Adds one check outcome (every outcome, whatever its status: each
    /// format decides what it writes; see `docs/exports.md`).
    pub fn check(&mut self, row: &CheckRow) -> Result<(), ExportError> {
        let outcome = row.outcome;
        let check =
            checks::find(&outcome.check_id).ok_or_else(|| ExportError::UnknownCheck(outcome.check_id.clone()))?;
        let status = match (outcome.status, row.suppressed_by) {
            (Status::Fail, Some(_)) => RowStatus::Suppressed,
            (status, Some(_)) => {
                return Err(ExportError::NotSuppressible {
                    check_id: outcome.check_id.clone(),
                    resource: outcome.resource.clone(),
                    status: status_name(status),
                });
            }
            (Status::Pass, None) => RowStatus::Pass,
            (Status::Fail, None) => RowStatus::Fail,
            (Status::Skip, None) => RowStatus::Skip,
            (Status::Error, None) => RowStatus::Error,
        };
        let resolved = Row {
            outcome,
            check,
            status,
            exception: row.suppressed_by,
            collected_at: row.collected_at,
            mapping: self.ctx.mapping(check.id),
            id: record_id(&self.ctx.account_id, outcome),
            resource: resource_kind(check, &outcome.resource),
        };
        let wrote = match &mut self.writer {
            Writer::Csv(w) => w.check(&self.ctx, &resolved)?,
            Writer::Ocsf(w) => w.check(&self.ctx, &resolved)?,
            Writer::Sarif(w) => w.check(&self.ctx, &resolved)?,
            Writer::Asff(w) => w.check(&self.ctx, &resolved)?,
        };
        self.rows += usize::from(wrote);
        Ok(())
    }

    /// Adds one of the account's findings (CSV and ASFF leave findings out:
    /// see the format's module).
    pub fn finding(&mut self, finding: &Finding) -> Result<(), ExportError> {
        if finding.account_id != self.ctx.account_id {
            return Err(ExportError::WrongAccount {
                id: finding.id.clone(),
                found: finding.account_id.clone(),
                expected: self.ctx.account_id.clone(),
            });
        }
        let wrote = match &mut self.writer {
            Writer::Csv(_) | Writer::Asff(_) => false,
            Writer::Ocsf(w) => w.finding(&self.ctx, finding)?,
            Writer::Sarif(w) => w.finding(&self.ctx, finding)?,
        };
        self.rows += usize::from(wrote);
        Ok(())
    }

    /// Closes the file.
    pub fn finish(self) -> Result<ExportFile, ExportError> {
        let body = match self.writer {
            Writer::Csv(w) => w.finish()?,
            Writer::Ocsf(w) => w.finish(),
            Writer::Sarif(w) => w.finish(&self.ctx)?,
            Writer::Asff(w) => w.finish(),
        };
        Ok(ExportFile {
            name: format!("{}.{}", file_stem(&self.ctx.account_id), self.format.extension()),
            content_type: self.format.content_type().to_string(),
            body,
            rows: self.rows,
        })
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Error => "ERROR",
    }
}

/// The account id as a file name: anything but letters, digits, `.`, `-`
/// and `_` becomes `_` (an account id is 12 digits; this only guards).
fn file_stem(account_id: &str) -> String {
    let stem: String = account_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("account{stem}")
    } else {
        stem
    }
}

/// The longest record id (ASFF's `Id` limit).
const MAX_ID_LEN: usize = 512;

/// `posture-advisor/<account>/<region or global>/<check>/<resource>`: the same
/// outcome gets the same id in every run, so Security Hub updates a finding
/// rather than adding one, and OCSF and SARIF consumers can follow it. An id
/// over 512 characters is cut and ends with a hash of the whole.
pub(crate) fn record_id(account_id: &str, outcome: &Outcome) -> String {
    let id = format!(
        "posture-advisor/{account_id}/{}/{}/{}",
        outcome.region.as_deref().unwrap_or("global"),
        outcome.check_id,
        outcome.resource
    );
    if id.len() <= MAX_ID_LEN {
        return id;
    }
    let hash = format!("#{:016x}", fnv1a(id.as_bytes()));
    let mut cut = MAX_ID_LEN - hash.len();
    while !id.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hash}", &id[..cut])
}

/// FNV-1a, 64 bits: a stable hash needing no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The ASFF resource type and id of a check's resource. Checks name
/// resources by id or name; the type follows from the id's shape or the
/// check's area, `Other` where neither says. Only ARNs that need nothing
/// unknown are built (an S3 bucket's, the account's); other ids stay as the
/// check gives them.
pub(crate) fn resource_kind(check: &Check, resource: &str) -> ResourceKind {
    let keep = |kind: &'static str| ResourceKind {
        kind,
        id: resource.to_string(),
    };
    if let Some(account) = resource.strip_prefix("account ") {
        return ResourceKind {
            kind: "AwsAccount",
            id: format!("AWS::::Account:{account}"),
        };
    }
    if resource.starts_with("arn:") {
        return keep(arn_kind(resource));
    }
    let prefixed = [
        ("sg-", "AwsEc2SecurityGroup"),
        ("acl-", "AwsEc2NetworkAcl"),
        ("vpc-", "AwsEc2Vpc"),
        ("subnet-", "AwsEc2Subnet"),
        ("i-", "AwsEc2Instance"),
        ("vol-", "AwsEc2Volume"),
        ("fs-", "AwsEfsFileSystem"),
    ];
    if let Some((_, kind)) = prefixed.iter().find(|(p, _)| resource.starts_with(p)) {
        return keep(kind);
    }
    let area = check.id.split('.').next().unwrap_or_default();
    match (area, check.id) {
        ("s3", _) | (_, "cloudtrail.bucket_not_public" | "cloudtrail.bucket_access_logging") => ResourceKind {
            kind: "AwsS3Bucket",
            id: format!("arn:aws:s3:::{resource}"),
        },
        ("cloudtrail", _) => keep("AwsCloudTrailTrail"),
        ("rds", _) => keep("AwsRdsDbInstance"),
        ("kms", _) => keep("AwsKmsKey"),
        ("efs", _) => keep("AwsEfsFileSystem"),
        (_, "iam.no_full_admin_policies") => keep("AwsIamPolicy"),
        (_, "iam.no_expired_server_certificates") => keep("Other"),
        ("iam", _) => keep("AwsIamUser"),
        _ => keep("Other"),
    }
}

/// The ASFF type of an ARN's resource, `Other` when not one of these.
fn arn_kind(arn: &str) -> &'static str {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2).unwrap_or_default();
    let resource = parts.nth(2).unwrap_or_default();
    let kind = resource.split(['/', ':']).next().unwrap_or_default();
    match (service, kind) {
        ("s3", _) => "AwsS3Bucket",
        ("iam", "user") => "AwsIamUser",
        ("iam", "role") => "AwsIamRole",
        ("iam", "group") => "AwsIamGroup",
        ("iam", "policy") => "AwsIamPolicy",
        ("cloudtrail", "trail") => "AwsCloudTrailTrail",
        ("kms", "key") => "AwsKmsKey",
        ("rds", "db") => "AwsRdsDbInstance",
        ("ec2", "instance") => "AwsEc2Instance",
        ("ec2", "security-group") => "AwsEc2SecurityGroup",
        ("ec2", "vpc") => "AwsEc2Vpc",
        ("ec2", "network-acl") => "AwsEc2NetworkAcl",
        ("elasticfilesystem", "file-system") => "AwsEfsFileSystem",
        _ => "Other",
    }
}

/// RFC 3339 in UTC with milliseconds, as ASFF and SARIF write times.
pub(crate) fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A check's remediation steps as one line: `1. ... 2. ...`.
pub(crate) fn remediation_steps(check: &Check) -> String {
    check
        .remediation
        .iter()
        .enumerate()
        .map(|(i, step)| format!("{}. {step}", i + 1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a suppressed outcome is explained in text fields.
pub(crate) fn exception_note(e: &Exception) -> String {
    format!(
        "Accepted risk {} (owner {}, accepted {}, expires {}): {}",
        e.id, e.owner, e.created, e.expires, e.reason
    )
}

/// `text` cut to at most `max` UTF-16 code units (AWS counts lengths so; a
/// character never counts fewer), ending in `marker` when cut.
pub(crate) fn truncate(text: &str, max: usize, marker: &str) -> String {
    let units = |s: &str| s.chars().map(char::len_utf16).sum::<usize>();
    if units(text) <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(units(marker));
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push_str(marker);
    out
}

/// One line: control characters (newlines included) become spaces, runs of
/// spaces one, ends trimmed.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! One demo account's outcomes and findings, and a made-up exception.

    use super::*;
    use crate::exceptions::ExceptionScope;

    pub const ACCOUNT: &str = "456789012345";

    pub fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    pub struct Fixture {
        pub outcomes: Vec<Outcome>,
        pub findings: Vec<Finding>,
        pub frameworks: Vec<Framework>,
        pub collected_at: Timestamp,
    }

    pub fn demo() -> Fixture {
        let org = crate::demo::DemoOrganization::load(now()).unwrap();
        let inventory = org.inventories.iter().find(|i| i.account_id == ACCOUNT).unwrap();
        Fixture {
            outcomes: checks::evaluate_all(inventory),
            findings: org.findings().into_iter().filter(|f| f.account_id == ACCOUNT).collect(),
            frameworks: crate::posture::frameworks::builtin().unwrap(),
            collected_at: inventory.collected_at,
        }
    }

    pub fn exception() -> Exception {
        Exception {
            id: "EXC-7".into(),
            control: "rds.multi_az".into(),
            scope: ExceptionScope {
                organization: false,
                ou: None,
                account_id: Some(ACCOUNT.into()),
                region: None,
                resource: None,
            },
            reason: "scratch database, =rebuilt nightly".into(),
            owner: "platform-team".into(),
            created: jiff::civil::date(2026, 1, 10),
            expires: jiff::civil::date(2026, 7, 10),
        }
    }

    pub fn ctx<'a>(frameworks: &'a [Framework]) -> ExportContext<'a> {
        ExportContext {
            run_id: "run-20260301T120000Z",
            account_id: ACCOUNT,
            generated_at: now(),
            frameworks,
            product_version: "0.9.0",
        }
    }

    /// The index of the outcome the exception suppresses.
    pub fn suppressed_index(outcomes: &[Outcome]) -> usize {
        outcomes
            .iter()
            .position(|o| o.check_id == "rds.multi_az" && o.status == Status::Fail)
            .unwrap()
    }

    /// Every outcome (the one failing rds.multi_az suppressed), then every
    /// finding, in `format`.
    pub fn export(format: ExportFormat, fx: &Fixture) -> ExportFile {
        let exception = exception();
        let suppressed = suppressed_index(&fx.outcomes);
        let mut export = AccountExport::new(format, &ctx(&fx.frameworks));
        for (i, outcome) in fx.outcomes.iter().enumerate() {
            export
                .check(&CheckRow {
                    outcome,
                    collected_at: fx.collected_at,
                    suppressed_by: (i == suppressed).then_some(&exception),
                })
                .unwrap();
        }
        for finding in &fx.findings {
            export.finding(finding).unwrap();
        }
        export.finish().unwrap()
    }

    pub fn count(outcomes: &[Outcome], status: Status) -> usize {
        outcomes.iter().filter(|o| o.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn formats_have_names_extensions_and_types_and_parse_back() {
        for format in ExportFormat::ALL {
            assert_eq!(format.name().parse::<ExportFormat>().unwrap(), format);
            assert_eq!(format.name().to_uppercase().parse::<ExportFormat>().unwrap(), format);
            assert!(format.extension().starts_with(format.name()) || format == ExportFormat::Sarif);
        }
        assert_eq!(ExportFormat::Ocsf.extension(), "ocsf.json");
        assert_eq!(ExportFormat::Asff.extension(), "asff.json");
        assert_eq!(ExportFormat::Sarif.content_type(), "application/sarif+json");
        assert!(matches!("xlsx".parse::<ExportFormat>(), Err(ExportError::UnknownFormat(f)) if f == "xlsx"));
    }

    #[test]
    fn every_format_names_its_file_after_the_account_and_counts_what_it_wrote() {
        let fx = demo();
        let outcomes = fx.outcomes.len();
        let findings = fx.findings.len();
        assert!(
            outcomes > 100 && findings > 3,
            "{outcomes} outcomes, {findings} findings"
        );
        let failing = count(&fx.outcomes, Status::Fail) + count(&fx.outcomes, Status::Error);
        for (format, rows) in [
            (ExportFormat::Csv, outcomes),
            (ExportFormat::Ocsf, outcomes + findings),
            (ExportFormat::Sarif, failing + findings),
            (ExportFormat::Asff, outcomes),
        ] {
            let file = export(format, &fx);
            assert_eq!(file.name, format!("{ACCOUNT}.{}", format.extension()));
            assert_eq!(file.content_type, format.content_type());
            assert_eq!(file.rows, rows, "{format}");
        }
    }

    #[test]
    fn an_empty_account_still_makes_a_well_formed_file() {
        let frameworks = Vec::new();
        for format in ExportFormat::ALL {
            let file = AccountExport::new(format, &ctx(&frameworks)).finish().unwrap();
            assert_eq!(file.rows, 0);
            if format != ExportFormat::Csv {
                serde_json::from_slice::<serde_json::Value>(&file.body).unwrap();
            }
        }
    }

    #[test]
    fn only_a_failure_can_be_suppressed() {
        let fx = demo();
        let exception = exception();
        let pass = fx.outcomes.iter().find(|o| o.status == Status::Pass).unwrap();
        for format in ExportFormat::ALL {
            let mut export = AccountExport::new(format, &ctx(&fx.frameworks));
            let err = export
                .check(&CheckRow {
                    outcome: pass,
                    collected_at: fx.collected_at,
                    suppressed_by: Some(&exception),
                })
                .unwrap_err();
            assert!(
                matches!(err, ExportError::NotSuppressible { status: "PASS", .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_checks_and_other_accounts_findings_are_refused() {
        let fx = demo();
        let mut export = AccountExport::new(ExportFormat::Ocsf, &ctx(&fx.frameworks));
        let mut outcome = fx.outcomes[0].clone();
        outcome.check_id = "no.such_check".into();
        let err = export
            .check(&CheckRow {
                outcome: &outcome,
                collected_at: fx.collected_at,
                suppressed_by: None,
            })
            .unwrap_err();
        assert_eq!(err, ExportError::UnknownCheck("no.such_check".into()));
        let mut finding = fx.findings[0].clone();
        finding.account_id = "111111111111".into();
        assert!(matches!(
            export.finding(&finding),
            Err(ExportError::WrongAccount { .. })
        ));
    }

    #[test]
    fn record_ids_are_stable_and_bounded() {
        let outcome = Outcome {
            check_id: "s3.versioning_enabled".into(),
            resource: "bucket".into(),
            region: Some("eu-west-1".into()),
            status: Status::Fail,
            reason: String::new(),
        };
        assert_eq!(
            record_id(ACCOUNT, &outcome),
            "posture-advisor/456789012345/eu-west-1/s3.versioning_enabled/bucket"
        );
        let long = Outcome {
            resource: "é".repeat(400),
            ..outcome.clone()
        };
        let id = record_id(ACCOUNT, &long);
        assert!(id.len() <= MAX_ID_LEN && id.contains('#'), "{id}");
        assert_eq!(id, record_id(ACCOUNT, &long));
        let other = Outcome {
            resource: format!("{}x", "é".repeat(400)),
            ..outcome
        };
        assert_ne!(id, record_id(ACCOUNT, &other));
    }

    #[test]
    fn resources_get_their_aws_type() {
        let kind = |check: &str, resource: &str| resource_kind(checks::find(check).unwrap(), resource);
        assert_eq!(
            kind("s3.versioning_enabled", "b1"),
            ResourceKind {
                kind: "AwsS3Bucket",
                id: "arn:aws:s3:::b1".into()
            }
        );
        assert_eq!(
            kind("iam.root_mfa", "account 456789012345"),
            ResourceKind {
                kind: "AwsAccount",
                id: "AWS::::Account:456789012345".into()
            }
        );
        assert_eq!(kind("ec2.sg_no_ssh_from_anywhere", "sg-1").kind, "AwsEc2SecurityGroup");
        assert_eq!(kind("ec2.imdsv2_required", "i-1").kind, "AwsEc2Instance");
        assert_eq!(kind("rds.multi_az", "db1").kind, "AwsRdsDbInstance");
        assert_eq!(kind("iam.all_users_mfa", "alice").kind, "AwsIamUser");
        assert_eq!(
            kind("iam.no_full_admin_policies", "AdministratorAccess").kind,
            "AwsIamPolicy"
        );
        assert_eq!(
            kind("cloudtrail.log_file_validation", "trail").kind,
            "AwsCloudTrailTrail"
        );
        assert_eq!(kind("cloudtrail.bucket_access_logging", "logs").kind, "AwsS3Bucket");
        assert_eq!(kind("iam.all_users_mfa", "arn:aws:iam::1:role/x").kind, "AwsIamRole");
    }

    #[test]
    fn truncation_keeps_the_limit_and_says_so() {
        assert_eq!(truncate("short", 10, "…"), "short");
        let cut = truncate(&"a".repeat(300), 256, " [truncated]");
        assert_eq!(cut.len(), 256);
        assert!(cut.ends_with(" [truncated]"));
        // Characters outside the BMP count two UTF-16 units, as AWS counts them.
        let cut = truncate(&"😀".repeat(200), 256, "…");
        assert!(cut.chars().map(char::len_utf16).sum::<usize>() <= 256);
        assert_eq!(one_line(" a\n\tb  c\r\n"), "a b c");
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        let ts: Timestamp = "2026-03-01T12:00:00.123456Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2026-03-01T12:00:00.123Z");
        assert_eq!(rfc3339(now()), "2026-03-01T12:00:00.000Z");
    }

    #[test]
    fn checks_map_to_the_requirements_they_decide() {
        let fx = demo();
        let ctx = Context::new(&ctx(&fx.frameworks));
        let m = ctx.mapping("iam.root_mfa");
        assert!(
            m.requirements.iter().any(|r| r.starts_with("CIS ")),
            "{:?}",
            m.requirements
        );
        assert!(m.standards.iter().any(|s| s.contains("CIS")));
        assert!(ctx.mapping("no.such_check").requirements.is_empty());
    }
}
