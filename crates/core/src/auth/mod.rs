//! Who is asking and what they may do: accounts (`account` for the rules and types,
//! `account_store` for their SQL), credentials and secrets, bearer tokens, dashboard
//! sessions and refresh tokens (`sessions`), and the access policy with the token
//! scopes that narrow it.

pub mod account;
pub mod account_store;
pub mod credentials;
pub mod jwt;
pub mod policy;
pub mod scope;
pub mod secret;
pub mod sessions;
pub mod verdict;
