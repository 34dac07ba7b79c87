//! glase-sandbox (work in progress).
