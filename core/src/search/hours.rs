//! Opening hours (placeholder).
