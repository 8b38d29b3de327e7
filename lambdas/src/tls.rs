//! The HTTPS client of the functions' AWS clients: the SDK's own (hyper with rustls and aws-lc), trusting the
//! Mozilla root certificates compiled into the binary (`webpki-root-certs`) rather than the system's store.
//! rustls-native-certs reads the store file by file at the first client's build, which was most of the cold
//! start left (BENCHMARKS.md, "Lambdas: artifact size and cold start": Debian's `/etc/ssl/certs`, one file per
//! root); the bundled roots take no file at all, whatever the environment. A function given `SSL_CERT_FILE`
//! (a private CA, an inspecting proxy) trusts that store instead, as the SDK reads it.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine;

/// The client every function's `SdkConfig` gets, and `Clients::wrapped` wraps.
pub fn https_client() -> SharedHttpClient {
    let trust = if std::env::var_os("SSL_CERT_FILE").is_some() {
        TrustStore::default()
    } else {
        bundled_roots()
    };
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Never with a store of certificates only; the SDK's default then.
        Err(_) => builder.build_https(),
    }
}

/// Mozilla's roots as the SDK takes them.
fn bundled_roots() -> TrustStore {
    let mut store = TrustStore::empty();
    for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        store.add_pem_certificate(pem(root.as_ref()));
    }
    store
}

/// A DER certificate as PEM, the one form the SDK's trust store takes.
fn pem(der: &[u8]) -> String {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN CERTIFICATE-----\n{base64}\n-----END CERTIFICATE-----\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled root reads back, as the SDK reads the store (rustls-pki-types' PEM), as the same DER.
    #[test]
    fn every_bundled_root_reads_back_from_its_pem() {
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let text = pem(root.as_ref());
            let read: Vec<_> = rustls_pki_types::pem::PemObject::pem_slice_iter(text.as_bytes())
                .collect::<Result<Vec<rustls_pki_types::CertificateDer<'_>>, _>>()
                .expect("PEM");
            assert_eq!(read.len(), 1);
            assert_eq!(read[0].as_ref(), root.as_ref());
        }
    }
}
