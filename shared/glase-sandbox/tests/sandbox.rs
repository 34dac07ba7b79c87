//! Integration tests: the sandbox on 127.0.0.1:0, driven over SOAP with the protocol crate's codec and
//! over its `/sandbox/` controls. One test binary, split into modules by theme.

mod common;

mod sandbox {
    mod client;
    mod controls;
    mod faults;
    mod operations;
    mod refunds_and_reports;
    mod reversal;
    mod terminals;
    mod wsdl;
}
