//! Status pushes to browsers: every change of a payment's status goes to the WebSocket connections
//! listening to it.
//!
//! In AWS the connections belong to an API Gateway WebSocket API and a push is one `PostToConnection`
//! call of its management API ([`ApiGatewayPush`]). On a laptop the local stack keeps its sockets in an
//! in-process [`LocalHub`]. Both implement the domain's `StatusPush` port and send the same message,
//! written by [`message`], the one module that knows its shape.
//!
//! # Layout
//! - [`message`]: the JSON pushed to the browser.
//! - [`ApiGatewayPush`]: the management API adapter; `410 Gone` becomes `PushError::Gone` so the caller
//!   deletes the connection instead of retrying it.
//! - [`LocalHub`]: connection id → channel, for the local stack's WebSocket endpoint.

pub mod message;

mod api_gateway;
mod local;

pub use api_gateway::ApiGatewayPush;
pub use local::{LocalHub, Subscription};
