//! Inventory collection against moto: planted IAM misconfigurations next to
//! clean counterparts, collected through the real SDK and judged by the
//! native checks.

use posture_core::posture::checks::{self, Status};
use posture_core::posture::inventory::{Collected, Inventory};
use posture_tests::fixtures::MOTO_ACCOUNT;
use posture_tests::moto::Moto;

fn statuses(inv: &Inventory, check: &str) -> Vec<(String, Status)> {
    (checks::find(check).unwrap().evaluate)(inv)
        .into_iter()
        .map(|o| (o.resource, o.status))
        .collect()
}

#[tokio::test]
async fn iam_is_collected_and_planted_problems_fail_while_clean_ones_pass() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    for user in ["alice", "bob", "carol"] {
        iam.create_user().user_name(user).send().await.unwrap();
    }
    // alice: console password, no MFA, a full-admin customer policy attached directly.
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-Battery-1")
        .send()
        .await
        .unwrap();
    let admin = iam
        .create_policy()
        .policy_name("FullAdmin")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn(admin.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    // bob: console password with a virtual MFA device; permissions through a group.
    iam.create_login_profile()
        .user_name("bob")
        .password("Correct-Horse-Battery-2")
        .send()
        .await
        .unwrap();
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("bob")
        .send()
        .await
        .unwrap();
    let serial = mfa.virtual_mfa_device().unwrap().serial_number().to_string();
    iam.enable_mfa_device()
        .user_name("bob")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    let read_s3 = iam
        .create_policy()
        .policy_name("ReadReports")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("analysts").send().await.unwrap();
    iam.attach_group_policy()
        .group_name("analysts")
        .policy_arn(read_s3.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("analysts")
        .user_name("bob")
        .send()
        .await
        .unwrap();
    // carol: an access key only.
    iam.create_access_key().user_name("carol").send().await.unwrap();

    let collected = posture_aws::collect::iam::collect(&iam, MOTO_ACCOUNT).await;
    let Collected::Collected(data) = &collected else {
        panic!("IAM not collected: {collected:?}")
    };
    assert!(
        data.credential_report
            .iter()
            .any(|r| r.user == "alice" && r.password_enabled && !r.mfa_active)
    );
    assert!(
        data.credential_report.iter().any(|r| r.user == "bob" && r.mfa_active),
        "{:?}",
        data.credential_report
    );
    assert_eq!(data.password_policy, None, "moto starts without a password policy");
    let inv = Inventory {
        account_id: MOTO_ACCOUNT.into(),
        collected_at: jiff::Timestamp::now(),
        iam: collected.clone(),
        ..Inventory::default()
    };

    let mfa = statuses(&inv, "iam.console_users_mfa");
    assert!(mfa.contains(&("alice".into(), Status::Fail)), "{mfa:?}");
    assert!(mfa.contains(&("bob".into(), Status::Pass)), "{mfa:?}");
    assert!(mfa.contains(&("carol".into(), Status::Skip)), "{mfa:?}");
    let admin = statuses(&inv, "iam.no_full_admin_policies");
    assert!(admin.contains(&("FullAdmin".into(), Status::Fail)), "{admin:?}");
    assert!(admin.contains(&("ReadReports".into(), Status::Pass)), "{admin:?}");
    let direct = statuses(&inv, "iam.no_user_attached_policies");
    assert!(
        direct.contains(&("alice".into(), Status::Fail)) && direct.contains(&("bob".into(), Status::Pass)),
        "{direct:?}"
    );
    assert_eq!(
        statuses(&inv, "iam.password_min_length"),
        [(format!("account {MOTO_ACCOUNT}"), Status::Fail)]
    );

    iam.update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(24)
        .send()
        .await
        .unwrap();
    let inv = Inventory {
        iam: posture_aws::collect::iam::collect(&iam, MOTO_ACCOUNT).await,
        ..inv
    };
    assert_eq!(
        statuses(&inv, "iam.password_min_length"),
        [(format!("account {MOTO_ACCOUNT}"), Status::Pass)]
    );
    assert_eq!(
        statuses(&inv, "iam.password_reuse"),
        [(format!("account {MOTO_ACCOUNT}"), Status::Pass)]
    );
}

#[tokio::test]
async fn kms_rotation_and_config_recording_are_collected_and_judged() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&cfg);
    let rotated = kms
        .create_key()
        .description("rotated")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    kms.enable_key_rotation().key_id(&rotated).send().await.unwrap();
    let stale = kms
        .create_key()
        .description("never rotated")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let config = aws_sdk_config::Client::new(&cfg);

    let region = |kms, config| posture_core::posture::inventory::RegionInventory {
        kms,
        config,
        ..Default::default()
    };
    let inventory = |r| Inventory {
        account_id: MOTO_ACCOUNT.into(),
        collected_at: jiff::Timestamp::now(),
        region: [("us-east-1".to_string(), r)].into(),
        ..Inventory::default()
    };
    let inv = inventory(region(
        posture_aws::collect::kms::collect(&kms).await,
        posture_aws::collect::config::collect(&config).await,
    ));
    let rotation = statuses(&inv, "kms.key_rotation");
    assert!(rotation.contains(&(rotated.clone(), Status::Pass)), "{rotation:?}");
    assert!(rotation.contains(&(stale.clone(), Status::Fail)), "{rotation:?}");
    let recording = statuses(&inv, "config.recorder_enabled");
    assert!(
        recording.iter().any(|(_, s)| *s == Status::Fail),
        "no recorder yet: {recording:?}"
    );

    use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{MOTO_ACCOUNT}:role/config-recorder"))
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-history-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
    let inv = inventory(region(
        Collected::default(),
        posture_aws::collect::config::collect(&config).await,
    ));
    let recording = statuses(&inv, "config.recorder_enabled");
    assert!(
        !recording.is_empty() && recording.iter().all(|(_, s)| *s == Status::Pass),
        "{recording:?}"
    );
}
