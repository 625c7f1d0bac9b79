//! The org-wide settings, from documented environment variables: where
//! runs are stored, which accounts and regions are in scope, how members are
//! entered, and the frameworks loaded.

use super::exceptions::{EXCEPTIONS_VAR, ExceptionsLocation};
use crate::collector::RoleSettings;
use jiff::SignedDuration;
use posture_core::exceptions::Exception;
use posture_core::org::execute::RunSettings;
use posture_core::ports::DirectoryAccount;
use posture_core::posture::frameworks::{self, Framework, FrameworkError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `POSTURE_DATA_DIR`: keep snapshots and reports in this directory.
pub const DATA_DIR_VAR: &str = "POSTURE_DATA_DIR";
/// `POSTURE_TABLE`: DynamoDB table of run records and snapshots.
pub const TABLE_VAR: &str = "POSTURE_TABLE";
/// `POSTURE_BUCKET`: S3 bucket of reports and collections.
pub const BUCKET_VAR: &str = "POSTURE_BUCKET";
/// `POSTURE_BUCKET_PREFIX`: key prefix in the bucket.
pub const BUCKET_PREFIX_VAR: &str = "POSTURE_BUCKET_PREFIX";
/// `POSTURE_RETENTION_DAYS`: run and snapshot items expire after this (default 400).
pub const RETENTION_VAR: &str = "POSTURE_RETENTION_DAYS";
/// `POSTURE_ROLE`: member role name or ARN with `{account_id}` (default `PostureAdvisorReadOnly`).
pub const ROLE_VAR: &str = "POSTURE_ROLE";
/// `POSTURE_EXTERNAL_ID`: the ExternalId the member roles require.
pub const EXTERNAL_ID_VAR: &str = "POSTURE_EXTERNAL_ID";
/// `POSTURE_PARTITION`: `aws` (default), `aws-us-gov`, `aws-cn`.
pub const PARTITION_VAR: &str = "POSTURE_PARTITION";
/// `POSTURE_REGIONS`: regions to collect (default: each account's enabled regions).
pub const REGIONS_VAR: &str = "POSTURE_REGIONS";
/// `POSTURE_MAX_FINDINGS_PER_ACCOUNT`: findings an account's collection keeps
/// at most, the newest (default 150,000; more is reported as a gap).
pub const MAX_FINDINGS_VAR: &str = "POSTURE_MAX_FINDINGS_PER_ACCOUNT";
/// `POSTURE_ACCOUNTS`: `id[=name],...` instead of Organizations `ListAccounts`.
pub const ACCOUNTS_VAR: &str = "POSTURE_ACCOUNTS";
/// `POSTURE_INCLUDE_ACCOUNTS`: only these account ids.
pub const INCLUDE_VAR: &str = "POSTURE_INCLUDE_ACCOUNTS";
/// `POSTURE_EXCLUDE_ACCOUNTS`: never these account ids.
pub const EXCLUDE_VAR: &str = "POSTURE_EXCLUDE_ACCOUNTS";
/// `POSTURE_CONCURRENCY`: accounts collected at once (1-64, default 8).
pub const CONCURRENCY_VAR: &str = "POSTURE_CONCURRENCY";
/// `POSTURE_COLLECTOR_FUNCTION`: invoke this Lambda per account instead of
/// collecting in-process.
pub const COLLECTOR_FUNCTION_VAR: &str = "POSTURE_COLLECTOR_FUNCTION";
/// `POSTURE_ASSESSOR_FUNCTION`: the MCP server starts org-wide runs by
/// invoking this Lambda (required in Lambda; locally runs start in-process).
pub const ASSESSOR_FUNCTION_VAR: &str = "POSTURE_ASSESSOR_FUNCTION";
/// `POSTURE_STATE_MACHINE`: the Step Functions state machine (ARN) that
/// collects large organizations (unset: every run is collected by the
/// assessor itself).
pub const STATE_MACHINE_VAR: &str = "POSTURE_STATE_MACHINE";
/// `POSTURE_FANOUT_MIN_ACCOUNTS`: runs over at least this many accounts go to
/// the state machine (default [`DEFAULT_FANOUT_MIN_ACCOUNTS`]).
pub const FANOUT_MIN_ACCOUNTS_VAR: &str = "POSTURE_FANOUT_MIN_ACCOUNTS";
/// `POSTURE_RUN_MAX_MINUTES`: a run still `RUNNING` after this is dead (default 20).
pub const RUN_MAX_MINUTES_VAR: &str = "POSTURE_RUN_MAX_MINUTES";

/// `POSTURE_FRAMEWORKS_DIR`: a directory of custom framework files (`*.json`).
pub const FRAMEWORKS_DIR_VAR: &str = "POSTURE_FRAMEWORKS_DIR";

/// Default member role name (the StackSet in `infra/` creates it).
pub const DEFAULT_ROLE: &str = "PostureAdvisorReadOnly";
/// Default accounts collected at once: the slowest account bounds a run, and
/// each collection keeps 4 regions busy, so 8 accounts keep 32 regional
/// collections in flight, well inside per-account API limits (each account
/// has its own).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Default size from which a run is handed to the state machine. A
/// collection takes about a minute per account at AWS's quotas, and the
/// assessor collects [`DEFAULT_CONCURRENCY`] at a time within one Lambda
/// invocation (15 minutes at most): about 100 accounts fit, and 50 leaves
/// twice the margin.
pub const DEFAULT_FANOUT_MIN_ACCOUNTS: usize = 50;

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn bad(variable: &'static str, message: impl Into<String>) -> SettingError {
    SettingError {
        variable,
        message: message.into(),
    }
}

/// Where run records, snapshots and reports are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// A local directory.
    Local(PathBuf),
    /// DynamoDB and S3.
    Aws {
        /// Table.
        table: String,
        /// Bucket.
        bucket: String,
        /// Key prefix.
        prefix: String,
        /// Days items are kept.
        retention_days: u32,
    },
}

