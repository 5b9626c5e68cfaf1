//! External identity (`fushi_server::jwt`): the platform's JWTs checked
//! against its JWKS, with keys made here (P-256 and Ed25519 with rcgen,
//! RSA with the `rsa` crate) and a JWKS served on 127.0.0.1 for rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fushi_core::policy::Role;
use fushi_server::jwt::{JwksSource, JwtConfig, JwtError, JwtVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ISS: &str = "https://platform.example.org";
const AUD: &str = "fushi-sync";
const SUB: &str = "platform-user-4711-secret";

/// A key of the platform: how to sign, and its public JWK.
struct TestKey {
    kid: String,
    alg: Algorithm,
    enc: EncodingKey,
    jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn ec_key(kid: &str) -> TestKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw(); // 0x04 || x || y
    assert_eq!(point.len(), 65);
    TestKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        enc: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..]),
        }),
    }
}

fn ed_key(kid: &str) -> TestKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    TestKey {
        kid: kid.into(),
        alg: Algorithm::EdDSA,
        enc: EncodingKey::from_ed_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid,
            "x": b64(pair.public_key_raw()),
        }),
    }
}

/// One RSA key per test binary (making one takes a while): its private key
/// (PKCS#1 DER) and modulus and exponent.
fn rsa_parts() -> &'static (Vec<u8>, Vec<u8>, Vec<u8>) {
    static PARTS: OnceLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = OnceLock::new();
    PARTS.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        use rsa::Generate;
        let private = rsa::PrivateKey::generate();
        let public = private.to_public_key();
        (
            private.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            public.n_bytes().to_vec(),
            public.e_bytes().to_vec(),
        )
    })
}

/// The RSA key; its JWK declares `declared` (or no `alg`).
fn rsa_key(kid: &str, alg: Algorithm, declared: Option<&str>) -> TestKey {
    let (der, n, e) = rsa_parts();
    let mut jwk = json!({ "kty": "RSA", "use": "sig", "kid": kid, "n": b64(n), "e": b64(e) });
    if let Some(d) = declared {
        jwk["alg"] = json!(d);
    }
    TestKey {
        kid: kid.into(),
        alg,
        enc: EncodingKey::from_rsa_der(der),
        jwk,
    }
}

fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": SUB,
        "role": "grid_staff", "community": "north-3",
        "iat": now(), "exp": now() + 600,
    })
}

fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.enc).unwrap()
}

fn sign_without_kid(key: &TestKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(key.alg), claims, &key.enc).unwrap()
}

/// A token with this header and claims, and `signature` as its signature.
fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

/// An HS256 token under `kid`, its HMAC secret `secret`: what an attacker
/// signs with a public key's bytes, hoping it is taken as a shared secret.
fn hs256(kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

struct FileJwks {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn jwks_file(doc: &Value) -> FileJwks {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    FileJwks { _dir: dir, path }
}

async fn verifier_with(doc: &Value, tweak: impl FnOnce(&mut JwtConfig)) -> (JwtVerifier, FileJwks) {
    let file = jwks_file(doc);
    let mut config = JwtConfig::new(JwksSource::File(file.path.clone()), ISS, AUD);
    tweak(&mut config);
    (JwtVerifier::new(config).await.unwrap(), file)
}

async fn verifier(keys: &[&TestKey]) -> (JwtVerifier, FileJwks) {
    verifier_with(&jwks(keys), |_| {}).await
}

/// The refusal's code, checking on the way that its message gives away
/// neither the token nor the subject.
async fn refused(v: &JwtVerifier, token: &str) -> &'static str {
    let e = v
        .verify(token)
        .await
        .expect_err("the token should be refused");
    let msg = e.to_string();
    assert!(!msg.contains(SUB), "{msg}");
    assert!(token.is_empty() || !msg.contains(token), "{msg}");
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!msg.contains(part), "{msg}");
    }
    let debug = format!("{e:?}");
    assert!(!debug.contains(SUB), "{debug}");
    e.code()
}

