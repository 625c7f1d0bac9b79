//! The choice of stores, directory and collector for a run, each a port:
//! the demo organization with local stores, or AWS.

use super::directory::{ListedDirectory, OrganizationsDirectory};
use super::settings::{
    BUCKET_VAR, DATA_DIR_VAR, OrgSettings, STATE_MACHINE_VAR, SettingError, StoreSettings, TABLE_VAR, bad,
};
use crate::collector::{InProcessCollector, LambdaCollector};
use crate::fanout::StepFunctionsFanOut;
use crate::iam;
use crate::s3::s3_client;
use crate::store::dynamodb::{AwsStoreConfig, DynamoSnapshotStore, S3ReportStore};
use crate::store::local::{LocalReportStore, LocalSnapshotStore};
use aws_config::SdkConfig;
use posture_core::demo::DemoOrganization;
use posture_core::org::execute::RunPorts;
use posture_core::ports::{AccountCollector, AccountDirectory, CollectionStore, FanOut, ReportStore, SnapshotStore};
use std::path::Path;
use std::sync::Arc;

/// The stores, built from the settings.
#[derive(Clone)]
pub struct Stores {
    /// Run records and snapshots.
    pub snapshots: Arc<dyn SnapshotStore>,
    /// Report files.
    pub reports: Arc<dyn ReportStore>,
    /// Each account's collection of a run, beside the reports.
    pub collections: Arc<dyn CollectionStore>,
}

impl Stores {
    /// Local stores in `dir`.
    pub fn local(dir: &Path) -> Stores {
        let files = Arc::new(LocalReportStore::new(dir));
        Stores {
            snapshots: Arc::new(LocalSnapshotStore::new(dir)),
            reports: files.clone(),
            collections: files,
        }
    }

    /// Stores for `settings` (local directory, or DynamoDB and S3 over `sdk`).
    pub fn new(settings: &StoreSettings, sdk: Option<&SdkConfig>) -> Result<Stores, SettingError> {
        match settings {
            StoreSettings::Local(dir) => Ok(Stores::local(dir)),
            StoreSettings::Aws {
                table,
                bucket,
                prefix,
                retention_days,
            } => {
                let sdk = sdk.ok_or_else(|| bad(TABLE_VAR, "the DynamoDB store needs AWS configuration"))?;
                let config = AwsStoreConfig {
                    table: table.clone(),
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    retention_days: *retention_days,
                };
                let files = Arc::new(S3ReportStore::connect(sdk, config.clone()));
                Ok(Stores {
                    snapshots: Arc::new(DynamoSnapshotStore::connect(sdk, config)),
                    reports: files.clone(),
                    collections: files,
                })
            }
        }
    }
}

/// Everything a run uses: the demo organization or AWS.
#[derive(Clone)]
pub struct Org {
    /// Account directory.
    pub directory: Arc<dyn AccountDirectory>,
    /// Collector.
    pub collector: Arc<dyn AccountCollector>,
    /// Stores.
    pub stores: Stores,
    /// The engine large runs are handed to (the assessor's only).
    pub fanout: Option<Arc<dyn FanOut>>,
}

impl Org {
    /// The demo organization as directory and collector, with local stores
    /// in `dir`.
    pub fn demo(org: Arc<DemoOrganization>, dir: &Path) -> Org {
        Org {
            directory: org.clone(),
            collector: org,
            stores: Stores::local(dir),
            fanout: None,
        }
    }

    /// Wires the AWS directory and collector (Lambda fan-out when a collector
    /// function is configured, in-process otherwise) over `sdk`.
    pub fn aws(settings: &OrgSettings, sdk: &SdkConfig) -> Result<Org, SettingError> {
        let store = settings.store.as_ref().ok_or_else(|| {
            bad(
                TABLE_VAR,
                format!("set {TABLE_VAR} and {BUCKET_VAR}, or {DATA_DIR_VAR}"),
            )
        })?;
        let stores = Stores::new(store, Some(sdk))?;
        let directory: Arc<dyn AccountDirectory> = match &settings.accounts {
            Some(list) => Arc::new(ListedDirectory(list.clone())),
            None => Arc::new(OrganizationsDirectory {
                client: crate::guarded_client!(aws_sdk_organizations, sdk, iam::DIRECTORY),
            }),
        };
        let collector: Arc<dyn AccountCollector> = match &settings.collector_function {
            Some(function) => Arc::new(LambdaCollector {
                lambda: crate::guarded_client!(aws_sdk_lambda, sdk, iam::COLLECTOR_FANOUT),
                s3: s3_client(sdk, iam::COLLECTOR_FANOUT),
                function: function.clone(),
                roles: settings.roles.clone(),
            }),
            None => Arc::new(InProcessCollector {
                base: sdk.clone(),
                roles: settings.roles.clone(),
            }),
        };
        Ok(Org {
            directory,
            collector,
            stores,
            fanout: None,
        })
    }

    /// Hands runs of at least `POSTURE_FANOUT_MIN_ACCOUNTS` accounts to the
    /// state machine `POSTURE_STATE_MACHINE`, when it is set (the assessor;
    /// the state machine has such runs finished by the assessor too).
    pub fn with_state_machine(mut self, settings: &OrgSettings, sdk: &SdkConfig) -> Result<Org, SettingError> {
        let Some(state_machine) = &settings.state_machine else {
            return Ok(self);
        };
        let Some(StoreSettings::Aws { bucket, prefix, .. }) = &settings.store else {
            return Err(bad(
                STATE_MACHINE_VAR,
                format!("the state machine reads and writes the bucket: set {TABLE_VAR} and {BUCKET_VAR}"),
            ));
        };
        self.fanout = Some(Arc::new(StepFunctionsFanOut {
            sfn: crate::guarded_client!(aws_sdk_sfn, sdk, iam::STATE_MACHINE_FANOUT),
            s3: s3_client(sdk, iam::STATE_MACHINE_FANOUT),
            state_machine: state_machine.clone(),
            bucket: bucket.clone(),
            prefix: prefix.clone(),
            roles: settings.roles.clone(),
            min_accounts: settings.fanout_min_accounts,
            concurrency: settings.concurrency,
        }));
        Ok(self)
    }

    /// The ports of a run.
    pub fn ports<'a>(&'a self, clock: &'a (dyn Fn() -> jiff::Timestamp + Sync)) -> RunPorts<'a> {
        RunPorts {
            directory: self.directory.as_ref(),
            collector: self.collector.as_ref(),
            store: self.stores.snapshots.as_ref(),
            reports: self.stores.reports.as_ref(),
            collections: self.stores.collections.as_ref(),
            fanout: self.fanout.as_deref(),
            clock,
        }
    }
}
