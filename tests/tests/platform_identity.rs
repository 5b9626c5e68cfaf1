//! Signing in with the community platform's JWT instead of a token of this
//! server, end to end over HTTP: the platform's user becomes a user of this
//! server (a random id, the same for every token of that user, the
//! platform's subject stored nowhere); grid staff can sign the user out,
//! which refuses the platform's tokens issued before; a token for another
//! audience is refused as signed out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fushi_core::crdt::SystemClock;
use fushi_core::policy::{Actor, Role};
use fushi_core::Error;
use fushi_server::jwt::{JwksSource, JwtConfig, JwtVerifier};
use fushi_tests::{item, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use std::sync::Arc;

const ISS: &str = "https://zhihui-fushi.example.org";
const AUD: &str = "fushi-sync";
/// A subject that is personal data (a phone number): it must be stored
/// nowhere on the server.
const SUB: &str = "tel-13800138000";

struct Platform {
    enc: EncodingKey,
    _jwks: tempfile::NamedTempFile,
    verifier: Arc<JwtVerifier>,
}

async fn platform() -> Platform {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), json!({ "keys": [jwk] }).to_string()).unwrap();
    let config = JwtConfig::new(JwksSource::File(file.path().to_owned()), ISS, AUD);
    Platform {
        enc: EncodingKey::from_ec_der(&pair.serialize_der()),
        _jwks: file,
        verifier: Arc::new(JwtVerifier::new(config).await.unwrap()),
    }
}

fn now_s() -> i64 {
    use fushi_core::crdt::TimeSource;
    SystemClock::new().now_ms() / 1000
}

impl Platform {
    fn token(&self, sub: &str, aud: &str, iat: i64) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        let claims = json!({
            "iss": ISS, "aud": aud, "sub": sub, "role": "resident", "community": "fushi",
            "iat": iat, "exp": now_s() + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.enc).unwrap()
    }
}

fn phone(server: &Server, jwt: &str) -> fushi_tests::Install {
    fushi_tests::install(server, jwt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_user_syncs_with_the_platforms_token_and_can_be_signed_out() {
    let platform = platform().await;
    let server = Server::start_custom(
        SystemClock::new(),
        |c| c,
        fushi_server::Limits {
            jwt: Some(platform.verifier.clone()),
            ..fushi_server::Limits::default()
        },
    )
    .await;
    let staff = server.phone(Role::GridStaff, "fushi");

    let li = phone(&server, &platform.token(SUB, AUD, now_s()));
    let me = li.client.who_am_i().await.unwrap();
    assert_eq!(
        (me.role.as_str(), me.community.as_str()),
        ("resident", "fushi")
    );
    li.store.set_actor(Some(Actor {
        user: me.user,
        role: Role::Resident,
        community: "fushi".into(),
    }));
    let bike = li.store.post_item(item("儿童自行车")).unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    assert_eq!(staff.store.item(bike).unwrap().owner, me.user);

    // Another token of the same platform user is the same user here; another
    // platform user is another.
    let again = phone(&server, &platform.token(SUB, AUD, now_s()));
    assert_eq!(again.client.who_am_i().await.unwrap().user, me.user);
    let other = phone(&server, &platform.token("tel-13900139000", AUD, now_s()));
    assert_ne!(other.client.who_am_i().await.unwrap().user, me.user);
    // The platform renews its own tokens.
    assert_eq!(
        code(&li.client.renew_token().await.unwrap_err()),
        "not_renewable"
    );

    // The subject is kept nowhere on the server: not in its files, nor in
    // what their write-ahead logs still hold.
    let stored = server.stored_bytes();
    assert!(!stored.is_empty());
    for (f, bytes) in stored {
        assert!(
            !bytes.windows(SUB.len()).any(|w| w == SUB.as_bytes()),
            "{f} holds the subject"
        );
    }

    // Grid staff sign the user out: the platform's tokens issued before
    // are refused; one issued after (she signed in again) is taken.
    assert!(staff.client.revoke(None, Some(me.user)).await.unwrap() >= 1);
    let e = li.client.sync().await.unwrap_err();
    assert!(
        matches!(&e, Error::SignedOut { code, .. } if code == "revoked_token"),
        "{e:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let back = phone(&server, &platform.token(SUB, AUD, now_s()));
    assert_eq!(back.client.who_am_i().await.unwrap().user, me.user);

    // A token the platform made for another service is refused.
    let wrong = phone(&server, &platform.token(SUB, "another-service", now_s()));
    let e = wrong.client.sync().await.unwrap_err();
    assert!(
        matches!(&e, Error::SignedOut { code, .. } if code.starts_with("jwt_")),
        "{e:?}"
    );
}

fn code(e: &Error) -> &str {
    match e {
        Error::Server { code, .. } | Error::SignedOut { code, .. } => code,
        other => panic!("{other:?}"),
    }
}
