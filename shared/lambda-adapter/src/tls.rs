//! The HTTP client of the AWS SDK clients: TLS trusts the roots AWS service endpoints chain to (Amazon
//! Trust Services: Amazon Root CA 1 to 4 and Starfield Services Root G2), taken from the Mozilla root
//! program compiled into the binary (`webpki-root-certs`), instead of the operating system's store.
//!
//! Reading and parsing the system store took 4 to 9 ms of every cold start on the benchmark machine, and
//! the SDK and the Glase client each did it once. The SDK's trust store takes PEM only, and decoding the
//! whole Mozilla set from PEM cost about 3 ms more; the five roots the SDK can meet cost microseconds.
//! The SDK clients only talk to AWS endpoints (DynamoDB, SQS, Secrets Manager, the WebSocket management
//! API): a partition whose endpoints chain elsewhere (the China regions) needs its roots added here. The
//! Glase client trusts the whole compiled-in Mozilla set (`glase_protocol::client`).

use aws_sdk_secretsmanager::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use base64::Engine as _;

/// One DER certificate as PEM, the only form the SDK's trust store accepts.
fn pem(der: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 64 + 64);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

/// The common names of the roots AWS service endpoints chain to.
pub const AWS_ROOT_NAMES: [&str; 5] = [
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
];

/// The compiled-in roots whose subject is one of [`AWS_ROOT_NAMES`].
fn aws_roots() -> impl Iterator<Item = &'static [u8]> {
    let finder = memchr::memmem::Finder::new(&CN_OID);
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.as_ref())
        .filter(move |der| {
            AWS_ROOT_NAMES
                .iter()
                .any(|name| common_name_is(&finder, der, name))
        })
}

/// The DER encoding of the commonName attribute's OID, 2.5.4.3.
const CN_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];

/// Whether the certificate's subject or issuer carries `name` as a complete commonName value (a root's
/// issuer is its subject); `finder` finds [`CN_OID`]. DER stores the attribute as the OID, a string
/// tag, a one-byte length and the bytes, so "Amazon Root CA 1" does not match "Amazon Root CA 10".
fn common_name_is(finder: &memchr::memmem::Finder<'_>, der: &[u8], name: &str) -> bool {
    let Ok(len) = u8::try_from(name.len()) else {
        return false;
    };
    finder.find_iter(der).any(|at| {
        let value = &der[at + CN_OID.len()..];
        value.len() > 2 && value[1] == len && value[2..].starts_with(name.as_bytes())
    })
}

/// The trust store of [`sdk_http_client`]: the roots AWS endpoints chain to, nothing from the system.
fn trust_store() -> TrustStore {
    let mut store = TrustStore::empty().with_native_roots(false);
    for der in aws_roots() {
        store.add_pem_certificate(pem(der));
    }
    store
}

/// The HTTPS client every SDK client of a function shares (rustls with aws-lc, the compiled-in roots).
pub fn sdk_http_client() -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(trust_store())
        .build()
        .unwrap_or_default();
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_trusts_exactly_the_roots_aws_endpoints_chain_to() {
        let finder = memchr::memmem::Finder::new(&CN_OID);
        let roots: Vec<&[u8]> = aws_roots().collect();
        assert_eq!(roots.len(), AWS_ROOT_NAMES.len());
        for name in AWS_ROOT_NAMES {
            assert_eq!(
                roots
                    .iter()
                    .filter(|der| common_name_is(&finder, der, name))
                    .count(),
                1,
                "{name} must be among the SDK's roots exactly once"
            );
        }
    }

    #[test]
    fn a_common_name_matches_whole_values_only() {
        let finder = memchr::memmem::Finder::new(&CN_OID);
        let root1 = aws_roots()
            .find(|der| common_name_is(&finder, der, "Amazon Root CA 1"))
            .expect("Amazon Root CA 1");
        assert!(!common_name_is(&finder, root1, "Amazon Root CA"));
        assert!(!common_name_is(&finder, root1, "Amazon Root CA 2"));
    }

    #[test]
    fn pem_round_trips_through_the_parser_the_sdk_uses() {
        use rustls_pki_types::pem::PemObject as _;
        for der in aws_roots() {
            let text = pem(der);
            let back = rustls_pki_types::CertificateDer::from_pem_slice(&text).expect("parses as PEM");
            assert_eq!(back.as_ref(), der);
        }
    }
}
