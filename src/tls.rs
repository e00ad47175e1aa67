//! TLS client configuration from ioredis-style options: `tls: { ca, cert, key,
//! rejectUnauthorized }`, PEM text in, a rustls config (ring provider) out.

use std::sync::Arc;

use fred::types::config::{TlsConfig, TlsConnector};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// The `tls` option.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM certificates of the CAs to trust instead of the system's.
    pub ca: Option<String>,
    /// PEM client certificate chain, for servers that require client authentication.
    pub cert: Option<String>,
    /// PEM private key of `cert`.
    pub key: Option<String>,
    /// `false` accepts any server certificate (as Node's `rejectUnauthorized: false`).
    pub reject_unauthorized: bool,
}

fn certs(field: &'static str, pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(field, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(field, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// Accepts any server certificate, still checking the handshake signatures. Only for
/// `rejectUnauthorized: false`, which users choose explicitly (as in Node's TLS).
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// fred's TLS settings for these options. Without a CA the system's roots are trusted.
pub fn config(opts: &TlsOptions) -> Result<TlsConfig> {
    if opts.ca.is_none() && opts.cert.is_none() && opts.reject_unauthorized {
        let connector = TlsConnector::default_rustls().map_err(|e| {
            Error::invalid("tls", format!("cannot load the system's CA roots: {e}"))
        })?;
        return Ok(connector.into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("tls", e.to_string()))?;
    let builder = if opts.reject_unauthorized {
        let mut roots = RootCertStore::empty();
        match &opts.ca {
            Some(ca) => {
                for cert in certs("tls.ca", ca)? {
                    roots
                        .add(cert)
                        .map_err(|e| Error::invalid("tls.ca", e.to_string()))?;
                }
            }
            None => {
                // The system's roots, as fred's default connector loads them.
                for cert in rustls_native_certs::load_native_certs().certs {
                    // Unparseable system certificates are skipped, as fred does.
                    let _ = roots.add(cert);
                }
            }
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
    };
    let config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| {
                Error::invalid("tls.key", format!("is not a valid PEM private key: {e}"))
            })?;
            builder
                .with_client_auth_cert(certs("tls.cert", cert)?, key)
                .map_err(|e| Error::invalid("tls.cert", e.to_string()))?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => return Err(Error::invalid("tls.key", "is required with tls.cert")),
        (None, Some(_)) => return Err(Error::invalid("tls.cert", "is required with tls.key")),
    };
    Ok(TlsConnector::from(config).into())
}
