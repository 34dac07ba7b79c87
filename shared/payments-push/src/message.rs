//! The message a browser receives: `{"type":"status","payment_id":…,"status":…,"ers_reference":…}`.
//!
//! `status` is the public API's name (`pending`, `paid`, `canceled`, `failed`); `ers_reference` is present
//! once paid. The message carries no amount and no secret: the page already knows its order, and it may
//! read the full payment with its client secret.

use payments_domain::ports::StatusUpdate;
use serde_json::{Map, Value};

/// The JSON text of `update`.
pub fn encode(update: &StatusUpdate) -> String {
    let mut m = Map::new();
    m.insert("type".into(), Value::from("status"));
    m.insert("payment_id".into(), Value::from(update.payment_id.as_str()));
    m.insert("status".into(), Value::from(update.status.as_str()));
    if let Some(ers) = &update.ers_reference {
        m.insert("ers_reference".into(), Value::from(ers.as_str()));
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_domain::ids::{ErsReference, PaymentId};
    use payments_domain::payment::PaymentStatus;

    #[test]
    fn a_paid_update_carries_the_reference_and_a_pending_one_does_not() {
        let id = PaymentId::from_random([1; 16]);
        let paid = StatusUpdate {
            payment_id: id.clone(),
            status: PaymentStatus::Paid,
            ers_reference: Some(ErsReference::parse("2026112209000000001000001").unwrap()),
        };
        let v: Value = serde_json::from_str(&encode(&paid)).unwrap();
        assert_eq!(v["type"], "status");
        assert_eq!(v["payment_id"], id.as_str());
        assert_eq!(v["status"], "paid");
        assert_eq!(v["ers_reference"], "2026112209000000001000001");

        let pending = StatusUpdate {
            payment_id: id,
            status: PaymentStatus::Pending,
            ers_reference: None,
        };
        let v: Value = serde_json::from_str(&encode(&pending)).unwrap();
        assert_eq!(v["status"], "pending");
        assert!(v.get("ers_reference").is_none());
    }
}
