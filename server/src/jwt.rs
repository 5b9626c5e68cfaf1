//! External identity: the community's platform signs a JWT for its user and
//! the server accepts it in place of one of its own `fsh_` tokens, as
//! PowerSync and Supabase-style backends do (`docs/JWT.md`).
//!
//! [`JwtVerifier`] checks a token against the platform's public keys (a JWKS
//! from a file or an HTTPS URL): the signature, with an asymmetric algorithm
//! that the key itself allows (never `none`, never HMAC: no algorithm
//! confusion); `iss` exactly the configured issuer; the configured audience
//! in `aud`; `exp` required and `nbf` if present, within a bounded clock
//! skew. It then maps the claims to the user (`sub`), the role and the
//! community ([`ExternalClaims`]).
//!
//! Keys rotate: a token naming a key id (`kid`) the verifier does not hold
//! makes it fetch the JWKS again, at most once per refresh interval (5
//! minutes), and the JWKS is fetched again every hour in any case. A failed
//! fetch keeps the keys it had.
//!
//! Errors ([`JwtError`]) name the reason and, at most, a claim's name: never
//! the token, its subject or a claim's value.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fushi_core::model::tables::{check_content, Check};
use fushi_core::model::Value;
use fushi_core::policy::Role;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::Map;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The default clock skew allowed on `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// The largest clock skew [`JwtConfig::leeway_secs`] may allow; more is cut
/// down to this.
pub const MAX_LEEWAY_SECS: u64 = 300;
/// The least time between two fetches of the JWKS caused by tokens naming
/// an unknown key (and between two attempts after a failed fetch).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The JWKS is fetched again when the keys held are this old, whatever the
/// tokens say.
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(60 * 60);

/// A longer bearer token is not looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// A larger JWKS (file or answer) is refused.
const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Keys past this many in one JWKS are ignored.
const MAX_KEYS: usize = 64;
/// The whole JWKS request (connect, TLS, answer) must end within this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// RSA keys shorter than this are refused.
const MIN_RSA_BITS: usize = 2048;
/// RSA keys longer than this are refused (the backend's own bound).
const MAX_RSA_BITS: usize = 8192;
/// A longer `sub` is refused (it names an account of the platform).
const MAX_SUBJECT_BYTES: usize = 255;

/// Where the platform's public keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS file (`{"keys": [...]}`), read at start and again when a
    /// refresh is due: replace the file to rotate keys.
    File(PathBuf),
    /// A JWKS URL: `https://`, or `http://` to a loopback address only
    /// (`127.0.0.0/8`, `::1`, `localhost`).
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "file {}", p.display()),
            JwksSource::Url(u) => write!(f, "URL {u}"),
        }
    }
}

/// How tokens of the platform are checked and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtConfig {
    /// Where the public keys come from.
    pub jwks: JwksSource,
    /// The exact `iss` of the platform's tokens.
    pub issuer: String,
    /// This server's name in the platform: it must be the token's `aud` or
    /// one of them.
    pub audience: String,
    /// The claim holding the role (`resident`, `grid_staff` or `admin`).
    /// Default `role`. A name absent at the top level that contains `.` is
    /// also looked up as a path into nested objects (`app_metadata.role`).
    pub role_claim: String,
    /// The claim holding the community code (1–64 of `a-z 0-9 _ -`).
    /// Default `community`; looked up as [`JwtConfig::role_claim`] is.
    pub community_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds. Default
    /// [`DEFAULT_LEEWAY_SECS`], at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
}

