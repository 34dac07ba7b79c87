//! The v1 routes, and which function serves each.

use http::Method;

use crate::error::ApiError;
use crate::settings::Function;

/// One route of the API with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/payments`.
    CreatePayment,
    /// `GET /v1/payments/{id}`.
    GetPayment(String),
    /// `PATCH /v1/payments/{id}`.
    UpdatePayment(String),
    /// `POST /v1/payments/{id}/cancel`.
    CancelPayment(String),
    /// `POST /v1/payments/{id}/try-again`: a new waiting window on the till.
    TryAgain(String),
    /// `GET /v1/payments/{id}/qr.svg`.
    PaymentQr(String),
    /// `POST /v1/payments/{id}/refunds`.
    CreateRefund(String),
    /// `GET /v1/payments/{id}/refunds/{refund_id}`.
    GetRefund(String, String),
    /// `POST /v1/notifications/{id}`.
    Notify(String),
    /// `POST /v1/terminals`.
    RegisterTerminal,
    /// `GET /v1/terminals`.
    ListTerminals,
    /// `DELETE /v1/terminals/{id}`.
    UnregisterTerminal(String),
    /// `PUT /v1/terminals/{id}/glase-id`.
    AssignGlaseId(String),
    /// `POST /v1/reports`.
    ClosePeriod,
    /// `GET /v1/reports/{id}`.
    GetReport(String),
    /// `GET /v1/openapi.json`.
    OpenApi,
    /// `GET /widget/glase-checkout.js`: the checkout widget script.
    Widget,
}

