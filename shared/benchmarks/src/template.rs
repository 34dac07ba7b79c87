//! The deployed configuration the cost model needs, read from the translated template
//! (`infra/generated/template.json`, which CI keeps equal to the SAM template's translation).

const TRANSLATED: &str = include_str!("../../../infra/generated/template.json");

/// The memory size (MB) the template gives the function whose binary is `function`.
pub fn memory_mb(function: &str) -> Option<u64> {
    let template: serde_json::Value = serde_json::from_str(TRANSLATED).ok()?;
    template["Resources"]
        .as_object()?
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Function")
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"] == function)
        .and_then(|r| r["Properties"]["MemorySize"].as_u64())
}

/// The binary (function crate) of the template's function resource `logical_id`, e.g.
/// `CreatePaymentFunction` → `create-payment` (`sam build` names its output folders by logical id).
pub fn binary_of(logical_id: &str) -> Option<String> {
    let template: serde_json::Value = serde_json::from_str(TRANSLATED).ok()?;
    template["Resources"][logical_id]["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::{binary_of, memory_mb};

    #[test]
    fn logical_ids_name_their_binaries() {
        assert_eq!(
            binary_of("CreatePaymentFunction").as_deref(),
            Some("create-payment")
        );
        assert_eq!(binary_of("RefundQueue"), None);
    }

    #[test]
    fn every_function_crate_has_a_memory_size_and_others_none() {
        for function in [
            "create-payment",
            "notification",
            "payment-control",
            "payment-status",
            "refund-request",
            "refund-worker",
            "reporting",
            "safety-net",
            "terminals",
            "websocket",
        ] {
            let mb = memory_mb(function).unwrap_or(0);
            assert!((128..=10_240).contains(&mb), "{function}: {mb}");
        }
        assert_eq!(memory_mb("no-such-function"), None);
    }
}