/// Everything an org-wide run needs to know, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    /// Stores; `None` when neither `POSTURE_DATA_DIR` nor table and bucket are set.
    pub store: Option<StoreSettings>,
    /// Member role.
    pub roles: RoleSettings,
    /// Configured accounts (instead of Organizations).
    pub accounts: Option<Vec<DirectoryAccount>>,
    /// Include list.
    pub include: BTreeSet<String>,
    /// Exclude list.
    pub exclude: BTreeSet<String>,
    /// Accounts at once.
    pub concurrency: usize,
    /// Collector function for Lambda fan-out.
    pub collector_function: Option<String>,
    /// Deadline of a run.
    pub max_duration: SignedDuration,
    /// Where local mode keeps its data: `POSTURE_DATA_DIR`, else
    /// `$XDG_DATA_HOME/posture-advisor`, else `~/.local/share/posture-advisor`.
    pub data_dir: PathBuf,
    /// Custom framework files (`POSTURE_FRAMEWORKS_DIR`).
    pub frameworks_dir: Option<PathBuf>,
    /// The assessor function that org-wide runs started over MCP invoke.
    pub assessor_function: Option<String>,
    /// The state machine large runs are handed to.
    pub state_machine: Option<String>,
    /// Runs over at least this many accounts are handed to it.
    pub fanout_min_accounts: usize,
    /// The accepted-risks file (`POSTURE_EXCEPTIONS`), when one is configured.
    pub exceptions: Option<ExceptionsLocation>,
}

fn is_account_id(id: &str) -> bool {
    id.parse::<posture_core::ids::AccountId>().is_ok()
}

fn account_ids(variable: &'static str, raw: Option<String>) -> Result<BTreeSet<String>, SettingError> {
    let mut out = BTreeSet::new();
    for id in raw
        .iter()
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !is_account_id(id) {
            return Err(bad(variable, format!("{id:?} is not a 12-digit account id")));
        }
        out.insert(id.to_string());
    }
    Ok(out)
}

/// Parses a comma-separated region list (`POSTURE_REGIONS`).
pub fn parse_regions(raw: &str) -> Result<Vec<String>, SettingError> {
    let regions: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(r) = regions.iter().find(|r| {
        !r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || r.split('-').count() < 3
    }) {
        return Err(bad(REGIONS_VAR, format!("{r:?} is not a region name (e.g. us-east-1)")));
    }
    if regions.is_empty() {
        return Err(bad(
            REGIONS_VAR,
            "set but names no region; unset it to use every enabled region",
        ));
    }
    Ok(regions)
}