#[tokio::test]
async fn valid_es256_token_maps_claims() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let mut c = claims();
    c["exp"] = json!(now() + 900);
    let got = v.verify(&sign(&key, &c)).await.unwrap();
    assert_eq!(got.issuer, ISS);
    assert_eq!(got.subject, SUB);
    assert_eq!(got.role, Role::GridStaff);
    assert_eq!(got.community, "north-3");
    assert_eq!(got.expires_at_secs, c["exp"].as_i64().unwrap());
    assert!(!format!("{got:?}").contains(SUB), "Debug shows no subject");
    assert!(JwtVerifier::looks_like_jwt(&sign(&key, &c)));
    assert_eq!(v.key_count(), 1);
}

#[tokio::test]
async fn valid_rs256_ps256_and_eddsa_tokens() {
    // An RSA JWK without `alg` allows every RSA signature algorithm.
    let rs = rsa_key("rsa-1", Algorithm::RS256, None);
    let ps = rsa_key("rsa-1", Algorithm::PS256, None);
    let ed = ed_key("ed-1");
    let (v, _f) = verifier(&[&rs, &ed]).await;
    for (key, role) in [(&rs, "resident"), (&ps, "admin"), (&ed, "grid_staff")] {
        let mut c = claims();
        c["role"] = json!(role);
        let got = v.verify(&sign(key, &c)).await.unwrap();
        assert_eq!(got.role.as_str(), role);
        assert_eq!(got.subject, SUB);
    }
}

#[tokio::test]
async fn the_jwk_alg_binds_the_key() {
    // Declared RS256: a PS256 signature by the same key is refused.
    let rs = rsa_key("rsa-1", Algorithm::RS256, Some("RS256"));
    let ps = rsa_key("rsa-1", Algorithm::PS256, Some("RS256"));
    let ec = ec_key("ec-1");
    let (v, _f) = verifier(&[&rs, &ec]).await;
    v.verify(&sign(&rs, &claims())).await.unwrap();
    assert_eq!(
        refused(&v, &sign(&ps, &claims())).await,
        "jwt_algorithm_not_allowed"
    );
    // An ES256 token naming the RSA key's kid.
    let ec_as_rsa = TestKey {
        kid: "rsa-1".into(),
        ..ec_key("x")
    };
    assert_eq!(
        refused(&v, &sign(&ec_as_rsa, &claims())).await,
        "jwt_algorithm_not_allowed"
    );
}

#[tokio::test]
async fn expiry_and_leeway() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let mut c = claims();
    c["exp"] = json!(now() - 30); // within the default 60 s
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
    c["exp"] = json!(now() - 120);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_expired");

    // A larger leeway, but never more than 300 s.
    let (v, _f) = verifier_with(&jwks(&[&key]), |c| c.leeway_secs = 200).await;
    c["exp"] = json!(now() - 120);
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
    let (v, _f) = verifier_with(&jwks(&[&key]), |c| c.leeway_secs = 100_000).await;
    c["exp"] = json!(now() - 250);
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
    c["exp"] = json!(now() - 400);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_expired");

    // No leeway at all.
    let (v, _f) = verifier_with(&jwks(&[&key]), |c| c.leeway_secs = 0).await;
    c["exp"] = json!(now() - 5);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_expired");
}

#[tokio::test]
async fn not_before() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let mut c = claims();
    c["nbf"] = json!(now() + 600);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_not_yet_valid");
    c["nbf"] = json!(now() + 30); // within the leeway
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
    c["nbf"] = json!(now() - 30);
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
}

#[tokio::test]
async fn issuer_and_audience() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;

    let mut c = claims();
    c["iss"] = json!("https://evil.example.org");
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_wrong_issuer");
    c["iss"] = json!(format!("{ISS}/"));
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_wrong_issuer");
    // `iss` is one string, not a list that happens to contain ours.
    c["iss"] = json!([ISS, "https://evil.example.org"]);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_wrong_issuer");

    let mut c = claims();
    c["aud"] = json!("another-service");
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_wrong_audience");
    c["aud"] = json!(["another-service", "a-third"]);
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_wrong_audience");
    c["aud"] = json!(["another-service", AUD]);
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
    c["aud"] = json!([AUD]);
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
}

