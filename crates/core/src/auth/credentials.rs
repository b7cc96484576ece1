//! HTTP Basic credentials and their constant-time check against the configured
//! admin credential. Accounts and tokens replace the single admin later; the
//! parsing and comparison stay.

/// Username and password from an `Authorization: Basic …` header value.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

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

/// Standard base64 with optional padding.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a' + 26) as u32),
            b'0'..=b'9' => Some((c - b'0' + 52) as u32),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = input.trim_end_matches('=');
    if input.len() - trimmed.len() > 2 || trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_headers() {
        assert_eq!(
            parse_basic("Basic YWRtaW46czNjcjN0"),
            Some(("admin".into(), "s3cr3t".into()))
        );
        assert_eq!(
            parse_basic("basic dTpwOmM="),
            Some(("u".into(), "p:c".into()))
        );
        assert_eq!(parse_basic("Basic YQ=="), None, "no colon");
        assert_eq!(parse_basic("Bearer YWRtaW46czNjcjN0"), None);
        assert_eq!(parse_basic("Basic !!!!"), None);
        assert_eq!(parse_basic("Basic Y"), None);
    }

    #[test]
    fn decodes_every_padding_length() {
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("YWJjZA").unwrap(), b"abcd");
        assert_eq!(base64_decode("").unwrap(), b"");
    }

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
