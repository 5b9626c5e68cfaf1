//! TLS terminated by the server itself (`fushi-server serve --tls-cert FILE
//! --tls-key FILE`): rustls on the `ring` provider, HTTP/1.1 over it. Without
//! them the server speaks plain HTTP, for a reverse proxy in front of it.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the server's certificate or key could not be used. Names the file
/// and the reason, never the key's content.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// `"certificate"` or `"key"`.
        what: &'static str,
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM `CERTIFICATE`, or a broken one.
    #[error("the certificate file holds no usable PEM certificate")]
    NoCertificate,
    /// The key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("the key file holds no usable PEM private key")]
    NoKey,
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate and key cannot be used: {0}")]
    Rejected(#[from] rustls::Error),
}

/// The server's TLS settings: a certificate chain and its key.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// From PEM text: `cert_chain` (the server's certificate first, then
    /// any intermediates) and `key`.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<ServerTls, TlsSetupError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsSetupError::NoCertificate)?;
        if certs.is_empty() {
            return Err(TlsSetupError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|_| TlsSetupError::NoKey)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// From PEM files (as `serve --tls-cert/--tls-key` name them).
    pub fn from_files(cert_chain: &Path, key: &Path) -> Result<ServerTls, TlsSetupError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsSetupError::Read {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        ServerTls::from_pem(&read("certificate", cert_chain)?, &read("key", key)?)
    }

    pub(crate) fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }
}
