//! The embedded AWS service models (botocore's, docs stripped, read
//! operations only; `scripts/gen-aws-models.py`) and the catalog of every
//! operation with its IAM access level. Each service's model is decoded on
//! first use and kept.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// A model or the catalog could not be read (a build defect, never input).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no AWS service named {0:?}")]
    UnknownService(String),
    #[error("the embedded model of {service} cannot be read: {reason}")]
    Corrupt { service: String, reason: String },
}

/// How a service's requests and responses are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    Json,
    RestJson,
    Query,
    Ec2,
    RestXml,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub endpoint_prefix: String,
    pub signing_name: Option<String>,
    pub service_id: Option<String>,
    pub protocol: Protocol,
    pub json_version: Option<String>,
    pub target_prefix: Option<String>,
    pub global_endpoint: Option<String>,
}

impl Metadata {
    /// The SigV4 service name.
    pub fn signing_name(&self) -> &str {
        self.signing_name.as_deref().unwrap_or(&self.endpoint_prefix)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    #[serde(default = "post")]
    pub method: String,
    #[serde(default = "slash")]
    pub request_uri: String,
    pub response_code: Option<u16>,
}

fn post() -> String {
    "POST".into()
}

fn slash() -> String {
    "/".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationEndpoint {
    pub host_prefix: Option<String>,
}

/// botocore's paginator entry: tokens and result keys may be one or many.
#[derive(Debug, Clone, Deserialize)]
pub struct Paginator {
    pub input_token: OneOrMany,
    pub output_token: OneOrMany,
    pub limit_key: Option<String>,
    pub result_key: Option<OneOrMany>,
    pub more_results: Option<String>,
    #[serde(default)]
    pub non_aggregate_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    pub http: Http,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    pub endpoint: Option<OperationEndpoint>,
    /// IAM access level (Service Authorization Reference): List or Read.
    pub access: Option<String>,
    /// The IAM action that authorizes the operation (`service:Action`).
    pub action: Option<String>,
    #[serde(default)]
    pub summary: String,
    pub paginator: Option<Paginator>,
}

/// XML namespace trait: a URI, or a URI with a prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum XmlNamespace {
    Uri(String),
    Prefixed { prefix: Option<String>, uri: String },
}

/// Serialization traits, on a shape or on a reference to one (where they
/// override the shape's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Traits {
    pub location: Option<String>,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    pub flattened: Option<bool>,
    pub xml_namespace: Option<XmlNamespace>,
    pub xml_attribute: Option<bool>,
    pub timestamp_format: Option<String>,
    pub jsonvalue: Option<bool>,
    pub host_label: Option<bool>,
    pub result_wrapper: Option<String>,
    pub payload: Option<String>,
    pub streaming: Option<bool>,
    pub document: Option<bool>,
}

impl Traits {
    /// These traits with `over`'s set ones in their place.
    pub fn overlaid(&self, over: &Traits) -> Traits {
        Traits {
            location: over.location.clone().or_else(|| self.location.clone()),
            location_name: over.location_name.clone().or_else(|| self.location_name.clone()),
            query_name: over.query_name.clone().or_else(|| self.query_name.clone()),
            flattened: over.flattened.or(self.flattened),
            xml_namespace: over.xml_namespace.clone().or_else(|| self.xml_namespace.clone()),
            xml_attribute: over.xml_attribute.or(self.xml_attribute),
            timestamp_format: over.timestamp_format.clone().or_else(|| self.timestamp_format.clone()),
            jsonvalue: over.jsonvalue.or(self.jsonvalue),
            host_label: over.host_label.or(self.host_label),
            result_wrapper: over.result_wrapper.clone().or_else(|| self.result_wrapper.clone()),
            payload: over.payload.clone().or_else(|| self.payload.clone()),
            streaming: over.streaming.or(self.streaming),
            document: over.document.or(self.document),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
    #[serde(flatten)]
    pub traits: Traits,
}

/// A structure's members in the model's order.
#[derive(Debug, Clone, Default)]
pub struct Members(pub Vec<(String, ShapeRef)>);

impl Members {
    pub fn get(&self, name: &str) -> Option<&ShapeRef> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of members")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((name, member)) = map.next_entry::<String, ShapeRef>()? {
                    members.push((name, member));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub members: Members,
    pub member: Option<ShapeRef>,
    pub key: Option<ShapeRef>,
    pub value: Option<ShapeRef>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(rename = "enum", default)]
    pub enum_values: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: Option<String>,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(flatten)]
    pub traits: Traits,
}

/// One service's model.
#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    pub metadata: Metadata,
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

/// A shape as one reference sees it: the shape and its traits with the
/// reference's in their place.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'m> {
    pub name: &'m str,
    pub shape: &'m Shape,
    pub traits: &'m Traits,
    pub member_traits: &'m Traits,
}

impl<'m> Resolved<'m> {
    /// The effective trait: the reference's, else the shape's.
    pub fn trait_of<T>(&self, pick: impl Fn(&'m Traits) -> Option<T>) -> Option<T> {
        pick(self.member_traits).or_else(|| pick(self.traits))
    }

    pub fn location_name(&self) -> Option<&'m str> {
        self.trait_of(|t| t.location_name.as_deref())
    }

    pub fn flattened(&self) -> bool {
        self.trait_of(|t| t.flattened).unwrap_or(false)
    }

