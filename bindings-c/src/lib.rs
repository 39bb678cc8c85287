//! # meshroute C ABI
//!
//! A thin C layer over the `meshroute` crate, in the style of rustls-ffi:
//! opaque handles with `*_new`/`*_free` pairs, a [`meshroute_status`] code
//! from every call plus a per-thread message for the last failure, borrowed
//! `(ptr, len)` strings in and out, and no panic crossing the boundary.
//! The header `include/meshroute.h` is generated from this source by
//! `build.rs` (cbindgen).
//!
//! This crate only converts between C and Rust; every routing decision is
//! made by `meshroute` itself.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// cbindgen writes the functions in the order it reads them: modules in
// this order, so the deciding calls come first in the header.
pub mod decide;
pub mod decision;
pub mod ffi;
mod handle;
pub mod limits;
pub mod mesh;
mod plain;
pub mod request;
pub mod resilience;

pub use decide::*;
pub use decision::*;
pub use ffi::*;
pub use limits::*;
pub use mesh::*;
pub use request::*;
pub use resilience::*;