impl JwtConfig {
    /// A configuration with the default claim names (`role`, `community`)
    /// and clock skew (60 s).
    pub fn new(
        jwks: JwksSource,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> JwtConfig {
        JwtConfig {
            jwks,
            issuer: issuer.into(),
            audience: audience.into(),
            role_claim: "role".into(),
            community_claim: "community".into(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }
}

/// What a verified token says.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalClaims {
    /// The token's `iss` (the configured issuer).
    pub issuer: String,
    /// The token's `sub`: the platform's id of the user, opaque. Together
    /// with the issuer it names the account.
    pub subject: String,
    /// The role claimed.
    pub role: Role,
    /// The community claimed (a valid community code).
    pub community: String,
    /// The token's `exp`, in seconds since the Unix epoch.
    pub expires_at_secs: i64,
    /// The token's `iat`, if it has one (seconds since the Unix epoch).
    pub issued_at_secs: Option<i64>,
}

/// The subject is left out: it identifies a person.
impl std::fmt::Debug for ExternalClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalClaims")
            .field("issuer", &self.issuer)
            .field("subject", &"<redacted>")
            .field("role", &self.role)
            .field("community", &self.community)
            .field("expires_at_secs", &self.expires_at_secs)
            .finish()
    }
}

/// Why a token was refused, or why the verifier cannot work. The message
/// names the reason and at most a claim's name, never the token, its
/// subject or a claim's value.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts, a header or payload that is not JSON, or
    /// a header this verifier does not support (e.g. unknown `crit`).
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is `none`, HMAC, unknown, or not the one its key allows.
    #[error("the token's algorithm is not allowed for its key (asymmetric algorithms only, as the key declares)")]
    AlgorithmNotAllowed,
    /// No key of the platform's JWKS matches the token's `kid` (or the
    /// token has no `kid` and the JWKS holds more than one key).
    #[error("the token names no key of the platform's JWKS")]
    UnknownKey,
    /// The signature does not verify with the key.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` is past, beyond the allowed clock skew.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is ahead, beyond the allowed clock skew.
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer (iss) is not the configured one")]
    WrongIssuer,
    /// `aud` does not hold the configured audience.
    #[error("the token's audience (aud) does not include this server")]
    WrongAudience,
    /// A required claim is absent; holds its name.
    #[error("the token lacks the claim {0}")]
    MissingClaim(String),
    /// A claim has the wrong type or shape (e.g. `exp` not a number, `sub`
    /// empty); holds its name.
    #[error("the token's claim {0} is not of the expected type or shape")]
    InvalidClaim(String),
    /// The role claim is not `resident`, `grid_staff` or `admin`.
    #[error("the token's role is not resident, grid_staff or admin")]
    BadRole,
    /// The community claim is not a community code.
    #[error("the token's community is not a community code (1 to 64 of a-z, 0-9, _ or -)")]
    BadCommunity,
    /// The JWKS could not be read or fetched, or holds no usable key.
    #[error("JWKS: {0}")]
    Keys(String),
    /// The configuration cannot be used (e.g. a plain-HTTP JWKS URL to
    /// another host than this one).
    #[error("JWT configuration: {0}")]
    Config(String),
}

impl JwtError {
    /// A stable machine code for the reason (`jwt_expired`,
    /// `jwt_bad_signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::Malformed => "jwt_malformed",
            JwtError::AlgorithmNotAllowed => "jwt_algorithm_not_allowed",
            JwtError::UnknownKey => "jwt_unknown_key",
            JwtError::BadSignature => "jwt_bad_signature",
            JwtError::Expired => "jwt_expired",
            JwtError::NotYetValid => "jwt_not_yet_valid",
            JwtError::WrongIssuer => "jwt_wrong_issuer",
            JwtError::WrongAudience => "jwt_wrong_audience",
            JwtError::MissingClaim(_) => "jwt_missing_claim",
            JwtError::InvalidClaim(_) => "jwt_invalid_claim",
            JwtError::BadRole => "jwt_bad_role",
            JwtError::BadCommunity => "jwt_bad_community",
            JwtError::Keys(_) => "jwt_keys",
            JwtError::Config(_) => "jwt_config",
        }
    }

    /// Whether the token is at fault (answer 401). `false` for
    /// [`JwtError::Keys`] and [`JwtError::Config`]: the server's side.
    pub fn is_token_fault(&self) -> bool {
        !matches!(self, JwtError::Keys(_) | JwtError::Config(_))
    }
}

