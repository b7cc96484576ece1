//! Who may use the registry: until accounts exist, the one admin credential from
//! the `TOLLGATE_ADMIN_USER` / `TOLLGATE_ADMIN_PASSWORD` secrets, sent as HTTP Basic.

use tollgate_core::credentials::{is_admin, parse_basic};
use tollgate_core::{Error, Result};
use worker::{Env, Request};

pub fn require_admin(req: &Request, env: &Env) -> Result<()> {
    let secret = |name: &str| env.secret(name).map(|s| s.to_string()).unwrap_or_default();
    let header = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let (user, password) = parse_basic(&header).ok_or(Error::Unauthorized)?;
    if is_admin(
        &user,
        &password,
        &secret("TOLLGATE_ADMIN_USER"),
        &secret("TOLLGATE_ADMIN_PASSWORD"),
    ) {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}