#[tokio::test]
async fn missing_claims_are_named() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    for name in ["role", "community", "sub", "exp", "iss", "aud"] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(name);
        let e = v.verify(&sign(&key, &c)).await.unwrap_err();
        assert_eq!(e.code(), "jwt_missing_claim", "{name}");
        assert!(
            matches!(&e, JwtError::MissingClaim(n) if n == name),
            "{name}: {e:?}"
        );
        assert!(e.to_string().contains(name));
    }
    // A null counts as missing.
    let mut c = claims();
    c["role"] = Value::Null;
    assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_missing_claim");
}

#[tokio::test]
async fn claims_of_the_wrong_shape() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    for (name, value) in [
        ("sub", json!("")),
        ("sub", json!(4711)),
        ("sub", json!("a\nb")),
        ("sub", json!("x".repeat(300))),
        ("exp", json!("tomorrow")),
        ("exp", json!(-5)),
    ] {
        let mut c = claims();
        c[name] = value;
        let e = v.verify(&sign(&key, &c)).await.unwrap_err();
        assert!(
            matches!(&e, JwtError::InvalidClaim(n) if n == name),
            "{name}: {e:?}"
        );
        assert_eq!(e.code(), "jwt_invalid_claim");
    }
}

#[tokio::test]
async fn bad_role_and_community() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    for role in [
        json!("superuser"),
        json!("Admin"),
        json!(""),
        json!(3),
        json!(["admin"]),
    ] {
        let mut c = claims();
        c["role"] = role;
        assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_bad_role");
    }
    for community in [
        json!("North 3"),
        json!("north/3"),
        json!(""),
        json!("n".repeat(65)),
        json!(7),
        json!({"code": "north-3"}),
    ] {
        let mut c = claims();
        c["community"] = community;
        assert_eq!(refused(&v, &sign(&key, &c)).await, "jwt_bad_community");
    }
    let mut c = claims();
    c["community"] = json!("n".repeat(64));
    assert!(v.verify(&sign(&key, &c)).await.is_ok());
}

#[tokio::test]
async fn claim_names_are_configurable() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier_with(&jwks(&[&key]), |c| {
        c.role_claim = "app_metadata.fushi_role".into();
        c.community_claim = "https://fushi.example/community".into();
    })
    .await;
    let mut c = claims();
    c["role"] = json!("authenticated"); // Supabase's own `role`, ignored
    c["app_metadata"] = json!({ "fushi_role": "admin" });
    c["https://fushi.example/community"] = json!("south-1");
    let got = v.verify(&sign(&key, &c)).await.unwrap();
    assert_eq!(got.role, Role::Admin);
    assert_eq!(got.community, "south-1");
    c["app_metadata"] = json!({});
    let e = v.verify(&sign(&key, &c)).await.unwrap_err();
    assert!(matches!(&e, JwtError::MissingClaim(n) if n == "app_metadata.fushi_role"));
}

#[tokio::test]
async fn tampered_or_foreign_signatures() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let token = sign(&key, &claims());

    // The payload changed after signing (admin instead of grid staff).
    let mut c = claims();
    c["role"] = json!("admin");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(refused(&v, &forged).await, "jwt_bad_signature");

    // A signature of the right length that is not the key's.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&sig));
    assert_eq!(refused(&v, &flipped).await, "jwt_bad_signature");

    // Another key under the same kid.
    let impostor = ec_key("ec-1");
    assert_eq!(
        refused(&v, &sign(&impostor, &claims())).await,
        "jwt_bad_signature"
    );
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let rs = rsa_key("rsa-1", Algorithm::RS256, Some("RS256"));
    let ec = ec_key("ec-1");
    let (v, _f) = verifier(&[&rs, &ec]).await;

    // alg none, signature empty or not.
    for alg in ["none", "None", "NONE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": "rsa-1" });
        for sig in [&b""[..], b"x"] {
            let token = unsigned(&header, &claims(), sig);
            assert_eq!(
                refused(&v, &token).await,
                "jwt_algorithm_not_allowed",
                "{alg}"
            );
        }
    }
    // HS256 with the public key as the HMAC secret: the JWK's text, the
    // modulus, the EC point.
    let (_, n, _) = rsa_parts();
    for (kid, secret) in [
        ("rsa-1", rs.jwk.to_string().into_bytes()),
        ("rsa-1", n.clone()),
        ("ec-1", ec.jwk.to_string().into_bytes()),
    ] {
        let token = hs256(kid, &claims(), &secret);
        assert_eq!(refused(&v, &token).await, "jwt_algorithm_not_allowed");
    }
    // An unknown algorithm name.
    let header = json!({ "alg": "ES512", "kid": "ec-1" });
    let token = unsigned(&header, &claims(), b"sig");
    assert_eq!(refused(&v, &token).await, "jwt_algorithm_not_allowed");
}

