//! TLS for the sync client: rustls on the `ring` provider (no aws-lc, no
//! cmake: it builds for Android and iOS), certificates checked against the
//! platform's trust store (`rustls-platform-verifier`) or against exactly
//! one pinned CA, and TLS failures told apart from being offline.

use crate::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// Which certificates the sync client trusts for the server's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// The platform's trust store: Android's and Apple's certificate
    /// verifiers, Windows' store, the system CA bundle on Linux. The default.
    ///
    /// On Android the verifier needs the app's `Context` first: the app calls
    /// `FushiTls.init(context)` once at start (see `android/README.md`).
    #[default]
    Platform,
    /// Exactly the CA certificate(s) in this PEM text and nothing else: a
    /// deployment that runs its own CA pins it here. The server's chain must
    /// lead to one of them; the platform's store is not consulted.
    PinnedCa(String),
}

/// The process-wide rustls provider is `ring`'s. Installed once; if the app
/// (or another library) installed one first, that one stays: every config
/// this crate builds names `ring` explicitly anyway.
pub fn install_crypto_provider() {
    // Err means a provider is installed already: nothing to do.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls client configuration for `trust`: HTTP/1.1 only (the
/// protocol needs nothing else), TLS 1.2 and 1.3 with `ring`.
pub(crate) fn client_config(trust: &Trust) -> Result<rustls::ClientConfig> {
    install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(format!("could not set up TLS: {e}")))?;
    let mut config = match trust {
        Trust::Platform => {
            let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(|e| {
                Error::Tls(format!(
                    "the platform's certificate verifier is not available: {e}"
                ))
            })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
        Trust::PinnedCa(pem) => builder
            .with_root_certificates(pinned_roots(pem)?)
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The roots of a pinned CA: every certificate in `pem`, at least one.
fn pinned_roots(pem: &str) -> Result<rustls::RootCertStore> {
    let invalid = |reason: &str| Error::invalid("ca_certificate_pem", reason);
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|_| invalid("is not valid PEM"))?;
        roots
            .add(cert)
            .map_err(|_| invalid("holds a certificate that cannot be used as a CA"))?;
    }
    if roots.is_empty() {
        return Err(invalid("holds no CERTIFICATE block"));
    }
    Ok(roots)
}

/// The TLS failure behind a transport error, if that is what it was, as a
/// message a person can act on. It names the reason, never a certificate's
/// content beyond what rustls says of it (no token, no request).
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(tls) = as_rustls(err) {
            return Some(describe(tls));
        }
        next = err.source();
    }
    None
}

/// A rustls error itself, or one carried inside `io::Error`s (whose
/// `source()` skips the error they wrap; hyper-rustls nests two).
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut e = e;
    for _ in 0..8 {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
    None
}

fn describe(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "the server's certificate is not issued by an authority this app trusts".into()
            }
            C::Expired | C::ExpiredContext { .. } => {
                "the server's certificate has expired (or this phone's date is wrong)".into()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (or this phone's date is wrong)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is for another name than the server's address".into()
            }
            C::Revoked => "the server's certificate has been revoked".into(),
            other => format!("the server's certificate was refused: {other:?}"),
        },
        E::AlertReceived(alert) => {
            format!("the server refused the secure connection (TLS alert {alert:?})")
        }
        E::InvalidMessage(_) => {
            "the server did not answer in TLS (is it plain HTTP, or a proxy in the way?)".into()
        }
        E::NoCertificatesPresented => "the server presented no certificate".into(),
        other => format!("the secure connection failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_ca_must_hold_a_certificate() {
        for pem in [
            "",
            "not pem at all",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                matches!(client_config(&Trust::PinnedCa(pem.into())), Err(Error::Invalid { ref field, .. }) if field == "ca_certificate_pem"),
                "{pem:?}"
            );
        }
    }

    #[test]
    fn a_tls_error_inside_io_errors_is_found() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        // As hyper-rustls hands it over: inside another io::Error.
        let io = std::io::Error::other(io);
        let msg = tls_failure(&io).unwrap_or_default();
        assert!(msg.contains("not issued by an authority"), "{msg}");
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(tls_failure(&plain), None);
    }
}
