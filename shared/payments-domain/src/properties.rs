//! Property tests of the state machines: no sequence of observations moves a payment backwards, and no
//! sequence of refund requests and outcomes lets refunds exceed what was paid.

use proptest::prelude::*;

use crate::ids::ErsReference;
use crate::order::tests::sek;
use crate::payment::PaymentStatus;
use crate::payment::tests::{observation, paid_payment, pending_payment};

fn status_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "ISSUED",
        "PENDING_ISSUER_ACKNOWLEDGE",
        "PAID",
        "CANCELED",
        "FAILED",
        "RESERVED",
        "EXPIRED",
        "SOMETHING_NEW",
    ])
}

proptest! {
    #[test]
    fn no_sequence_of_observations_moves_a_payment_backwards(
        steps in prop::collection::vec((status_name(), 0u32..6, any::<bool>()), 0..40)
    ) {
        let mut payment = pending_payment(10_000);
        let mut final_status: Option<PaymentStatus> = None;
        for (status, version, with_reference) in steps {
            let mut seen = observation(status, version);
            if !with_reference {
                seen.ers_reference = None;
            } else if seen.ers_reference.is_none() {
                seen.ers_reference = Some(ErsReference::parse("2026112200000000000000001").unwrap());
            }
            let before = payment.clone();
            let (_, next) = payment.observe(&seen);
            if let Some(next) = next {
                prop_assert!(next.glase_version() >= before.glase_version(), "the version never decreases");
                prop_assert!(next.revision() > before.revision(), "every change is a new revision");
                payment = next;
            }
            if let Some(f) = final_status {
                prop_assert_eq!(payment.status(), f, "a final payment never changes");
            } else if payment.status().is_final() {
                final_status = Some(payment.status());
            }
            if payment.status() == PaymentStatus::Paid {
                prop_assert!(payment.ers_reference().is_some(), "paid always carries its reference");
            }
        }
    }

    #[test]
    fn no_sequence_of_refunds_exceeds_the_payment(
        steps in prop::collection::vec((1i64..6_000, 0u8..3), 0..40)
    ) {
        let total = 10_000;
        let mut payment = paid_payment(total);
        let mut in_flight: Vec<i64> = Vec::new();
        for (amount, action) in steps {
            match action {
                // Request a refund of `amount`.
                0 => match payment.reserve_refund(sek(amount)) {
                    Ok(next) => {
                        in_flight.push(amount);
                        payment = next;
                    }
                    Err(_) => prop_assert!(amount > payment.refundable().minor_units()),
                },
                // The oldest refund in flight succeeds or fails.
                _ if !in_flight.is_empty() => {
                    let settled = in_flight.remove(0);
                    payment = payment.settle_refund(sek(settled), action == 1).unwrap();
                }
                _ => {}
            }
            let ledger = payment.refunds();
            let held = ledger.reserved().minor_units() + ledger.refunded().minor_units();
            prop_assert!(held <= total, "refunds never exceed the payment: {} > {}", held, total);
            prop_assert_eq!(ledger.reserved().minor_units(), in_flight.iter().sum::<i64>());
            prop_assert_eq!(payment.refundable().minor_units(), total - held);
        }
    }
}