#[tokio::test]
async fn symmetric_keys_in_the_jwks_are_never_used() {
    let ec = ec_key("ec-1");
    let mut doc = jwks(&[&ec]);
    let secret = b"a shared secret of thirty-two by";
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "kty": "oct", "kid": "hmac-1", "alg": "HS256", "k": b64(secret) }));
    let (v, _f) = verifier_with(&doc, |_| {}).await;
    assert_eq!(v.key_count(), 1, "the oct key is skipped");
    let key = TestKey {
        kid: "hmac-1".into(),
        alg: Algorithm::HS256,
        enc: EncodingKey::from_secret(secret).unwrap(),
        jwk: Value::Null,
    };
    assert_eq!(
        refused(&v, &sign(&key, &claims())).await,
        "jwt_algorithm_not_allowed"
    );

    // A JWKS of nothing usable cannot start a verifier.
    let only_oct = json!({ "keys": [{ "kty": "oct", "kid": "h", "k": b64(secret) }] });
    let file = jwks_file(&only_oct);
    let e = JwtVerifier::new(JwtConfig::new(
        JwksSource::File(file.path.clone()),
        ISS,
        AUD,
    ))
    .await
    .unwrap_err();
    assert_eq!(e.code(), "jwt_keys");
}

#[tokio::test]
async fn key_selection_by_kid() {
    let a = ec_key("a");
    let b = ec_key("b");
    // No kid, exactly one key: that key.
    let (v, _f) = verifier(&[&a]).await;
    assert!(v.verify(&sign_without_kid(&a, &claims())).await.is_ok());
    assert_eq!(refused(&v, &sign(&b, &claims())).await, "jwt_unknown_key");
    // No kid, two keys: which one is not guessed.
    let (v, _f) = verifier(&[&a, &b]).await;
    assert_eq!(
        refused(&v, &sign_without_kid(&a, &claims())).await,
        "jwt_unknown_key"
    );
    assert!(v.verify(&sign(&a, &claims())).await.is_ok());
    assert!(v.verify(&sign(&b, &claims())).await.is_ok());
}

#[tokio::test]
async fn unusable_jwks_entries_are_skipped() {
    let good = ec_key("good");
    let mut off_curve = ec_key("off-curve").jwk;
    off_curve["y"] = off_curve["x"].clone();
    let mut enc = ec_key("enc").jwk;
    enc["use"] = json!("enc");
    let mut wrong_alg = ec_key("wrong-alg").jwk;
    wrong_alg["alg"] = json!("RS256");
    let small_rsa = json!({ "kty": "RSA", "kid": "small", "n": b64(&[0xc5; 128]), "e": "AQAB" });
    let doc = json!({ "keys": [
        off_curve, enc, wrong_alg, small_rsa,
        { "kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA" },
        { "kty": "weird", "kid": "weird" },
        "not even an object",
        good.jwk,
    ]});
    let (v, _f) = verifier_with(&doc, |_| {}).await;
    assert_eq!(v.key_count(), 1);
    assert!(v.verify(&sign(&good, &claims())).await.is_ok());
}

#[tokio::test]
async fn loading_problems_are_clear() {
    let missing = JwtConfig::new(JwksSource::File("/nonexistent/jwks.json".into()), ISS, AUD);
    assert_eq!(
        JwtVerifier::new(missing).await.unwrap_err().code(),
        "jwt_keys"
    );
    for doc in [json!({ "keys": [] }), json!({ "nokeys": 1 }), json!([1, 2])] {
        let file = jwks_file(&doc);
        let config = JwtConfig::new(JwksSource::File(file.path.clone()), ISS, AUD);
        assert_eq!(
            JwtVerifier::new(config).await.unwrap_err().code(),
            "jwt_keys"
        );
    }
    let key = ec_key("k");
    let file = jwks_file(&jwks(&[&key]));
    let config = JwtConfig::new(JwksSource::File(file.path.clone()), "", AUD);
    assert_eq!(
        JwtVerifier::new(config).await.unwrap_err().code(),
        "jwt_config"
    );
}