/// One usable public key of the platform.
struct VerifyKey {
    kid: Option<String>,
    /// What this key may verify: the `alg` its JWK declares, or else every
    /// asymmetric algorithm of its type (RSA: RS*/PS*; P-256: ES256; P-384:
    /// ES384; Ed25519: EdDSA).
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// The keys held, and when they were loaded.
struct KeySet {
    keys: Vec<VerifyKey>,
    loaded_at: Instant,
}

/// Which key verifies a token.
enum Selected<'a> {
    Key(&'a VerifyKey),
    /// No key has the token's `kid` (or no `kid` and not exactly one key).
    Unknown,
    /// A key has the `kid` but does not allow the token's `alg`.
    AlgorithmNotAllowed,
}

impl KeySet {
    fn select(&self, kid: Option<&str>, alg: Algorithm) -> Selected<'_> {
        let candidates: Vec<&VerifyKey> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None if self.keys.len() == 1 => self.keys.iter().collect(),
            None => Vec::new(),
        };
        if candidates.is_empty() {
            return Selected::Unknown;
        }
        candidates
            .into_iter()
            .find(|k| k.algorithms.contains(&alg))
            .map_or(Selected::AlgorithmNotAllowed, Selected::Key)
    }
}

/// The part of a token's header read before the key is chosen.
#[derive(serde::Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Verifies the platform's JWTs. Cheap to share (`Arc`) between requests.
pub struct JwtVerifier {
    config: JwtConfig,
    leeway_secs: u64,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch was attempted (success or not); held while one
    /// is under way, so concurrent requests wait for it instead of fetching
    /// too.
    last_attempt: tokio::sync::Mutex<Instant>,
    refresh_interval: Duration,
    max_key_age: Duration,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("jwks", &self.config.jwks)
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .field("keys", &self.key_count())
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Checks the configuration and loads the JWKS once (reads the file or
    /// fetches the URL). Fails if the JWKS cannot be had or holds no usable
    /// key.
    pub async fn new(config: JwtConfig) -> Result<JwtVerifier, JwtError> {
        check_config(&config)?;
        if CryptoProvider::try_get_default().is_none() {
            return Err(JwtError::Config(
                "no signature provider: jsonwebtoken must be built with exactly one backend".into(),
            ));
        }
        let leeway_secs = if config.leeway_secs > MAX_LEEWAY_SECS {
            tracing::warn!(
                asked = config.leeway_secs,
                used = MAX_LEEWAY_SECS,
                "JWT clock skew capped"
            );
            MAX_LEEWAY_SECS
        } else {
            config.leeway_secs
        };
        let keys = load_keys(&config.jwks).await?;
        tracing::info!(source = %config.jwks, keys = keys.len(), "JWKS loaded");
        let now = Instant::now();
        Ok(JwtVerifier {
            config,
            leeway_secs,
            keys: RwLock::new(Arc::new(KeySet {
                keys,
                loaded_at: now,
            })),
            last_attempt: tokio::sync::Mutex::new(now),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_key_age: DEFAULT_MAX_KEY_AGE,
        })
    }

    /// Sets the least time between two fetches of the JWKS caused by
    /// unknown key ids or failed fetches (default
    /// [`DEFAULT_REFRESH_INTERVAL`]; for tests).
    pub fn with_refresh_interval(mut self, interval: Duration) -> JwtVerifier {
        self.refresh_interval = interval;
        self
    }

    /// Sets the age at which the keys are fetched again in any case
    /// (default [`DEFAULT_MAX_KEY_AGE`]; for tests).
    pub fn with_max_key_age(mut self, age: Duration) -> JwtVerifier {
        self.max_key_age = age;
        self
    }

    /// The configuration this verifier checks tokens with.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// How many usable keys it holds now.
    pub fn key_count(&self) -> usize {
        self.current().keys.len()
    }

    /// Whether a bearer token has the shape of a JWT: three base64url parts
    /// separated by `.` (the signature part may be empty, so that an
    /// unsigned token is refused as such). The server's own tokens
    /// (`fsh_…`) have no `.`.
    pub fn looks_like_jwt(token: &str) -> bool {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let b64url = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        !header.is_empty()
            && !payload.is_empty()
            && b64url(header)
            && b64url(payload)
            && b64url(signature)
    }

    /// Verifies a token and reads who it is for.
    pub async fn verify(&self, token: &str) -> Result<ExternalClaims, JwtError> {
        let result = self.verify_inner(token).await;
        if let Err(e) = &result {
            tracing::debug!(code = e.code(), "external token refused");
        }
        result
    }

    async fn verify_inner(&self, token: &str) -> Result<ExternalClaims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES || !Self::looks_like_jwt(token) {
            return Err(JwtError::Malformed);
        }
        let header = read_header(token)?;
        let alg = allowed_algorithm(&header.alg)?;
        self.refresh_if_old().await;
        let mut keys = self.current();
        if matches!(keys.select(header.kid.as_deref(), alg), Selected::Unknown)
            && header.kid.is_some()
        {
            // Perhaps the platform rotated its keys.
            self.refresh_for_unknown_key().await;
            keys = self.current();
        }
        let key = match keys.select(header.kid.as_deref(), alg) {
            Selected::Key(k) => k,
            Selected::Unknown => return Err(JwtError::UnknownKey),
            Selected::AlgorithmNotAllowed => return Err(JwtError::AlgorithmNotAllowed),
        };

        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        let data =
            jsonwebtoken::decode::<Map<String, serde_json::Value>>(token, &key.key, &validation)
                .map_err(|e| refine(map_decode_error(e), token))?;
        self.read_claims(&data.claims)
    }