    pub fn timestamp_format(&self) -> Option<&'m str> {
        self.trait_of(|t| t.timestamp_format.as_deref())
    }

    pub fn location(&self) -> Option<&'m str> {
        self.member_traits.location.as_deref()
    }

    pub fn kind(&self) -> &'m str {
        &self.shape.kind
    }
}

impl ServiceModel {
    /// A list's member shape.
    pub fn list_member<'m>(&'m self, list: Resolved<'m>) -> Result<Resolved<'m>, ModelError> {
        let member = list
            .shape
            .member
            .as_ref()
            .ok_or_else(|| self.corrupt(format!("list {} has no member", list.name)))?;
        self.resolve(member)
    }

    /// A map's key and value shapes.
    pub fn map_entry<'m>(&'m self, map: Resolved<'m>) -> Result<(Resolved<'m>, Resolved<'m>), ModelError> {
        let (Some(key), Some(value)) = (map.shape.key.as_ref(), map.shape.value.as_ref()) else {
            return Err(self.corrupt(format!("map {} has no key or value", map.name)));
        };
        Ok((self.resolve(key)?, self.resolve(value)?))
    }

    fn corrupt(&self, reason: String) -> ModelError {
        ModelError::Corrupt {
            service: self.metadata.endpoint_prefix.clone(),
            reason,
        }
    }

    /// The shape a reference names, with the reference's traits.
    pub fn resolve<'m>(&'m self, reference: &'m ShapeRef) -> Result<Resolved<'m>, ModelError> {
        let shape = self
            .shapes
            .get(&reference.shape)
            .ok_or_else(|| self.corrupt(format!("no shape {}", reference.shape)))?;
        Ok(Resolved {
            name: &reference.shape,
            shape,
            traits: &shape.traits,
            member_traits: &reference.traits,
        })
    }
}

/// The catalog: every operation of every service, with its access level.
#[derive(Debug, Deserialize)]
pub struct Catalog {
    pub botocore_version: String,
    pub sar_source: String,
    pub services: BTreeMap<String, CatalogService>,
    #[serde(default)]
    pub unsupported: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct CatalogService {
    pub service_id: Option<String>,
    pub full_name: Option<String>,
    pub iam_prefix: Option<String>,
    pub protocol: Protocol,
    pub endpoint_prefix: String,
    pub signing_name: Option<String>,
    pub api_version: String,
    pub global_endpoint: Option<GlobalEndpoint>,
    /// Operation → `[access level, IAM action, summary (reads only)]`.
    pub operations: BTreeMap<String, Vec<Option<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GlobalEndpoint {
    pub hostname: String,
    /// `None`: signed for the caller's region.
    pub signing_region: Option<String>,
}

/// What the catalog says of one operation.
#[derive(Debug, Clone, Copy)]
pub struct CatalogOperation<'c> {
    pub access: Option<&'c str>,
    pub action: Option<&'c str>,
    pub summary: Option<&'c str>,
}

impl CatalogService {
    pub fn operation(&self, name: &str) -> Option<CatalogOperation<'_>> {
        let entry = self.operations.get(name)?;
        let at = |i: usize| entry.get(i).and_then(|v| v.as_deref());
        Some(CatalogOperation {
            access: at(0),
            action: at(1),
            summary: at(2),
        })
    }
}

fn gunzip(service: &str, bytes: &[u8]) -> Result<Vec<u8>, ModelError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| ModelError::Corrupt {
            service: service.into(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// The catalog, decoded on first use.
pub fn catalog() -> Result<&'static Catalog, ModelError> {
    static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let json = gunzip("catalog", embedded::CATALOG).map_err(|e| e.to_string())?;
            serde_json::from_slice(&json).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|reason| ModelError::Corrupt {
            service: "catalog".into(),
            reason: reason.clone(),
        })
}

/// The names of the services with an embedded model.
pub fn service_names() -> impl Iterator<Item = &'static str> {
    embedded::MODELS.iter().map(|(name, _)| *name)
}

/// A service's model, decoded on first use and kept.
pub fn service(name: &str) -> Result<Arc<ServiceModel>, ModelError> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<ServiceModel>>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    if let Some(model) = loaded.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
        return Ok(model.clone());
    }
    let index = embedded::MODELS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .map_err(|_| ModelError::UnknownService(name.into()))?;
    let json = gunzip(name, embedded::MODELS[index].1)?;
    let model: ServiceModel = serde_json::from_slice(&json).map_err(|e| ModelError::Corrupt {
        service: name.into(),
        reason: e.to_string(),
    })?;
    let model = Arc::new(model);
    loaded
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name.into(), model.clone());
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_and_every_embedded_model_decode() {
        let catalog = catalog().unwrap();
        let names: Vec<&str> = service_names().collect();
        assert!(names.len() > 400, "{}", names.len());
        for name in names {
            let model = service(name).unwrap_or_else(|e| panic!("{e}"));
            let entry = &catalog.services[name];
            assert_eq!(entry.protocol, model.metadata.protocol, "{name}");
            for (op_name, op) in &model.operations {
                let listed = entry
                    .operation(op_name)
                    .unwrap_or_else(|| panic!("{name} {op_name} not in the catalog"));
                assert!(matches!(listed.access, Some("List" | "Read")), "{name} {op_name}");
                for r in [&op.input, &op.output].into_iter().flatten() {
                    model.resolve(r).unwrap();
                }
            }
        }
    }
}