#[tokio::test]
async fn plain_http_jwks_only_on_loopback() {
    for url in [
        "http://platform.example.org/.well-known/jwks.json",
        "http://192.0.2.10/jwks.json",
        "ftp://platform.example.org/jwks.json",
    ] {
        let config = JwtConfig::new(JwksSource::Url(url.into()), ISS, AUD);
        let e = JwtVerifier::new(config).await.unwrap_err();
        assert_eq!(e.code(), "jwt_config", "{url}");
        assert!(!e.is_token_fault());
    }
}

#[tokio::test]
async fn malformed_tokens() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let good = sign(&key, &claims());
    let parts: Vec<&str> = good.split('.').collect();
    for bad in [
        String::new(),
        "fsh_0123456789abcdef".into(),
        "a.b".into(),
        format!("{good}.extra"),
        format!("!!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(br#"{"kid":"ec-1"}"#), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], b64(b"not json"), parts[2]),
        format!("{}.{}.{}", parts[0], "x".repeat(20_000), parts[2]),
    ] {
        let code = refused(&v, &bad).await;
        assert!(
            code == "jwt_malformed" || code == "jwt_bad_signature",
            "{code}"
        );
    }
    // A header with an unknown critical extension.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-1".into());
    header.crit = Some(vec!["exp-policy".into()]);
    let token = jsonwebtoken::encode(&header, &claims(), &key.enc).unwrap();
    assert_eq!(refused(&v, &token).await, "jwt_malformed");
}

#[tokio::test]
async fn messages_hold_no_token_subject_or_claim_value() {
    let key = ec_key("ec-1");
    let (v, _f) = verifier(&[&key]).await;
    let values = [
        "evil-issuer-value",
        "evil-audience-value",
        "evil-role-value",
        "Evil Community",
    ];
    let mut cases = Vec::new();
    for (name, value) in [
        ("iss", values[0]),
        ("aud", values[1]),
        ("role", values[2]),
        ("community", values[3]),
    ] {
        let mut c = claims();
        c[name] = json!(value);
        cases.push(sign(&key, &c));
    }
    let mut c = claims();
    c["exp"] = json!(now() - 1000);
    cases.push(sign(&key, &c));
    cases.push(sign(&ec_key("ec-1"), &claims()));
    for token in &cases {
        let e = v.verify(token).await.unwrap_err();
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(SUB), "{shown}");
            assert!(!shown.contains(token.as_str()), "{shown}");
            for value in values {
                assert!(!shown.contains(value), "{shown}");
            }
        }
    }
}

// --- a JWKS served on 127.0.0.1 ---------------------------------------