fn number<T>(
    variable: &'static str,
    raw: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, SettingError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = raw else { return Ok(default) };
    let value: T = raw
        .trim()
        .parse()
        .map_err(|_| bad(variable, format!("{raw:?} is not a number")))?;
    if !range.contains(&value) {
        return Err(bad(
            variable,
            format!("{value} is outside {}-{}", range.start(), range.end()),
        ));
    }
    Ok(value)
}

impl OrgSettings {
    /// Reads the settings from the process environment (mains only).
    pub fn from_env() -> Result<OrgSettings, SettingError> {
        OrgSettings::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `var` (the process environment in mains,
    /// a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<OrgSettings, SettingError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let data_dir = var(DATA_DIR_VAR)
            .map(PathBuf::from)
            .or_else(|| var("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("posture-advisor")))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share/posture-advisor")))
            .unwrap_or_else(|| PathBuf::from(".posture-advisor"));
        let store = match (var(DATA_DIR_VAR), var(TABLE_VAR), var(BUCKET_VAR)) {
            (Some(dir), None, None) => Some(StoreSettings::Local(PathBuf::from(dir))),
            (Some(_), _, _) => {
                return Err(bad(
                    DATA_DIR_VAR,
                    format!("set together with {TABLE_VAR}/{BUCKET_VAR}; choose one store"),
                ));
            }
            (None, Some(table), Some(bucket)) => {
                let prefix = var(BUCKET_PREFIX_VAR).unwrap_or_default();
                if !prefix.is_empty() && !prefix.ends_with('/') {
                    return Err(bad(BUCKET_PREFIX_VAR, "must end with '/'"));
                }
                Some(StoreSettings::Aws {
                    table,
                    bucket,
                    prefix,
                    retention_days: number(RETENTION_VAR, var(RETENTION_VAR), 400, 1..=3650)?,
                })
            }
            (None, Some(_), None) => return Err(bad(BUCKET_VAR, format!("required with {TABLE_VAR}"))),
            (None, None, Some(_)) => return Err(bad(TABLE_VAR, format!("required with {BUCKET_VAR}"))),
            (None, None, None) => None,
        };
        let accounts = match var(ACCOUNTS_VAR) {
            None => None,
            Some(raw) => {
                let mut list = Vec::new();
                for entry in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (id, name) = entry.split_once('=').unwrap_or((entry, entry));
                    if !is_account_id(id.trim()) {
                        return Err(bad(ACCOUNTS_VAR, format!("{id:?} is not a 12-digit account id")));
                    }
                    list.push(DirectoryAccount {
                        account_id: id.trim().to_string(),
                        name: name.trim().to_string(),
                        status: "ACTIVE".to_string(),
                        ou_path: Vec::new(),
                    });
                }
                Some(list)
            }
        };
        let role = var(ROLE_VAR).unwrap_or_else(|| DEFAULT_ROLE.to_string());
        if role.starts_with("arn:") && !role.contains("{account_id}") {
            return Err(bad(ROLE_VAR, "an ARN must contain {account_id}"));
        }
        Ok(OrgSettings {
            store,
            roles: RoleSettings {
                role,
                external_id: var(EXTERNAL_ID_VAR),
                regions: var(REGIONS_VAR).map(|r| parse_regions(&r)).transpose()?,
                partition: var(PARTITION_VAR).unwrap_or_else(|| "aws".to_string()),
                max_findings_per_account: number(
                    MAX_FINDINGS_VAR,
                    var(MAX_FINDINGS_VAR),
                    crate::collector::MAX_FINDINGS_PER_ACCOUNT,
                    1..=100_000_000,
                )?,
            },
            accounts,
            include: account_ids(INCLUDE_VAR, var(INCLUDE_VAR))?,
            exclude: account_ids(EXCLUDE_VAR, var(EXCLUDE_VAR))?,
            concurrency: number(CONCURRENCY_VAR, var(CONCURRENCY_VAR), DEFAULT_CONCURRENCY, 1..=64)?,
            collector_function: var(COLLECTOR_FUNCTION_VAR),
            max_duration: SignedDuration::from_mins(number(
                RUN_MAX_MINUTES_VAR,
                var(RUN_MAX_MINUTES_VAR),
                20,
                1..=1440,
            )?),
            data_dir,
            frameworks_dir: var(FRAMEWORKS_DIR_VAR).map(PathBuf::from),
            assessor_function: var(ASSESSOR_FUNCTION_VAR),
            state_machine: var(STATE_MACHINE_VAR),
            fanout_min_accounts: number(
                FANOUT_MIN_ACCOUNTS_VAR,
                var(FANOUT_MIN_ACCOUNTS_VAR),
                DEFAULT_FANOUT_MIN_ACCOUNTS,
                1..=1_000_000,
            )?,
            exceptions: var(EXCEPTIONS_VAR)
                .map(|v| ExceptionsLocation::parse(&v).map_err(|e| bad(EXCEPTIONS_VAR, e)))
                .transpose()?,
        })
    }

    /// The built-in frameworks plus the custom ones in `frameworks_dir`.
    pub fn frameworks(&self) -> Result<(Vec<Framework>, Vec<FrameworkError>), SettingError> {
        load_frameworks(self.frameworks_dir.as_deref())
    }

    /// The run settings for `frameworks` and the accepted risks `exceptions`.
    pub fn run_settings(&self, frameworks: Vec<Framework>, exceptions: Vec<Exception>) -> RunSettings {
        RunSettings {
            frameworks,
            exceptions,
            concurrency: self.concurrency,
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            max_duration: self.max_duration,
        }
    }
}

