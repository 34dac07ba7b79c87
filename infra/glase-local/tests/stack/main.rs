//! The `glase-local` binary as a person runs it, each test starting its own process (see
//! [`running`]): one test binary, one module per subject.

mod first_start;
mod local_stack;
mod no_secrets_in_logs;
mod running;