#[derive(Clone)]
struct Served {
    doc: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Served {
    fn set(&self, doc: Value) {
        *self.doc.lock().unwrap() = doc;
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(s): State<Served>) -> Response {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let body = s.doc.lock().unwrap().to_string();
    ([("content-type", "application/json")], body).into_response()
}

/// Serves `doc` at `http://127.0.0.1:PORT/jwks`.
async fn jwks_server(doc: Value) -> (String, Served) {
    let served = Served {
        doc: Arc::new(Mutex::new(doc)),
        fetches: Arc::new(AtomicUsize::new(0)),
        failing: Arc::new(AtomicBool::new(false)),
    };
    let app = axum::Router::new()
        .route("/jwks", get(serve_jwks))
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/jwks"), served)
}

async fn url_verifier(url: &str) -> JwtVerifier {
    JwtVerifier::new(JwtConfig::new(JwksSource::Url(url.into()), ISS, AUD))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_fetches_the_rotated_keys() {
    let old = ec_key("2024-old");
    let new = ec_key("2025-new");
    let (url, served) = jwks_server(jwks(&[&old])).await;
    let v = url_verifier(&url)
        .await
        .with_refresh_interval(Duration::ZERO);
    assert_eq!(served.fetches(), 1);
    assert!(v.verify(&sign(&old, &claims())).await.is_ok());
    assert_eq!(served.fetches(), 1, "a known kid fetches nothing");

    // The platform rotates: the new key is picked up by the first token
    // that names it.
    served.set(jwks(&[&new]));
    let got = v.verify(&sign(&new, &claims())).await.unwrap();
    assert_eq!(got.subject, SUB);
    assert_eq!(served.fetches(), 2);
    assert!(v.verify(&sign(&new, &claims())).await.is_ok());
    assert_eq!(served.fetches(), 2);

    // The old key is gone from the platform's JWKS, so from ours.
    assert_eq!(refused(&v, &sign(&old, &claims())).await, "jwt_unknown_key");
    assert_eq!(v.key_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_cannot_cause_a_fetch_storm() {
    let known = ec_key("known");
    let later = ec_key("later");
    let (url, served) = jwks_server(jwks(&[&known])).await;

    // Default interval (5 minutes): right after the first load, no token
    // makes it fetch again.
    let v = url_verifier(&url).await;
    served.set(jwks(&[&known, &later]));
    for i in 0..50 {
        let stranger = ec_key(&format!("stranger-{i}"));
        assert_eq!(
            refused(&v, &sign(&stranger, &claims())).await,
            "jwt_unknown_key"
        );
    }
    assert_eq!(
        refused(&v, &sign(&later, &claims())).await,
        "jwt_unknown_key"
    );
    assert_eq!(served.fetches(), 1);
    assert!(v.verify(&sign(&known, &claims())).await.is_ok());

    // Once the interval has passed, many concurrent unknown kids make one
    // fetch between them, and it brings the new key.
    let (url, served) = jwks_server(jwks(&[&known])).await;
    let interval = Duration::from_millis(1500);
    let v = Arc::new(url_verifier(&url).await.with_refresh_interval(interval));
    served.set(jwks(&[&known, &later]));
    tokio::time::sleep(interval + Duration::from_millis(200)).await;
    let strangers: Vec<String> = (0..20)
        .map(|i| sign(&ec_key(&format!("s-{i}")), &claims()))
        .collect();
    let mut tasks = Vec::new();
    for token in strangers {
        let v = Arc::clone(&v);
        tasks.push(tokio::spawn(
            async move { v.verify(&token).await.map(|_| ()) },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().code(), "jwt_unknown_key");
    }
    assert_eq!(served.fetches(), 2);
    assert!(v.verify(&sign(&later, &claims())).await.is_ok());
    assert_eq!(served.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_keys() {
    let key = ec_key("k");
    let (url, served) = jwks_server(jwks(&[&key])).await;
    let v = url_verifier(&url)
        .await
        .with_refresh_interval(Duration::ZERO)
        .with_max_key_age(Duration::ZERO);

    served.failing.store(true, Ordering::SeqCst);
    assert!(v.verify(&sign(&key, &claims())).await.is_ok());
    assert!(served.fetches() >= 2, "a refresh was tried");

    served.failing.store(false, Ordering::SeqCst);
    served.set(json!({ "keys": "garbage" }));
    assert!(v.verify(&sign(&key, &claims())).await.is_ok());
    served.set(json!({ "keys": [] }));
    assert!(v.verify(&sign(&key, &claims())).await.is_ok());
    assert_eq!(v.key_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_keys_are_fetched_again_even_for_a_known_kid() {
    // The platform replaced the key behind the same kid; only the periodic
    // refresh can notice.
    let first = ec_key("same");
    let second = ec_key("same");
    let (url, served) = jwks_server(jwks(&[&first])).await;

    let stale = url_verifier(&url).await;
    let fresh = url_verifier(&url)
        .await
        .with_refresh_interval(Duration::ZERO)
        .with_max_key_age(Duration::ZERO);
    served.set(jwks(&[&second]));
    let token = sign(&second, &claims());
    assert_eq!(refused(&stale, &token).await, "jwt_bad_signature");
    assert!(fresh.verify(&token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_that_fails_at_start_is_an_error() {
    let (url, served) = jwks_server(json!({ "keys": [] })).await;
    let e = JwtVerifier::new(JwtConfig::new(JwksSource::Url(url.clone()), ISS, AUD))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "jwt_keys");
    served.failing.store(true, Ordering::SeqCst);
    let e = JwtVerifier::new(JwtConfig::new(JwksSource::Url(url), ISS, AUD))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "jwt_keys");
    assert!(e.to_string().contains("500"), "{e}");
}
