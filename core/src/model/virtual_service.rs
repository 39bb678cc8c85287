//! Placeholder: filled in by the model work.
use serde::{Deserialize, Serialize};
/// Placeholder spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualService {}
/// Placeholder CORS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorsPolicy {}
