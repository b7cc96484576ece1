//! Air-gap bundles (docs/bundles.md): a customer's licensed versions, fixed as a
//! plan when asked for (`plan`, `bundle_store`), then served as an uncompressed
//! tar in OCI image-layout form whose bytes are the same on every download
//! (`tar`), so a download can resume at any offset. What a download counts
//! against usage caps is `counting`'s.

pub mod bundle_store;
pub mod counting;
pub mod plan;
pub mod tar;
