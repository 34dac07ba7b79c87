//! payments-dynamodb (work in progress).
