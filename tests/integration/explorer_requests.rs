//! The explorer writes every request of tests/explorer/corpus.json byte for
//! byte as botocore does: method, URL, body and headers, the signature
//! included (same parameters, credentials and clock). botocore runs here
//! (tests/explorer/botocore_requests.py), at the version the embedded
//! models come from.

use base64::Engine;
use posture_explorer::{model, policy, request};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("explorer")
}

fn botocore_requests() -> Vec<Value> {
    let python = std::env::var("POSTURE_PYTHON").expect("POSTURE_PYTHON (scripts/test-env.sh) names the venv's python");
    let dir = corpus_dir();
    let out = Command::new(python)
        .arg(dir.join("botocore_requests.py"))
        .arg(dir.join("corpus.json"))
        .output()
        .expect("botocore_requests.py runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn requests_match_botocore_byte_for_byte() {
    let corpus: Value = serde_json::from_slice(&std::fs::read(corpus_dir().join("corpus.json")).unwrap()).unwrap();
    let creds = &corpus["credentials"];
    let credentials = aws_credential_types::Credentials::new(
        creds["access_key_id"].as_str().unwrap(),
        creds["secret_access_key"].as_str().unwrap(),
        creds["session_token"].as_str().map(String::from),
        None,
        "corpus",
    );
    let at: jiff::Timestamp = corpus["time"].as_str().unwrap().parse().unwrap();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.as_second().try_into().unwrap());
    let expected = botocore_requests();
    let cases = corpus["cases"].as_array().unwrap();
    assert_eq!(expected.len(), cases.len());
    let catalog = model::catalog().unwrap();
    let policy = policy::Policy::builtin().unwrap();
    let mut protocols = BTreeMap::new();
    let mut mismatches = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        let service = case["service"].as_str().unwrap();
        let name = case["operation"].as_str().unwrap();
        let label = format!("{service} {name}");
        let allowed = policy
            .decide(service, name, &case["params"])
            .unwrap_or_else(|e| panic!("{e}"));
        let entry = &catalog.services[service];
        *protocols
            .entry(format!("{:?}", allowed.model.metadata.protocol))
            .or_insert(0) += 1;
        let endpoint = request::endpoint(entry, case["region"].as_str().unwrap(), None).unwrap();
        let got = request::build(&allowed, &case["params"], &endpoint, &credentials, at)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let headers: BTreeMap<String, String> = got
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let want_headers: BTreeMap<String, String> = want["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let want_body = base64::engine::general_purpose::STANDARD
            .decode(want["body"].as_str().unwrap())
            .unwrap();
        let same =
            got.method == want["method"] && got.url == want["url"] && got.body == want_body && headers == want_headers;
        if !same {
            mismatches.push(format!(
                "{label}:\n  ours:     {} {} {:?}\n            {headers:?}\n  botocore: {} {} {:?}\n            {want_headers:?}",
                got.method,
                got.url,
                String::from_utf8_lossy(&got.body),
                want["method"],
                want["url"],
                String::from_utf8_lossy(&want_body),
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    // The corpus covers the five protocols.
    assert_eq!(protocols.len(), 5, "{protocols:?}");
    assert!(cases.len() >= 30);
}
