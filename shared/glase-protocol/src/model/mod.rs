//! The typed model of the Glase merchant API: data types, result codes and one request and one
//! response type per operation. No I/O and no XML here.

mod decimal;
mod operations;
mod result_code;
mod secret;
mod types;

pub use decimal::{Amount, Decimal, DecimalError, MAX_SCALE};
pub use operations::*;
pub use result_code::ResultCode;
pub use secret::Password;
pub use types::*;
