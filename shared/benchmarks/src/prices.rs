//! What a payment costs in AWS, from counted usage and public list prices. All money here is integer
//! picodollars (10⁻¹² USD): a cost per payment in picodollars is the cost per million payments in
//! microdollars.
//!
//! Prices: AWS's published list prices for us-east-1 as of late 2024 (DynamoDB on-demand after its
//! November 2024 reduction). Check the pricing pages before relying on them.

use serde::Serialize;

/// The date the prices were read from AWS's pricing pages (as published then).
pub const PRICES_AS_OF: &str =
    "late 2024 (us-east-1 list prices; DynamoDB on-demand after the November 2024 reduction)";

/// Lambda: $0.20 per million requests.
pub const LAMBDA_REQUEST: u64 = 200_000;
/// Lambda on arm64: $0.0000133334 per GB-second, i.e. per 1,024,000 MB-milliseconds.
pub const LAMBDA_ARM_GB_SECOND: u64 = 13_333_400;
/// API Gateway HTTP API: $1.00 per million requests.
pub const HTTP_API_REQUEST: u64 = 1_000_000;
/// API Gateway WebSocket API: $1.00 per million messages.
pub const WEBSOCKET_MESSAGE: u64 = 1_000_000;
/// API Gateway WebSocket API: $0.25 per million connection minutes.
pub const WEBSOCKET_CONNECTION_MINUTE: u64 = 250_000;
/// DynamoDB on-demand: $0.125 per million read request units.
pub const DYNAMODB_READ_UNIT: u64 = 125_000;
/// DynamoDB on-demand: $0.625 per million write request units.
pub const DYNAMODB_WRITE_UNIT: u64 = 625_000;
/// SQS standard queue: $0.40 per million requests.
pub const SQS_REQUEST: u64 = 400_000;

/// Time a request to each service takes inside AWS, which a loopback benchmark cannot measure: the
/// Lambda bill pays for these waits. Assumptions, stated in the report with the result.
pub const ASSUMED_DYNAMODB_MS: u64 = 5;
/// See [`ASSUMED_DYNAMODB_MS`]: one SOAP round trip to Glase over the internet.
pub const ASSUMED_GLASE_MS: u64 = 150;
/// See [`ASSUMED_DYNAMODB_MS`].
pub const ASSUMED_SQS_MS: u64 = 10;

/// What one payment used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// HTTP API requests.
    pub http_requests: u64,
    /// WebSocket messages (in and out).
    pub websocket_messages: u64,
    /// WebSocket connection minutes.
    pub websocket_minutes: u64,
    /// Lambda invocations.
    pub invocations: u64,
    /// Billed Lambda time: Σ memory (MB) × billed duration (ms).
    pub lambda_mb_ms: u64,
    /// DynamoDB read units, in thousandths.
    pub read_milli_units: u64,
    /// DynamoDB write units, in thousandths.
    pub write_milli_units: u64,
    /// SQS requests (send, receive, delete).
    pub sqs_requests: u64,
}

/// A cost, by part, in picodollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// API Gateway (HTTP and WebSocket).
    pub api_gateway: u64,
    /// Lambda requests and duration.
    pub lambda: u64,
    /// DynamoDB read and write units.
    pub dynamodb: u64,
    /// SQS requests.
    pub sqs: u64,
    /// All of it.
    pub total: u64,
}

/// The cost of `usage` at the list prices above.
pub fn cost(usage: &Usage) -> Cost {
    let api_gateway = usage.http_requests * HTTP_API_REQUEST
        + usage.websocket_messages * WEBSOCKET_MESSAGE
        + usage.websocket_minutes * WEBSOCKET_CONNECTION_MINUTE;
    let lambda = usage.invocations * LAMBDA_REQUEST + usage.lambda_mb_ms * LAMBDA_ARM_GB_SECOND / 1_024_000;
    let dynamodb =
        (usage.read_milli_units * DYNAMODB_READ_UNIT + usage.write_milli_units * DYNAMODB_WRITE_UNIT) / 1000;
    let sqs = usage.sqs_requests * SQS_REQUEST;
    Cost {
        api_gateway,
        lambda,
        dynamodb,
        sqs,
        total: api_gateway + lambda + dynamodb + sqs,
    }
}

/// Picodollars per payment as dollars per million payments, e.g. `$5.43`.
pub fn per_million(picodollars: u64) -> String {
    // Per payment in 10⁻¹² USD = per million payments in 10⁻⁶ USD; show cents, rounded.
    let cents = (picodollars + 5_000) / 10_000;
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// The billed duration of one invocation in ms: its own work (`own_ms`, measured) plus the assumed waits
/// for the requests it made.
pub fn billed_ms(own_ms: u64, store_requests: u64, glase_calls: u64, sqs_requests: u64) -> u64 {
    own_ms.max(1)
        + store_requests * ASSUMED_DYNAMODB_MS
        + glase_calls * ASSUMED_GLASE_MS
        + sqs_requests * ASSUMED_SQS_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_http_requests_cost_a_dollar_and_units_are_priced_per_thousandth() {
        let c = cost(&Usage {
            http_requests: 1,
            read_milli_units: 500,
            write_milli_units: 2000,
            ..Usage::default()
        });
        assert_eq!(c.api_gateway, 1_000_000);
        assert_eq!(c.dynamodb, 62_500 + 1_250_000);
        assert_eq!(c.total, 2_312_500);
        assert_eq!(per_million(c.total), "$2.31");
    }

    #[test]
    fn lambda_duration_is_priced_per_gb_second() {
        // One second at 1,024 MB is one GB-second.
        let c = cost(&Usage {
            invocations: 1,
            lambda_mb_ms: 1024 * 1000,
            ..Usage::default()
        });
        assert_eq!(c.lambda, 200_000 + 13_333_400);
        assert_eq!(per_million(c.lambda), "$13.53");
    }

    #[test]
    fn billed_time_adds_the_assumed_waits() {
        assert_eq!(billed_ms(0, 2, 1, 0), 1 + 10 + 150);
        assert_eq!(billed_ms(3, 0, 0, 1), 13);
    }
}
