//! glase-protocol (work in progress).
