//! Custom frameworks: a valid file appears in get_server_info and can be
//! assessed; a malformed one is reported with its file and location.

use posture_core::posture::frameworks::builtin;
use serde_json::json;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test]
async fn a_custom_framework_is_loaded_listed_and_assessed_and_a_broken_one_is_reported() {
    let dir = std::env::temp_dir().join(format!("posture-frameworks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "acme.json",
        r#"{"id": "ACME-BASELINE-1", "name": "ACME cloud baseline", "version": "1.0", "short_name": "ACME",
            "requirements": [
              {"id": "ACME-1", "title": "Instances require IMDSv2", "automated": true, "checks": ["ec2.imdsv2_required"]},
              {"id": "ACME-2", "title": "Root has MFA", "automated": true, "checks": ["iam.root_mfa"], "security_hub_controls": ["IAM.9"]}
            ]}"#,
    );
    write(
        &dir,
        "broken.json",
        "{\"id\": \"X\", \"name\": \"X\", \"version\": \"1\", \"short_name\": \"X\",\n \"requirements\": [{\"id\": \"1\", \"title\": \"t\", \"checks\": [\"no.such.check\"]}]}",
    );

    let (frameworks, errors) = mcp_server::load_frameworks(Some(&dir)).unwrap();
    assert_eq!(frameworks.len(), builtin().unwrap().len() + 1);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].file.ends_with("broken.json"));
    assert_eq!(errors[0].location, "requirements[0] (id \"1\").checks[0]");

    let mut backend = posture_tests::mcp::demo_backend();
    backend.frameworks = frameworks;
    backend.framework_errors = errors;
    let server = posture_mcp::PostureServer::new(backend);

    let info = server
        .call("get_server_info", None, "test", "1")
        .await
        .unwrap()
        .structured_content
        .unwrap();
    let listed: Vec<&str> = info["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["short_name"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"ACME"), "{listed:?}");
    assert!(info["framework_errors"][0].as_str().unwrap().contains("no.such.check"));

    let r = server
        .call(
            "check_compliance_status",
            json!({"framework": "ACME"}).as_object().cloned(),
            "test",
            "2",
        )
        .await
        .unwrap();
    let sc = r.structured_content.unwrap();
    assert_ne!(r.is_error, Some(true), "{sc}");
    let acme1 = sc["control_results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["control_id"] == "ACME-1")
        .unwrap();
    assert_eq!(acme1["status"], "FAILED", "the demo's prod instance uses IMDSv1");

    let r = server
        .call(
            "check_compliance_status",
            json!({"framework": "X"}).as_object().cloned(),
            "test",
            "3",
        )
        .await
        .unwrap();
    let e = r.structured_content.unwrap();
    assert_eq!(e["error_type"], "ComplianceFrameworkError", "{e}");
    assert!(
        e["context"]["framework_files"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("broken.json")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
