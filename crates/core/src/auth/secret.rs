//! Secrets and how they are kept: personal access tokens and session ids (random,
//! prefixed so a leaked one is recognisable, stored as SHA-256 — they carry 256
//! bits of entropy, so a fast hash is enough) and passwords (PBKDF2-HMAC-SHA256,
//! slow on purpose). Callers supply the randomness, so this module stays pure.

use sha2::{Digest as _, Sha256};

use crate::auth::credentials::constant_time_eq;

/// Every personal access token starts with this.
pub const TOKEN_PREFIX: &str = "tgpat_";
/// Every session id starts with this.
pub const SESSION_PREFIX: &str = "tgses_";
/// The secret naming a refresh token's session starts with this.
pub const REFRESH_PREFIX: &str = "tgref_";

/// PBKDF2 rounds for new passwords. 100,000 is also the most Web Crypto in Workers
/// accepts, so a later move to the native implementation keeps every hash valid.
pub const PASSWORD_ROUNDS: u32 = 100_000;

/// What passwords are checked against when the account has none (an unknown
/// email, or an account that signs in with tokens only): a hash of a password
/// nobody is told, at [`PASSWORD_ROUNDS`], so that check costs what a real one
/// does and a refusal's timing does not tell whether the account exists.
pub const DUMMY_PASSWORD_HASH: &str = "pbkdf2-sha256$100000$746f6c6c676174652d64756d6d792121$d0eabaa926a473faac62f0f1b05dd8359c02cf2284d0df626a39758c95f7ca98";

/// A new secret with `prefix`: the prefix and 32 random bytes in URL-safe base64.
pub fn new_secret(prefix: &str, random: &[u8; 32]) -> String {
    format!("{prefix}{}", base64url(random))
}

/// Whether `s` looks like a personal access token (before looking it up).
pub fn is_token(s: &str) -> bool {
    s.starts_with(TOKEN_PREFIX) && s.len() == TOKEN_PREFIX.len() + 43
}

/// What is stored of a token or session id.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The stored form of `password`: `pbkdf2-sha256$<rounds>$<salt hex>$<hash hex>`.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> String {
    hash_with(password, salt, PASSWORD_ROUNDS)
}

fn hash_with(password: &str, salt: &[u8], rounds: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, rounds, &mut out);
    format!(
        "pbkdf2-sha256${rounds}${}${}",
        hex::encode(salt),
        hex::encode(out)
    )
}

/// Whether `password` matches the `stored` form; a malformed one never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(_), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt)) = (rounds.parse::<u32>(), hex::decode(salt)) else {
        return false;
    };
    if rounds == 0 || rounds > 10 * PASSWORD_ROUNDS {
        return false;
    }
    constant_time_eq(
        hash_with(password, &salt, rounds).as_bytes(),
        stored.as_bytes(),
    )
}

fn base64url(bytes: &[u8]) -> String {
    encode(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

/// Standard base64 with padding (RFC 4648 §4), as HTTP Basic credentials are
/// written.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = encode(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    );
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Base64 of `bytes` in `alphabet`, unpadded.
fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_stored_hashed() {
        let token = new_secret(TOKEN_PREFIX, &[7u8; 32]);
        assert!(is_token(&token), "{token}");
        assert!(!is_token("tgpat_short"));
        assert!(!is_token(&new_secret(SESSION_PREFIX, &[7u8; 32])));
        assert_ne!(token, new_secret(TOKEN_PREFIX, &[8u8; 32]));
        let stored = hash_secret(&token);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&token[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn pbkdf2_matches_the_rfc7914_vector() {
        let stored = hash_with("passwd", b"salt", 1);
        assert!(
            stored.ends_with("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
        );
    }

    /// Finding 8 of issue 15: the dummy is a real hash at full cost — were it
    /// malformed or cheap, `verify_password` would return early on it.
    #[test]
    fn finding_8_the_dummy_hash_costs_a_full_check() {
        assert!(DUMMY_PASSWORD_HASH.starts_with(&format!("pbkdf2-sha256${PASSWORD_ROUNDS}$")));
        assert!(verify_password(
            "no account has this password",
            DUMMY_PASSWORD_HASH
        ));
    }

    #[test]
    fn passwords_verify_and_nothing_else_does() {
        let stored = hash_with("correct horse", b"0123456789abcdef", 1000);
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct horsf", &stored));
        assert!(!verify_password("correct horse", "plain"));
        assert!(!verify_password("", ""));
        let tampered = stored.replace("$1000$", "$1$");
        assert!(!verify_password("correct horse", &tampered));
        assert!(!stored.contains("correct"));
    }
}