    /// Maps the verified claims to user, role and community.
    fn read_claims(
        &self,
        claims: &Map<String, serde_json::Value>,
    ) -> Result<ExternalClaims, JwtError> {
        // `iss` checked by the decoder; a single string is required here
        // too (not an array that merely contains it).
        match claims.get("iss") {
            Some(serde_json::Value::String(s)) if *s == self.config.issuer => {}
            _ => return Err(JwtError::WrongIssuer),
        }
        let subject = match claims.get("sub") {
            None | Some(serde_json::Value::Null) => {
                return Err(JwtError::MissingClaim("sub".into()))
            }
            Some(serde_json::Value::String(s))
                if !s.is_empty()
                    && s.len() <= MAX_SUBJECT_BYTES
                    && !s.chars().any(char::is_control) =>
            {
                s.clone()
            }
            Some(_) => return Err(JwtError::InvalidClaim("sub".into())),
        };
        let expires_at_secs = match claims.get("exp") {
            Some(serde_json::Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_u64().map(|_| i64::MAX))
                .or_else(|| n.as_f64().map(|f| f.round() as i64)),
            _ => None,
        }
        .ok_or_else(|| JwtError::InvalidClaim("exp".into()))?;
        let issued_at_secs = match claims.get("iat") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(
                n.as_i64()
                    .or_else(|| n.as_f64().map(|f| f.round() as i64))
                    .ok_or_else(|| JwtError::InvalidClaim("iat".into()))?,
            ),
            Some(_) => return Err(JwtError::InvalidClaim("iat".into())),
        };