/// What the collector function needs: where collections go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorSettings {
    /// The product's bucket (`POSTURE_BUCKET`).
    pub bucket: String,
    /// Key prefix in it (`POSTURE_BUCKET_PREFIX`, ending with `/`, or empty).
    pub prefix: String,
    /// AWS partition of the member roles (`POSTURE_PARTITION`, default `aws`).
    pub partition: String,
}

impl CollectorSettings {
    /// Reads the settings from the process environment (mains only).
    pub fn from_env() -> Result<CollectorSettings, SettingError> {
        CollectorSettings::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<CollectorSettings, SettingError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let prefix = var(BUCKET_PREFIX_VAR).unwrap_or_default();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            return Err(bad(BUCKET_PREFIX_VAR, "must end with '/'"));
        }
        Ok(CollectorSettings {
            bucket: var(BUCKET_VAR).ok_or_else(|| bad(BUCKET_VAR, "is required"))?,
            prefix,
            partition: var(PARTITION_VAR).unwrap_or_else(|| "aws".to_string()),
        })
    }
}

/// The built-in frameworks plus the custom ones in `dir`; files that cannot
/// be used are returned with where they are wrong, the rest still load.
pub fn load_frameworks(dir: Option<&Path>) -> Result<(Vec<Framework>, Vec<FrameworkError>), SettingError> {
    let mut frameworks =
        frameworks::builtin().map_err(|e| bad(FRAMEWORKS_DIR_VAR, format!("built-in framework: {e}")))?;
    let mut errors = Vec::new();
    let Some(dir) = dir else {
        return Ok((frameworks, errors));
    };
    let entries = std::fs::read_dir(dir).map_err(|e| bad(FRAMEWORKS_DIR_VAR, format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let file = path.display().to_string();
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| FrameworkError {
                file: file.clone(),
                location: "file".into(),
                message: e.to_string(),
            })
            .and_then(|text| frameworks::parse(&file, &text));
        match parsed {
            Ok(fw)
                if frameworks
                    .iter()
                    .any(|f| f.short_name == fw.short_name || f.id == fw.id) =>
            {
                errors.push(FrameworkError {
                    file,
                    location: "short_name".into(),
                    message: format!("{} / {} is already loaded", fw.id, fw.short_name),
                })
            }
            Ok(fw) => frameworks.push(fw),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        tracing::error!(error = %e, "custom framework not loaded");
    }
    Ok((frameworks, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<OrgSettings, SettingError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OrgSettings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_each_bad_setting_named() {
        let s = settings(&[("HOME", "/home/a")]).unwrap();
        assert_eq!(s.store, None);
        assert_eq!(s.data_dir, PathBuf::from("/home/a/.local/share/posture-advisor"));
        assert_eq!(s.frameworks_dir, None);
        let s = settings(&[
            ("HOME", "/home/a"),
            ("XDG_DATA_HOME", "/data"),
            (FRAMEWORKS_DIR_VAR, "/fw"),
        ])
        .unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/data/posture-advisor"));
        assert_eq!(s.frameworks_dir, Some(PathBuf::from("/fw")));
        let s = settings(&[(DATA_DIR_VAR, "/runs")]).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/runs"));
        assert_eq!(s.roles.role, DEFAULT_ROLE);
        assert_eq!(s.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(
            s.roles.role_arn("111111111111"),
            "arn:aws:iam::111111111111:role/PostureAdvisorReadOnly"
        );
        let s = settings(&[
            (TABLE_VAR, "t"),
            (BUCKET_VAR, "b"),
            (ACCOUNTS_VAR, "111111111111=prod, 222222222222"),
            (EXCLUDE_VAR, "222222222222"),
            (ROLE_VAR, "arn:aws:iam::{account_id}:role/custom/Audit"),
        ])
        .unwrap();
        assert!(matches!(
            s.store,
            Some(StoreSettings::Aws {
                retention_days: 400,
                ..
            })
        ));
        let accounts = s.accounts.unwrap();
        assert_eq!(accounts[0].name, "prod");
        assert_eq!(accounts[1].name, "222222222222");
        assert_eq!(
            s.roles.role_arn("333333333333"),
            "arn:aws:iam::333333333333:role/custom/Audit"
        );
        for (vars, variable) in [
            (vec![(TABLE_VAR, "t")], BUCKET_VAR),
            (
                vec![(DATA_DIR_VAR, "/x"), (TABLE_VAR, "t"), (BUCKET_VAR, "b")],
                DATA_DIR_VAR,
            ),
            (vec![(CONCURRENCY_VAR, "0")], CONCURRENCY_VAR),
            (vec![(CONCURRENCY_VAR, "many")], CONCURRENCY_VAR),
            (vec![(INCLUDE_VAR, "12345")], INCLUDE_VAR),
            (vec![(ACCOUNTS_VAR, "abc=x")], ACCOUNTS_VAR),
            (vec![(REGIONS_VAR, "mars")], REGIONS_VAR),
            (vec![(ROLE_VAR, "arn:aws:iam::1:role/x")], ROLE_VAR),
            (
                vec![(TABLE_VAR, "t"), (BUCKET_VAR, "b"), (BUCKET_PREFIX_VAR, "x")],
                BUCKET_PREFIX_VAR,
            ),
        ] {
            assert_eq!(settings(&vars).unwrap_err().variable, variable, "{vars:?}");
        }
    }

    #[test]
    fn the_collector_needs_its_bucket() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            CollectorSettings::from_vars(move |k| map.get(k).cloned())
        };
        assert_eq!(vars(&[]).unwrap_err().variable, BUCKET_VAR);
        assert_eq!(
            vars(&[(BUCKET_VAR, "b"), (BUCKET_PREFIX_VAR, "p")])
                .unwrap_err()
                .variable,
            BUCKET_PREFIX_VAR
        );
        let s = vars(&[(BUCKET_VAR, "b")]).unwrap();
        assert_eq!((s.prefix.as_str(), s.partition.as_str()), ("", "aws"));
    }

    #[test]
    fn region_lists_are_checked() {
        assert_eq!(
            parse_regions(" us-east-1, eu-west-1 ,").unwrap(),
            vec!["us-east-1".to_string(), "eu-west-1".to_string()]
        );
        assert!(parse_regions("us-east-1,US_EAST").is_err());
        assert!(parse_regions(" , ").is_err());
    }

    #[test]
    fn session_names_are_valid_for_sts() {
        let name = crate::collector::session_name("20261126T060000Z-scheduled");
        assert_eq!(name, "posture-20261126T060000Z-scheduled");
        assert!(crate::collector::session_name(&"x".repeat(100)).len() <= 64);
    }
}
