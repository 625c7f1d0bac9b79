//! From a question in plain words to the read operations that answer it:
//! the catalog's operation names and summaries, and a curated table of the
//! words people use for AWS things ("security group", "bucket", "runtime").
//! Only operations the catalog marks List or Read are ever suggested.

use crate::model::{self, ModelError};
use std::collections::{BTreeMap, BTreeSet};

/// Words for AWS things and where they live: a phrase, the services it
/// points to, and words it stands for in operation names.
const SYNONYMS: &[(&str, &[&str], &[&str])] = &[
    ("security group", &["ec2"], &["securitygroup"]),
    ("port", &["ec2"], &["securitygroup"]),
    ("0.0.0.0/0", &["ec2"], &["securitygroup"]),
    ("ingress", &["ec2"], &["securitygroup"]),
    ("firewall", &["ec2"], &["securitygroup"]),
    ("instance", &["ec2"], &["instance"]),
    ("server", &["ec2"], &["instance"]),
    ("vm", &["ec2"], &["instance"]),
    ("ami", &["ec2"], &["image"]),
    ("image", &["ec2"], &["image"]),
    ("volume", &["ec2"], &["volume"]),
    ("disk", &["ec2"], &["volume"]),
    ("ebs", &["ec2"], &["volume", "ebs"]),
    ("snapshot", &["ec2"], &["snapshot"]),
    ("vpc", &["ec2"], &["vpc"]),
    ("subnet", &["ec2"], &["subnet"]),
    ("flow log", &["ec2"], &["flowlog"]),
    ("network acl", &["ec2"], &["networkacl"]),
    ("nacl", &["ec2"], &["networkacl"]),
    ("elastic ip", &["ec2"], &["address"]),
    ("region", &["ec2"], &["region"]),
    ("key pair", &["ec2"], &["keypair"]),
    ("bucket", &["s3"], &["bucket"]),
    ("public access block", &["s3"], &["publicaccessblock"]),
    ("bucket policy", &["s3"], &["bucketpolicy"]),
    ("object", &["s3"], &["object"]),
    ("encryption", &[], &["encryption"]),
    ("versioning", &["s3"], &["versioning"]),
    ("user", &["iam"], &["user"]),
    ("role", &["iam"], &["role"]),
    ("group", &["iam"], &["group"]),
    ("iam policy", &["iam"], &["policy"]),
    ("access key", &["iam"], &["accesskey"]),
    ("mfa", &["iam"], &["mfadevice", "virtualmfadevice"]),
    ("password policy", &["iam"], &["accountpasswordpolicy"]),
    ("credential report", &["iam"], &["credentialreport"]),
    ("function", &["lambda"], &["function"]),
    ("lambda", &["lambda"], &["function"]),
    ("runtime", &["lambda"], &["function"]),
    ("layer", &["lambda"], &["layer"]),
    ("database", &["rds"], &["dbinstance"]),
    ("db", &["rds"], &["dbinstance"]),
    ("rds", &["rds"], &["dbinstance"]),
    ("aurora", &["rds"], &["dbcluster"]),
    ("kms key", &["kms"], &["key"]),
    ("key rotation", &["kms"], &["keyrotationstatus"]),
    ("rotation", &["kms"], &["keyrotationstatus"]),
    ("cmk", &["kms"], &["key"]),
    ("trail", &["cloudtrail"], &["trail"]),
    ("cloudtrail", &["cloudtrail"], &["trail"]),
    ("log group", &["logs"], &["loggroup"]),
    ("retention", &["logs"], &["loggroup"]),
    ("metric filter", &["logs"], &["metricfilter"]),
    ("alarm", &["cloudwatch"], &["alarm"]),
    ("topic", &["sns"], &["topic"]),
    ("subscription", &["sns"], &["subscription"]),
    ("queue", &["sqs"], &["queue"]),
    ("secret", &["secretsmanager"], &["secret"]),
    ("certificate", &["acm"], &["certificate"]),
    ("expire", &["acm"], &["certificate"]),
    ("table", &["dynamodb"], &["table"]),
    ("dynamodb", &["dynamodb"], &["table"]),
    ("repository", &["ecr"], &["repository"]),
    ("container image", &["ecr"], &["image"]),
    ("kubernetes", &["eks"], &["cluster"]),
    ("eks", &["eks"], &["cluster"]),
    ("ecs", &["ecs"], &["cluster"]),
    ("distribution", &["cloudfront"], &["distribution"]),
    ("cdn", &["cloudfront"], &["distribution"]),
    ("hosted zone", &["route53"], &["hostedzone"]),
    ("dns", &["route53"], &["hostedzone"]),
    ("load balancer", &["elbv2"], &["loadbalancer"]),
    ("alb", &["elbv2"], &["loadbalancer"]),
    ("listener", &["elbv2"], &["listener"]),
    ("stack", &["cloudformation"], &["stack"]),
    ("parameter", &["ssm"], &["parameter"]),
    ("patch", &["ssm"], &["patch"]),
    ("managed instance", &["ssm"], &["instanceinformation"]),
    ("guardduty", &["guardduty"], &["finding", "detector"]),
    ("detector", &["guardduty"], &["detector"]),
    ("security hub", &["securityhub"], &["finding"]),
    ("standard", &["securityhub"], &["enabledstandard"]),
    ("analyzer", &["accessanalyzer"], &["analyzer"]),
    ("external access", &["accessanalyzer"], &["finding"]),
    ("config rule", &["config"], &["configrule"]),
    ("recorder", &["config"], &["configurationrecorder"]),
    ("compliance", &["config"], &["compliance"]),
    ("account", &["organizations"], &["account"]),
    ("organizational unit", &["organizations"], &["organizationalunit"]),
    ("scp", &["organizations"], &["policy"]),
    ("service control policy", &["organizations"], &["policy"]),
    ("vulnerability", &["inspector2"], &["finding"]),
    ("cve", &["inspector2"], &["finding"]),
    ("file system", &["efs"], &["filesystem"]),
    ("efs", &["efs"], &["filesystem"]),
    ("backup", &["backup"], &["backupplan"]),
    ("waf", &["wafv2"], &["webacl"]),
    ("web acl", &["wafv2"], &["webacl"]),
    ("api", &["apigateway"], &["restapi"]),
    ("cache", &["elasticache"], &["cachecluster"]),
    ("redshift", &["redshift"], &["cluster"]),
    ("warehouse", &["redshift"], &["cluster"]),
    ("auto scaling", &["autoscaling"], &["autoscalinggroup"]),
    ("state machine", &["stepfunctions"], &["statemachine"]),
    ("event rule", &["events"], &["rule"]),
    ("sagemaker", &["sagemaker"], &["notebookinstance"]),
    ("notebook", &["sagemaker"], &["notebookinstance"]),
];

