//! A stand-in OAuth issuer on 127.0.0.1: its OpenID configuration and a JWKS
//! that a test can change (key rotation), with signing keys generated per
//! test run (no key material is committed). Test-only.

use aws_lc_rs::encoding::AsDer;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A signing key of the stand-in issuer, with its public JWK.
pub struct TestKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The signature algorithm.
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public key as published in the JWKS.
    pub jwk: Jwk,
}

/// The contents of a DER TLV: `(tag, content, rest)`.
fn der_tlv(bytes: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = bytes[0];
    let (len, header) = match bytes[1] {
        n if n < 0x80 => (n as usize, 2),
        n => {
            let count = (n & 0x7f) as usize;
            let len = bytes[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + count)
        }
    };
    (tag, &bytes[header..header + len], &bytes[header + len..])
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`.
fn pkcs1_of_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
    let (tag, info, _) = der_tlv(pkcs8);
    assert_eq!(tag, 0x30);
    let (tag, _version, rest) = der_tlv(info);
    assert_eq!(tag, 0x02);
    let (tag, _algorithm, rest) = der_tlv(rest);
    assert_eq!(tag, 0x30);
    let (tag, key, _) = der_tlv(rest);
    assert_eq!(tag, 0x04);
    key.to_vec()
}

impl TestKey {
    fn new(kid: &str, alg: Algorithm, encoding: EncodingKey) -> TestKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        jwk.common.key_id = Some(kid.to_string());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        TestKey {
            kid: kid.to_string(),
            alg,
            encoding,
            jwk,
        }
    }

    /// A new RSA 2048 key for RS256.
    pub fn rsa(kid: &str) -> TestKey {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let der = pkcs1_of_pkcs8(pkcs8.as_ref());
        TestKey::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(&der))
    }

    /// A new P-256 key for ES256.
    pub fn ec(kid: &str) -> TestKey {
        let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap();
        let der = pair.to_pkcs8v1().unwrap();
        TestKey::new(kid, Algorithm::ES256, EncodingKey::from_ec_der(der.as_ref()))
    }

    /// A JWT of `claims`, signed by this key, with its `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A JWT of `claims` signed by this key but naming another `kid`.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | ((*b as u32) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token with the given header and claims and no signature (`alg: none`).
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// A token signed with HMAC-SHA256 and `secret`.
pub fn hs256(secret: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The stand-in issuer: `GET /.well-known/openid-configuration` and
/// `GET /jwks` on 127.0.0.1.
pub struct Issuer {
    /// The issuer URL (`http://127.0.0.1:<port>`), also its `iss`.
    pub url: String,
    keys: Arc<Mutex<Vec<Jwk>>>,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    /// Starts an issuer publishing `keys`.
    pub async fn start(keys: &[&TestKey]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let published = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let config = json!({
            "issuer": url,
            "jwks_uri": format!("{url}/jwks"),
            "authorization_endpoint": format!("{url}/authorize"),
            "token_endpoint": format!("{url}/token"),
        });
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let config = config.clone();
                    async move { axum::Json(config) }
                }),
            )
            .route(
                "/jwks",
                axum::routing::get({
                    let published = published.clone();
                    let fetches = fetches.clone();
                    move || {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let keys = published.lock().unwrap().clone();
                        async move { axum::Json(json!({"keys": keys})) }
                    }
                }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Issuer {
            url,
            keys: published,
            fetches,
            task,
        }
    }

    /// Replaces the published keys (key rotation).
    pub fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
