//! payments-domain (work in progress).
