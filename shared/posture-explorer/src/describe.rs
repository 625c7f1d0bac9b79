//! An operation's input and output shapes as a tree a caller can build a
//! correct `aws_read` from: member names, types, which are required,
//! allowed values, and the operation's paging.

use crate::model::{self, ModelError, Resolved, ServiceModel};
use serde::Serialize;

/// How deep nested structures are shown (recursive shapes stop here too).
const MAX_DEPTH: usize = 5;
/// Enum values shown per field.
const MAX_ENUM_VALUES: usize = 30;

/// One field of a shape.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Field {
    /// The member's name (`item` for a list's items, `key`/`value` for a map's).
    pub name: String,
    /// structure, list, map, string, integer, long, boolean, timestamp, blob, double, float.
    #[serde(rename = "type")]
    pub kind: String,
    /// The operation needs it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// Allowed values (the first 30), when the model lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Bounds of a number or length, when the model gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound, when the model gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A structure's members, or a list's item, or a map's value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Field>,
    /// True where the tree stops (deeper, or the shape contains itself).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}

/// Paging of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Paging {
    /// Parameters the next page's token goes in.
    pub input_tokens: Vec<String>,
    /// Where the response carries the token.
    pub output_tokens: Vec<String>,
    /// The page-size parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_parameter: Option<String>,
    /// The lists joined across pages.
    pub result_keys: Vec<String>,
}

/// What `describe_aws_operation` says of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OperationDoc {
    /// The service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// List or Read (Service Authorization Reference).
    pub access_level: String,
    /// The IAM action that authorizes it.
    pub iam_action: String,
    /// The AWS documentation's summary.
    pub summary: String,
    /// The parameters (`parameters` of `aws_read`).
    pub input: Vec<Field>,
    /// The response's top-level members.
    pub output: Vec<Field>,
    /// Paging, when the operation pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// The description of a read operation of the embedded models (write
/// operations are not in them: the policy names those).
pub fn describe(service: &str, operation: &str) -> Result<Option<OperationDoc>, ModelError> {
    let model = model::service(service)?;
    let Some(op) = model.operations.get(operation) else {
        return Ok(None);
    };
    let fields = |r: Option<&model::ShapeRef>| -> Result<Vec<Field>, ModelError> {
        match r {
            Some(r) => Ok(field(&model, "", model.resolve(r)?, false, 0, &mut Vec::new())?.members),
            None => Ok(Vec::new()),
        }
    };
    Ok(Some(OperationDoc {
        service: service.to_string(),
        operation: op.name.clone(),
        access_level: op.access.clone().unwrap_or_default(),
        iam_action: op.action.clone().unwrap_or_default(),
        summary: op.summary.clone(),
        input: fields(op.input.as_ref())?,
        output: fields(op.output.as_ref())?,
        paging: op.paginator.as_ref().map(|p| Paging {
            input_tokens: p.input_token.to_vec(),
            output_tokens: p.output_token.to_vec(),
            limit_parameter: p.limit_key.clone(),
            result_keys: p.result_key.as_ref().map(model::OneOrMany::to_vec).unwrap_or_default(),
        }),
    }))
}

fn field<'m>(
    model: &'m ServiceModel,
    name: &str,
    shape: Resolved<'m>,
    required: bool,
    depth: usize,
    path: &mut Vec<&'m str>,
) -> Result<Field, ModelError> {
    let mut out = Field {
        name: name.to_string(),
        kind: shape.kind().to_string(),
        required,
        values: shape.shape.enum_values.iter().take(MAX_ENUM_VALUES).cloned().collect(),
        min: shape.shape.min,
        max: shape.shape.max,
        members: Vec::new(),
        cut: false,
    };
    let nested = matches!(shape.kind(), "structure" | "list" | "map");
    if nested && (depth >= MAX_DEPTH || path.contains(&shape.name)) {
        out.cut = true;
        return Ok(out);
    }
    path.push(shape.name);
    match shape.kind() {
        "structure" => {
            for (member_name, member) in &shape.shape.members.0 {
                let required = shape.shape.required.contains(member_name);
                out.members.push(field(
                    model,
                    member_name,
                    model.resolve(member)?,
                    required,
                    depth + 1,
                    path,
                )?);
            }
        }
        "list" => out
            .members
            .push(field(model, "item", model.list_member(shape)?, false, depth + 1, path)?),
        "map" => {
            let (key, value) = model.map_entry(shape)?;
            out.members.push(field(model, "key", key, false, depth + 1, path)?);
            out.members.push(field(model, "value", value, false, depth + 1, path)?);
        }
        _ => {}
    }
    path.pop();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_groups_by_filter_and_paging() {
        let doc = describe("ec2", "DescribeSecurityGroups").unwrap().unwrap();
        assert_eq!(doc.access_level, "List");
        let filters = doc.input.iter().find(|f| f.name == "Filters").unwrap();
        assert_eq!(filters.kind, "list");
        let filter = &filters.members[0];
        let names: Vec<&str> = filter.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Name", "Values"]);
        let paging = doc.paging.unwrap();
        assert_eq!(paging.input_tokens, ["NextToken"]);
        assert_eq!(paging.result_keys, ["SecurityGroups"]);
        let policy = describe("s3", "GetBucketPolicy").unwrap().unwrap();
        assert!(policy.input.iter().any(|f| f.name == "Bucket" && f.required));
        assert!(describe("s3", "DeleteBucket").unwrap().is_none());
    }
}
