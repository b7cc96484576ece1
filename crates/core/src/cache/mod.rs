//! Caches on the pull path, with bounded staleness: how long an entry may be
//! served, which reads may fill them, and which writes empty them. Where they live
//! (an isolate's memory) is the worker's business; the rules are here.

pub mod bounded;
pub mod read_path;
