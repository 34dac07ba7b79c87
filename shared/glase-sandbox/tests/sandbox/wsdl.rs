//! The WSDL at `?wsdl`, SOAP faults, and mounting the routers under a prefix.

use glase_protocol::soap;

use crate::common::*;

fn soap_address(wsdl: &str) -> String {
    let doc = roxmltree::Document::parse(wsdl).unwrap();
    doc.descendants()
        .find(|n| n.tag_name().name() == "address")
        .and_then(|n| n.attribute("location"))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_wsdl_names_this_server_as_the_endpoint() {
    let t = start().await;
    let response = t.http.get(t.handle.wsdl_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(content_type(&response).starts_with("text/xml"));
    let wsdl = response.text().await.unwrap();
    assert_eq!(soap_address(&wsdl), t.handle.soap_endpoint_url());
    assert!(wsdl.contains("targetNamespace=\"http://external.interfaces.ers.seamless.com/\""));
    assert!(wsdl.contains("elementFormDefault=\"unqualified\""));
    let plain = t.http.get(t.handle.soap_endpoint_url()).send().await.unwrap();
    assert!(plain.text().await.unwrap().contains("?wsdl"));
}

#[tokio::test]
async fn a_router_nested_under_a_prefix_advertises_the_prefixed_address() {
    let sandbox = glase_sandbox::Sandbox::new(glase_sandbox::SandboxConfig::default()).unwrap();
    let app = axum::Router::new()
        .nest("/glase", sandbox.soap_router())
        .merge(sandbox.controls_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}");
    let wsdl = reqwest::get(format!("{base}/glase/extclientproxy/service/v2?wsdl"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        soap_address(&wsdl),
        format!("{base}/glase/extclientproxy/service/v2")
    );
    let accounts = reqwest::get(format!("{base}/sandbox/accounts")).await.unwrap();
    assert_eq!(accounts.status(), 200);
}

#[tokio::test]
async fn malformed_xml_and_unknown_operations_get_a_soap_fault_with_http_500() {
    let t = start().await;
    let unknown = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ext="http://external.interfaces.ers.seamless.com/"><soapenv:Body><ext:requestTopup/></soapenv:Body></soapenv:Envelope>"#;
    for body in ["<not xml", "<a>plain</a>", unknown] {
        let response = t
            .http
            .post(t.handle.soap_endpoint_url())
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{body}");
        let text = response.bytes().await.unwrap();
        let error = soap::decode_response(glase_protocol::Operation::SendInvoice, &text).unwrap_err();
        assert!(
            matches!(&error, soap::SoapError::Fault { code, .. } if code.ends_with("Client")),
            "{body}: {error:?}"
        );
    }
    assert!(t.sandbox().invoices().is_empty());
}
