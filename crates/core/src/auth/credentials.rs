//! The constant-time check of credentials against the configured admin
//! credential. Accounts and tokens replace the single admin later; the comparison
//! stays. Reading them from an `Authorization: Basic` header is the worker's
//! (`src/http.rs`).

/// Compares without an early exit, so timing does not reveal the matching prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

/// Whether `(user, password)` is the configured admin credential.
pub fn is_admin(user: &str, password: &str, admin_user: &str, admin_password: &str) -> bool {
    let user_ok = constant_time_eq(user.as_bytes(), admin_user.as_bytes());
    let password_ok = constant_time_eq(password.as_bytes(), admin_password.as_bytes());
    user_ok & password_ok & !admin_password.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_in_constant_time_and_correctly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
        assert!(is_admin("admin", "pw", "admin", "pw"));
        assert!(
            !is_admin("admin", "", "admin", ""),
            "an unset password never matches"
        );
        assert!(!is_admin("root", "pw", "admin", "pw"));
    }
}