        let role_name = &self.config.role_claim;
        let role = match claim(claims, role_name) {
            None | Some(serde_json::Value::Null) => {
                return Err(JwtError::MissingClaim(role_name.clone()))
            }
            Some(serde_json::Value::String(s)) => Role::parse(s).ok_or(JwtError::BadRole)?,
            Some(_) => return Err(JwtError::BadRole),
        };
        let community_name = &self.config.community_claim;
        let community = match claim(claims, community_name) {
            None | Some(serde_json::Value::Null) => {
                return Err(JwtError::MissingClaim(community_name.clone()))
            }
            Some(serde_json::Value::String(s)) if is_community_code(s) => s.clone(),
            Some(_) => return Err(JwtError::BadCommunity),
        };
        Ok(ExternalClaims {
            issuer: self.config.issuer.clone(),
            subject,
            role,
            community,
            expires_at_secs,
            issued_at_secs,
        })
    }

    fn current(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a whole `Arc`: replacing it is one
        // store.
        match self.keys.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, keys: Vec<VerifyKey>) {
        let set = Arc::new(KeySet {
            keys,
            loaded_at: Instant::now(),
        });
        match self.keys.write() {
            Ok(mut g) => *g = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    /// The hourly refresh. Requests do not queue behind it: the one that
    /// finds it due fetches, the others go on with the keys held.
    async fn refresh_if_old(&self) {
        if self.current().loaded_at.elapsed() < self.max_key_age {
            return;
        }
        let Ok(mut last) = self.last_attempt.try_lock() else {
            return;
        };
        if self.current().loaded_at.elapsed() < self.max_key_age
            || last.elapsed() < self.refresh_interval
        {
            return;
        }
        self.reload(&mut last, "the keys are old").await;
    }

    /// A refresh for a token naming an unknown key, at most once per
    /// refresh interval. Waits for a fetch already under way.
    async fn refresh_for_unknown_key(&self) {
        let mut last = self.last_attempt.lock().await;
        if last.elapsed() < self.refresh_interval {
            return;
        }
        self.reload(&mut last, "a token names an unknown key").await;
    }

    /// One fetch; `last` is set again when it ends, so that a slow fetch does not
    /// let the requests that waited for it fetch again.
    async fn reload(&self, last: &mut Instant, reason: &'static str) {
        // Also before: a request dropped mid-fetch still counts its attempt.
        *last = Instant::now();
        let loaded = load_keys(&self.config.jwks).await;
        *last = Instant::now();
        match loaded {
            Ok(keys) => {
                tracing::info!(source = %self.config.jwks, keys = keys.len(), reason, "JWKS refreshed");
                self.replace(keys);
            }
            Err(e) => {
                tracing::warn!(source = %self.config.jwks, error = %e, reason, "JWKS refresh failed: keeping the keys held");
            }
        }
    }
}

/// Looks a claim up by its exact name, else (for a name with `.`) as a path
/// into nested objects.
fn claim<'a>(
    claims: &'a Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    let mut parts = name.split('.');
    let mut v = claims.get(parts.next()?)?;
    for part in parts {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

/// A community code as the schema checks it (`Check::Community`).
fn is_community_code(s: &str) -> bool {
    check_content(Check::Community, &Value::Text(s.to_owned())).is_ok()
}

fn check_config(config: &JwtConfig) -> Result<(), JwtError> {
    if config.issuer.trim().is_empty() {
        return Err(JwtError::Config("the issuer is empty".into()));
    }
    if config.audience.trim().is_empty() {
        return Err(JwtError::Config("the audience is empty".into()));
    }
    if config.role_claim.is_empty() || config.community_claim.is_empty() {
        return Err(JwtError::Config("a claim name is empty".into()));
    }
    if let JwksSource::Url(url) = &config.jwks {
        check_url(url)?;
    }
    Ok(())
}

/// `https://`, or `http://` to a loopback address. Returns whether it is
/// plain HTTP.
fn check_url(url: &str) -> Result<bool, JwtError> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| JwtError::Config("the JWKS URL is not a URL".into()))?;
    let host = uri
        .host()
        .ok_or_else(|| JwtError::Config("the JWKS URL has no host".into()))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(JwtError::Config(
            "the JWKS URL must not carry credentials".into(),
        ));
    }
    match uri.scheme_str() {
        Some("https") => Ok(false),
        Some("http") if is_loopback(host) => Ok(true),
        Some("http") => Err(JwtError::Config(
            "the JWKS URL must be https (plain http only to a loopback address)".into(),
        )),
        _ => Err(JwtError::Config("the JWKS URL must be https".into())),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The header's `alg` and `kid`, read before any key is chosen.
fn read_header(token: &str) -> Result<RawHeader, JwtError> {
    let encoded = token.split('.').next().ok_or(JwtError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

/// The asymmetric algorithms accepted; `none`, HMAC and anything unknown
/// are refused.
fn allowed_algorithm(alg: &str) -> Result<Algorithm, JwtError> {
    let alg: Algorithm = alg.parse().map_err(|_| JwtError::AlgorithmNotAllowed)?;
    match alg.family() {
        AlgorithmFamily::Rsa | AlgorithmFamily::Ec | AlgorithmFamily::Ed => Ok(alg),
        _ => Err(JwtError::AlgorithmNotAllowed),
    }
}

fn map_decode_error(e: jsonwebtoken::errors::Error) -> JwtError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => JwtError::BadSignature,
        K::ExpiredSignature => JwtError::Expired,
        K::ImmatureSignature => JwtError::NotYetValid,
        K::InvalidIssuer => JwtError::WrongIssuer,
        K::InvalidAudience => JwtError::WrongAudience,
        K::MissingRequiredClaim(name) => JwtError::MissingClaim(standard_claim(name)),
        K::InvalidClaimFormat(name) => JwtError::InvalidClaim(standard_claim(name)),
        K::InvalidAlgorithm | K::UnsupportedAlgorithm | K::MissingAlgorithm => {
            JwtError::AlgorithmNotAllowed
        }
        // The key was checked when loaded; a key the backend still cannot
        // use fails this token's signature.
        K::InvalidEcdsaKey | K::InvalidEddsaKey | K::InvalidRsaKey(_) | K::InvalidKeyFormat => {
            JwtError::BadSignature
        }
        _ => JwtError::Malformed,
    }
}

/// The decoder calls a registered claim of the wrong type (`"exp":
/// "tomorrow"`) missing. It checks claims only after the signature, so the
/// payload can then be read to tell the two apart.
fn refine(e: JwtError, token: &str) -> JwtError {
    let JwtError::MissingClaim(name) = &e else {
        return e;
    };
    let present =
        jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, serde_json::Value>>(token)
            .is_ok_and(|claims| claims.get(name.as_str()).is_some_and(|v| !v.is_null()));
    if present {
        JwtError::InvalidClaim(name.clone())
    } else {
        e
    }
}

/// The decoder names only the registered claims it checks; anything else
/// is not echoed.
fn standard_claim(name: &str) -> String {
    match name {
        "exp" | "nbf" | "iss" | "aud" | "sub" => name.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Reads the JWKS from its source and keeps its usable keys.
async fn load_keys(source: &JwksSource) -> Result<Vec<VerifyKey>, JwtError> {
    let bytes = match source {
        JwksSource::File(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || read_file(&path))
                .await
                .map_err(|_| JwtError::Keys("the JWKS read was interrupted".into()))??
        }
        JwksSource::Url(url) => {
            let plain = check_url(url)?;
            let url = url.clone();
            tokio::task::spawn_blocking(move || fetch(&url, plain))
                .await
                .map_err(|_| JwtError::Keys("the JWKS fetch was interrupted".into()))??
        }
    };
    parse_jwks(&bytes)
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, JwtError> {
    let file = std::fs::File::open(path)
        .map_err(|e| JwtError::Keys(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_JWKS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| JwtError::Keys(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_JWKS_BYTES {
        return Err(JwtError::Keys(format!(
            "{} is larger than {MAX_JWKS_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// One GET of the JWKS URL (blocking: run it on the blocking pool). TLS is
/// rustls on the ring provider with the Mozilla roots; no redirect to plain
/// HTTP; no proxy for a loopback address.
fn fetch(url: &str, plain_loopback: bool) -> Result<Vec<u8>, JwtError> {
    use tokio_rustls::rustls;
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::WebPki)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    let mut config = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(FETCH_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("fushi-server/", env!("CARGO_PKG_VERSION")));
    config = if plain_loopback {
        config.https_only(false).max_redirects(0).proxy(None)
    } else {
        config.https_only(true).max_redirects(3)
    };
    let agent: ureq::Agent = config.build().into();
    let mut answer = agent
        .get(url)
        .header("accept", "application/json")
        .call()
        .map_err(|e| JwtError::Keys(format!("cannot fetch the JWKS: {e}")))?;
    if !answer.status().is_success() {
        return Err(JwtError::Keys(format!(
            "the JWKS URL answered {}",
            answer.status()
        )));
    }
    answer
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_vec()
        .map_err(|e| JwtError::Keys(format!("cannot read the JWKS answer: {e}")))
}

/// A JWKS document: `{"keys": [...]}`. Each key is read on its own, so one
/// key this verifier cannot use does not spoil the others.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, JwtError> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let doc: Document = serde_json::from_slice(bytes)
        .map_err(|_| JwtError::Keys("not a JWKS (a JSON object with a \"keys\" array)".into()))?;
    if doc.keys.len() > MAX_KEYS {
        tracing::warn!(
            keys = doc.keys.len(),
            used = MAX_KEYS,
            "JWKS holds too many keys: the first are used"
        );
    }
    let mut usable = Vec::new();
    let mut skipped = 0usize;
    for (index, raw) in doc.keys.into_iter().take(MAX_KEYS).enumerate() {
        match usable_key(raw) {
            Ok(key) => usable.push(key),
            Err((kid, reason)) => {
                skipped += 1;
                tracing::warn!(
                    index,
                    kid = kid.as_deref().unwrap_or("-"),
                    reason,
                    "JWKS key skipped"
                );
            }
        }
    }
    if usable.is_empty() {
        return Err(JwtError::Keys(format!(
            "no usable signing key ({skipped} skipped: see the log)"
        )));
    }
    Ok(usable)
}

/// The key, or its `kid` and why it is not used.
fn usable_key(raw: serde_json::Value) -> Result<VerifyKey, (Option<String>, &'static str)> {
    let kid = raw
        .get("kid")
        .and_then(|k| k.as_str())
        .map(|k| k.chars().take(64).collect::<String>());
    let fail = |reason| (kid.clone(), reason);
    let jwk: Jwk = serde_json::from_value(raw).map_err(|_| fail("not a JWK"))?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err(fail("its use is not sig")),
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.contains(&KeyOperations::Verify) {
            return Err(fail("its key_ops lack verify"));
        }
    }
    let (key, allowed): (DecodingKey, &[Algorithm]) = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = URL_SAFE_NO_PAD
                .decode(&p.n)
                .map_err(|_| fail("its n is not base64url"))?;
            let bits = n
                .iter()
                .enumerate()
                .find(|(_, b)| **b != 0)
                .map_or(0, |(i, b)| (n.len() - i) * 8 - b.leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(fail("RSA key shorter than 2048 bits"));
            }
            if bits > MAX_RSA_BITS {
                return Err(fail("RSA key longer than 8192 bits"));
            }
            let key = DecodingKey::from_rsa_components(&p.n, &p.e)
                .map_err(|_| fail("unreadable RSA key"))?;
            (
                key,
                &[
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
            )
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let allowed: &[Algorithm] = match p.curve {
                EllipticCurve::P256 => &[Algorithm::ES256],
                EllipticCurve::P384 => &[Algorithm::ES384],
                _ => return Err(fail("unsupported elliptic curve")),
            };
            let key = DecodingKey::from_ec_components(&p.x, &p.y)
                .map_err(|_| fail("unreadable EC key"))?;
            (key, allowed)
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            if p.curve != EllipticCurve::Ed25519 {
                return Err(fail("unsupported OKP curve"));
            }
            let key = DecodingKey::from_ed_components(&p.x)
                .map_err(|_| fail("unreadable Ed25519 key"))?;
            (key, &[Algorithm::EdDSA])
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err(fail("symmetric (oct) keys are never accepted"))
        }
        _ => return Err(fail("unsupported key type")),
    };
    let algorithms: Vec<Algorithm> = match jwk.common.key_algorithm {
        None => allowed.to_vec(),
        Some(declared) => match Algorithm::try_from(declared) {
            Ok(alg) if allowed.contains(&alg) => vec![alg],
            _ => return Err(fail("its alg does not fit its key type")),
        },
    };
    // Let the backend parse the key now (EC points on the curve, Ed25519
    // points), not at the first token.
    let provider =
        CryptoProvider::try_get_default().ok_or_else(|| fail("no signature provider"))?;
    for alg in &algorithms {
        (provider.verifier_factory)(alg, &key).map_err(|_| fail("the backend cannot use it"))?;
    }
    Ok(VerifyKey {
        kid: jwk.common.key_id,
        algorithms,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        assert!(JwtVerifier::looks_like_jwt("eyJh.eyJz.c2ln"));
        assert!(JwtVerifier::looks_like_jwt("eyJh.eyJz."));
        assert!(!JwtVerifier::looks_like_jwt("fsh_0123abcd"));
        assert!(!JwtVerifier::looks_like_jwt("a.b"));
        assert!(!JwtVerifier::looks_like_jwt("a.b.c.d"));
        assert!(!JwtVerifier::looks_like_jwt(".b.c"));
        assert!(!JwtVerifier::looks_like_jwt("a+/.b.c"));
        assert!(!JwtVerifier::looks_like_jwt("a.b=.c"));
    }

    #[test]
    fn jwt_algorithms() {
        for ok in [
            "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA",
        ] {
            assert!(allowed_algorithm(ok).is_ok(), "{ok}");
        }
        for bad in [
            "none", "None", "HS256", "HS384", "HS512", "ES512", "", "rs256",
        ] {
            assert!(
                matches!(allowed_algorithm(bad), Err(JwtError::AlgorithmNotAllowed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn jwt_urls() {
        assert_eq!(
            check_url("https://id.example.org/.well-known/jwks.json").ok(),
            Some(false)
        );
        assert_eq!(check_url("http://127.0.0.1:8080/jwks").ok(), Some(true));
        assert_eq!(check_url("http://127.3.4.5/jwks").ok(), Some(true));
        assert_eq!(check_url("http://[::1]:9/jwks").ok(), Some(true));
        assert_eq!(check_url("http://LOCALHOST/jwks").ok(), Some(true));
        for bad in [
            "http://id.example.org/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.example.org/jwks",
            "ftp://id.example.org/jwks",
            "https://user:pw@id.example.org/jwks",
            "/jwks",
            "not a url",
        ] {
            assert!(matches!(check_url(bad), Err(JwtError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn jwt_nested_claims() {
        let claims: Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"role":"admin","app_metadata":{"role":"resident"},"https://x.org/role":"grid_staff"}"#,
        )
        .unwrap();
        assert_eq!(claim(&claims, "role").unwrap(), "admin");
        assert_eq!(claim(&claims, "app_metadata.role").unwrap(), "resident");
        assert_eq!(claim(&claims, "https://x.org/role").unwrap(), "grid_staff");
        assert!(claim(&claims, "app_metadata.none").is_none());
        assert!(claim(&claims, "role.x").is_none());
    }

    #[test]
    fn jwt_community_codes() {
        assert!(is_community_code("north-3_a"));
        assert!(!is_community_code(""));
        assert!(!is_community_code("North"));
        assert!(!is_community_code(&"a".repeat(65)));
        assert!(is_community_code(&"a".repeat(64)));
    }

    #[test]
    fn jwt_error_codes_are_distinct() {
        let all = [
            JwtError::Malformed,
            JwtError::AlgorithmNotAllowed,
            JwtError::UnknownKey,
            JwtError::BadSignature,
            JwtError::Expired,
            JwtError::NotYetValid,
            JwtError::WrongIssuer,
            JwtError::WrongAudience,
            JwtError::MissingClaim("x".into()),
            JwtError::InvalidClaim("x".into()),
            JwtError::BadRole,
            JwtError::BadCommunity,
            JwtError::Keys("x".into()),
            JwtError::Config("x".into()),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(JwtError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c.starts_with("jwt_")));
    }
}