impl Route {
    /// Matches a request line. A known path with another method is 405; anything else 404.
    pub fn parse(method: &Method, path: &str) -> Result<Route, ApiError> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let m = method.clone();
        let id = |s: &str| s.to_owned();
        let found = match segments.as_slice() {
            ["v1", "payments"] => [(Method::POST, Route::CreatePayment)].to_vec(),
            ["v1", "payments", p] => vec![
                (Method::GET, Route::GetPayment(id(p))),
                (Method::PATCH, Route::UpdatePayment(id(p))),
            ],
            ["v1", "payments", p, "cancel"] => vec![(Method::POST, Route::CancelPayment(id(p)))],
            ["v1", "payments", p, "try-again"] => vec![(Method::POST, Route::TryAgain(id(p)))],
            ["v1", "payments", p, "qr.svg"] => vec![(Method::GET, Route::PaymentQr(id(p)))],
            ["v1", "payments", p, "refunds"] => vec![(Method::POST, Route::CreateRefund(id(p)))],
            ["v1", "payments", p, "refunds", r] => vec![(Method::GET, Route::GetRefund(id(p), id(r)))],
            ["v1", "notifications", p] => vec![(Method::POST, Route::Notify(id(p)))],
            ["v1", "terminals"] => vec![
                (Method::POST, Route::RegisterTerminal),
                (Method::GET, Route::ListTerminals),
            ],
            ["v1", "terminals", t] => vec![(Method::DELETE, Route::UnregisterTerminal(id(t)))],
            ["v1", "terminals", t, "glase-id"] => vec![(Method::PUT, Route::AssignGlaseId(id(t)))],
            ["v1", "reports"] => vec![(Method::POST, Route::ClosePeriod)],
            ["v1", "reports", r] => vec![(Method::GET, Route::GetReport(id(r)))],
            ["v1", "openapi.json"] => vec![(Method::GET, Route::OpenApi)],
            ["widget", "glase-checkout.js"] => vec![(Method::GET, Route::Widget)],
            _ => return Err(ApiError::not_found("route")),
        };
        if found
            .iter()
            .any(|(_, r)| matches!(r, Route::GetPayment(p) | Route::UpdatePayment(p) if p.is_empty()))
        {
            return Err(ApiError::not_found("route"));
        }
        found
            .into_iter()
            .find(|(method, _)| *method == m)
            .map(|(_, r)| r)
            .ok_or_else(ApiError::method_not_allowed)
    }

    /// The methods `path` takes, for the `Allow` header of a 405 (empty for an unknown path).
    pub fn allowed_methods(path: &str) -> Vec<Method> {
        [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]
        .into_iter()
        .filter(|m| Route::parse(m, path).is_ok())
        .collect()
    }

    /// The function that serves this route in AWS.
    pub fn function(&self) -> Function {
        match self {
            Route::CreatePayment => Function::CreatePayment,
            Route::GetPayment(_) | Route::PaymentQr(_) | Route::OpenApi | Route::Widget => {
                Function::PaymentStatus
            }
            Route::UpdatePayment(_) | Route::CancelPayment(_) | Route::TryAgain(_) => {
                Function::PaymentControl
            }
            Route::CreateRefund(_) | Route::GetRefund(..) => Function::RefundRequest,
            Route::Notify(_) => Function::Notification,
            Route::RegisterTerminal
            | Route::ListTerminals
            | Route::UnregisterTerminal(_)
            | Route::AssignGlaseId(_) => Function::Terminals,
            Route::ClosePeriod | Route::GetReport(_) => Function::Reporting,
        }
    }

    /// `template` with a sample value in each of its parameters (`{payment_id}` becomes `p`): a path
    /// that parses to the template's route, for the checks that every template reaches its function.
    pub fn sample_path(template: &str) -> String {
        template
            .replace("{payment_id}", "p")
            .replace("{refund_id}", "r")
            .replace("{terminal_id}", "t")
            .replace("{report_id}", "x")
    }

    /// Every route template of the API with its method, for the drift checks against the OpenAPI document
    /// and the infrastructure template.
    pub const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        ("POST", "/v1/payments"),
        ("GET", "/v1/payments/{payment_id}"),
        ("PATCH", "/v1/payments/{payment_id}"),
        ("POST", "/v1/payments/{payment_id}/cancel"),
        ("POST", "/v1/payments/{payment_id}/try-again"),
        ("GET", "/v1/payments/{payment_id}/qr.svg"),
        ("POST", "/v1/payments/{payment_id}/refunds"),
        ("GET", "/v1/payments/{payment_id}/refunds/{refund_id}"),
        ("POST", "/v1/notifications/{payment_id}"),
        ("POST", "/v1/terminals"),
        ("GET", "/v1/terminals"),
        ("DELETE", "/v1/terminals/{terminal_id}"),
        ("PUT", "/v1/terminals/{terminal_id}/glase-id"),
        ("POST", "/v1/reports"),
        ("GET", "/v1/reports/{report_id}"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/widget/glase-checkout.js"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_routes() {
        assert_eq!(
            Route::parse(&Method::POST, "/v1/payments").unwrap(),
            Route::CreatePayment
        );
        assert_eq!(
            Route::parse(&Method::GET, "/v1/payments/pay_1").unwrap(),
            Route::GetPayment("pay_1".into())
        );
        assert_eq!(
            Route::parse(&Method::PATCH, "/v1/payments/pay_1/").unwrap(),
            Route::UpdatePayment("pay_1".into())
        );
        assert_eq!(
            Route::parse(&Method::GET, "/v1/payments/p/refunds/r").unwrap(),
            Route::GetRefund("p".into(), "r".into())
        );
        assert_eq!(
            Route::parse(&Method::POST, "/v1/notifications/p").unwrap(),
            Route::Notify("p".into())
        );
        assert_eq!(
            Route::parse(&Method::GET, crate::widget::PATH).unwrap(),
            Route::Widget
        );
        assert_eq!(Route::Widget.function(), Function::PaymentStatus);
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert_eq!(
            Route::parse(&Method::GET, "/v2/payments").unwrap_err().status,
            http::StatusCode::NOT_FOUND
        );
        assert_eq!(
            Route::parse(&Method::DELETE, "/v1/payments").unwrap_err().status,
            http::StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn a_known_path_lists_the_methods_it_takes() {
        assert_eq!(
            Route::allowed_methods("/v1/terminals"),
            [Method::GET, Method::POST]
        );
        assert_eq!(
            Route::allowed_methods("/v1/payments/p"),
            [Method::GET, Method::PATCH]
        );
        assert!(Route::allowed_methods("/v2/payments").is_empty());
    }

    #[test]
    fn every_template_parses_to_a_route_of_its_function() {
        for (method, template) in Route::TEMPLATES {
            let route = Route::parse(&method.parse().unwrap(), &Route::sample_path(template)).unwrap();
            assert!(Function::ALL.contains(&route.function()));
        }
    }

    #[test]
    fn every_template_is_in_the_openapi_document_and_back() {
        let doc: serde_json::Value = serde_json::from_str(crate::openapi::OPENAPI_JSON).unwrap();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut ours: Vec<(String, String)> = Route::TEMPLATES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        ours.sort();
        assert_eq!(ours, documented);
    }
}
