//! The client trusts the Mozilla root program compiled into it and nothing else: a server whose
//! certificate no such root signed is refused, although the same server answers a client that trusts
//! its certificate's issuer. `tests/tls/` holds, made for this test only, a test CA's certificate (its
//! key was thrown away), a certificate for `127.0.0.1` that CA signed, and that certificate's key.

use std::sync::Arc;

use glase_protocol::{GlaseClient, GlaseClientConfig};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const CA: &str = include_str!("tls/untrusted-ca.pem");
const CERT: &str = include_str!("tls/untrusted-cert.pem");
const KEY: &str = include_str!("tls/untrusted-key.pem");

/// An HTTPS server on a free loopback port that answers every request `200 ok`; its port.
async fn https_server() -> u16 {
    let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = [0u8; 4096];
                let _ = tls.read(&mut request).await;
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_server_no_compiled_in_root_vouches_for_is_refused() {
    let port = https_server().await;
    // The server is fine for a client that trusts its certificate's issuer.
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(CA.as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let answer = trusting
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "ok");
    // Ours does not trust it.
    let client = GlaseClient::new(GlaseClientConfig::new(format!(
        "https://127.0.0.1:{port}/extclientproxy/service/v2"
    )))
    .unwrap();
    let refused = client.warm_up().await;
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn the_configuration_offers_http2_and_http1_and_trusts_the_mozilla_roots() {
    let config = glase_protocol::client::tls_config().unwrap();
    assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
}
