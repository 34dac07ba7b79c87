//! payments-sqs (work in progress).