/// Words that carry no meaning for the search.
const STOPWORDS: &[&str] = &[
    "a", "all", "an", "and", "any", "are", "at", "by", "do", "does", "for", "from", "give", "has", "have", "how", "i",
    "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "show", "that", "the", "their", "them", "there",
    "these", "this", "to", "use", "uses", "using", "what", "which", "who", "with", "without", "list", "get", "find",
    "describe", "every", "each", "not", "no", "x", "we", "be", "can", "aws",
];

/// One suggested operation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Suggestion {
    /// The service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// List or Read.
    pub access_level: String,
    /// The IAM action that authorizes it.
    pub iam_action: String,
    /// The operation's summary from the AWS documentation.
    pub summary: String,
    /// How well it matched (higher is better; comparable within one answer).
    pub score: u32,
}

/// The lower-case words of a camel-case operation name, singular.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.into_iter().map(|w| singular(&w)).collect()
}

fn singular(word: &str) -> String {
    if word.len() > 4 && word.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

fn question_words(question: &str) -> Vec<String> {
    question
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .map(singular)
        .collect()
}

/// The best `limit` read operations for `question`, optionally within one
/// service.
pub fn suggest(question: &str, service: Option<&str>, limit: usize) -> Result<Vec<Suggestion>, ModelError> {
    let catalog = model::catalog()?;
    let lower = format!(" {} ", question.to_lowercase());
    let words = question_words(question);
    let mut services: BTreeMap<&str, u32> = BTreeMap::new();
    let mut concepts: BTreeSet<String> = BTreeSet::new();
    for (phrase, in_services, stands_for) in SYNONYMS {
        let hit = if phrase.contains(' ') || phrase.contains('/') {
            lower.contains(phrase)
        } else {
            words.iter().any(|w| w == &singular(phrase))
        };
        if hit {
            for s in *in_services {
                *services.entry(s).or_default() += 1;
            }
            concepts.extend(stands_for.iter().map(|c| c.to_string()));
        }
    }
    // A service named outright counts most.
    for (name, entry) in &catalog.services {
        let id = entry.service_id.as_deref().unwrap_or_default().to_lowercase();
        if words.iter().any(|w| w == name || (!id.is_empty() && w == &id)) {
            *services.entry(name.as_str()).or_default() += 3;
        }
    }
    let mut scored = Vec::new();
    for (name, entry) in &catalog.services {
        if service.is_some_and(|s| s != name) {
            continue;
        }
        let service_score = services.get(name.as_str()).copied().unwrap_or(0);
        if service.is_none() && service_score == 0 && !services.is_empty() {
            continue;
        }
        for op_name in entry.operations.keys() {
            let Some(op) = entry.operation(op_name) else { continue };
            if !matches!(op.access, Some("List" | "Read")) {
                continue;
            }
            let op_words = name_words(op_name);
            let joined: String = op_words.iter().skip(1).cloned().collect();
            let summary_words = question_words(op.summary.unwrap_or_default());
            let mut score = service_score * 4;
            for concept in &concepts {
                if &joined == concept {
                    score += 12;
                } else if joined.contains(concept.as_str()) {
                    score += 5;
                }
            }
            for w in &words {
                if op_words.iter().skip(1).any(|o| o == w) {
                    score += 4;
                }
                if summary_words.contains(w) {
                    score += 1;
                }
            }
            if score <= service_score * 4 {
                continue;
            }
            // Listing verbs answer "which ..." questions; the V2 of an API is its current form.
            if matches!(op_words.first().map(String::as_str), Some("describe" | "list")) {
                score += 2;
            }
            if op_name.ends_with("V2") {
                score += 1;
            }
            scored.push(Suggestion {
                service: name.clone(),
                operation: op_name.clone(),
                access_level: op.access.unwrap_or_default().to_string(),
                iam_action: op.action.unwrap_or_default().to_string(),
                summary: op.summary.unwrap_or_default().to_string(),
                score,
            });
        }
    }
    scored.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.operation.len().cmp(&b.operation.len()))
            .then(a.service.cmp(&b.service))
            .then(a.operation.cmp(&b.operation))
    });
    scored.truncate(limit);
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_split_into_singular_words() {
        assert_eq!(
            name_words("DescribeSecurityGroups"),
            vec!["describe", "security", "group"]
        );
        assert_eq!(name_words("ListMFADevices"), vec!["list", "mfa", "device"]);
        assert_eq!(
            name_words("GetBucketPolicyStatus"),
            vec!["get", "bucket", "policy", "status"]
        );
        assert_eq!(name_words("ListPolicies"), vec!["list", "policy"]);
    }
}
