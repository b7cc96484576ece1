//! An artifact's upstream, as an admin sets it: which registry (an `https` URL;
//! plain `http` only to a loopback host), which repository there, and how to log
//! in — anonymously, with HTTP Basic, or with the Docker token flow (the same
//! username and password, exchanged for a bearer token at the realm the
//! upstream's `401` names). The secret is sealed by a [`Cipher`] before it is
//! stored and never leaves the API again: [`UpstreamView`] says only whether one
//! is set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::oci::name::RepoName;

/// Longest username or secret accepted: registry tokens are long, but bounded.
const MAX_SECRET_LEN: usize = 4096;
const MAX_USERNAME_LEN: usize = 256;

/// How long a fetched tag is served before it is re-resolved upstream, unless
/// the setting says otherwise; and the longest a setting may say (a day).
pub const DEFAULT_REFRESH_SECONDS: u32 = 300;
pub const MAX_REFRESH_SECONDS: u32 = 86_400;

/// Seals and opens credentials; the worker implements it with AES-GCM under the
/// `TOLLGATE_UPSTREAM_KEY` secret, so the key stays outside the core and D1.
/// `context` is bound to the sealed bytes (AES-GCM's associated data): a sealed
/// secret copied to another artifact's row does not open there.
#[allow(async_fn_in_trait)]
pub trait Cipher {
    async fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>>;
    /// The plaintext, or an error when the bytes were not sealed by this key for
    /// this context.
    async fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>>;
}

/// An upstream registry's base URL: `scheme://host[:port]`, nothing else.
/// `http` is refused except to a loopback host: credentials and manifests would
/// cross the network in clear, and a manifest fetched by tag can only be trusted
/// as far as the connection it came over. Loopback serves tests and local
/// development, where the upstream runs beside Tollgate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryUrl(String);

impl RegistryUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.") && valid_ipv4(host)
}

fn valid_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok())
}

/// A host name or address as a URL writes it, with an optional port.
fn valid_authority(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !authority.ends_with(']') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let host_ok = host == "[::1]"
        || !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

impl FromStr for RegistryUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Invalid(format!("url {s:?}: {why}"));
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("must start with https://"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
        if authority.contains(['/', '?', '#', '@']) {
            return Err(bad("only scheme, host and port are allowed"));
        }
        if !valid_authority(&authority) {
            return Err(bad("not a host name or address"));
        }
        let host = authority
            .rsplit_once(':')
            .filter(|_| !authority.ends_with(']'))
            .map_or(authority.as_str(), |(h, _)| h);
        match scheme {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(bad("http is allowed only to a loopback host")),
            _ => return Err(bad("must start with https://")),
        }
        Ok(RegistryUrl(format!("{scheme}://{authority}")))
    }
}

/// How Tollgate logs in to the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Anonymous pulls.
    None,
    /// HTTP Basic with the username and password on every request.
    Basic,
    /// The Docker token flow: the username and password go only to the realm
    /// the upstream's `WWW-Authenticate` names, for a bearer token.
    Token,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Basic => "basic",
            AuthKind::Token => "token",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(AuthKind::None),
            "basic" => Ok(AuthKind::Basic),
            "token" => Ok(AuthKind::Token),
            other => Err(Error::Internal(format!("unknown upstream auth {other:?}"))),
        }
    }
}

/// A username and its password or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub secret: String,
}

/// Never prints the secret, should a setting end up in a log.
impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Login({:?}, <secret>)", self.username)
    }
}

/// An artifact's upstream, validated, its secret in the clear (in a request, or
/// opened for a fetch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub url: RegistryUrl,
    pub repository: RepoName,
    pub auth: AuthKind,
    /// `None` exactly when `auth` is [`AuthKind::None`].
    pub login: Option<Login>,
    /// Seconds a fetched tag is served before it is re-resolved upstream.
    pub refresh_seconds: u32,
}

/// `PUT /api/v1/artifacts/{name}/upstream`'s body, before validation.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRequest {
    pub url: String,
    pub repository: String,
    pub auth: AuthKind,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_seconds: Option<u32>,
}

impl TryFrom<UpstreamRequest> for Upstream {
    type Error = Error;

    fn try_from(r: UpstreamRequest) -> Result<Self> {
        let repository = r.repository.parse().map_err(|_| {
            Error::Invalid(format!(
                "repository {:?} is no repository name",
                r.repository
            ))
        })?;
        let login = match (r.auth, r.username, r.password) {
            (AuthKind::None, None, None) => None,
            (AuthKind::None, _, _) => {
                return Err(Error::Invalid(
                    "auth none takes no username or password".into(),
                ))
            }
            (_, Some(username), Some(secret)) => Some(login(username, secret)?),
            _ => {
                return Err(Error::Invalid(
                    "auth basic and token need a username and a password".into(),
                ))
            }
        };
        let refresh_seconds = r.refresh_seconds.unwrap_or(DEFAULT_REFRESH_SECONDS);
        if !(1..=MAX_REFRESH_SECONDS).contains(&refresh_seconds) {
            return Err(Error::Invalid(format!(
                "refresh_seconds must be 1 to {MAX_REFRESH_SECONDS}"
            )));
        }
        Ok(Upstream {
            url: r.url.parse()?,
            repository,
            auth: r.auth,
            login,
            refresh_seconds,
        })
    }
}

/// A username usable in HTTP Basic (no `:`, which ends it there) and a secret,
/// both non-empty, bounded and free of control characters.
fn login(username: String, secret: String) -> Result<Login> {
    let printable = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
    if !printable(&username) || username.contains(':') || username.len() > MAX_USERNAME_LEN {
        return Err(Error::Invalid(format!(
            "username must be 1 to {MAX_USERNAME_LEN} printable characters without ':'"
        )));
    }
    if !printable(&secret) || secret.len() > MAX_SECRET_LEN {
        return Err(Error::Invalid(format!(
            "password must be 1 to {MAX_SECRET_LEN} printable characters"
        )));
    }
    Ok(Login { username, secret })
}

/// An upstream as the API shows it: the secret only as whether one is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamView {
    pub url: String,
    pub repository: String,
    pub auth: String,
    pub username: Option<String>,
    pub password_set: bool,
    pub refresh_seconds: u32,
    /// The upstream's last failure and when (Unix seconds), while pulls were
    /// served what was cached; `None` until one, and again after a new setting.
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub updated_at: i64,
}

/// An upstream's last failure as vendor staff see it in the artifact's
/// details: why and when (Unix seconds). Until the setting is saved again,
/// pulls are served what is cached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamFailure {
    pub error: String,
    pub at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Result<RegistryUrl> {
        s.parse()
    }

    #[test]
    fn accepts_https_anywhere_and_http_only_on_loopback() {
        assert_eq!(url("https://ghcr.io").unwrap().as_str(), "https://ghcr.io");
        assert_eq!(
            url("https://Registry.Example:5000/").unwrap().as_str(),
            "https://registry.example:5000"
        );
        for local in [
            "http://127.0.0.1:5000",
            "http://localhost:8080",
            "http://[::1]:5000",
            "http://127.1.2.3",
        ] {
            assert!(url(local).is_ok(), "{local}");
        }
        for bad in [
            "http://registry.example",
            "http://10.0.0.1:5000",
            "http://127.0.0.1.example.com",
            "ftp://ghcr.io",
            "ghcr.io",
            "https://user:pw@ghcr.io",
            "https://ghcr.io/v2/",
            "https://ghcr.io?x=1",
            "https://ghcr.io#x",
            "https://",
            "https://ghcr.io:0",
            "https://ghcr.io:99999",
            "https://gh cr.io",
        ] {
            assert!(matches!(url(bad), Err(Error::Invalid(_))), "{bad}");
        }
    }

    fn request(auth: AuthKind, username: Option<&str>, password: Option<&str>) -> UpstreamRequest {
        UpstreamRequest {
            url: "https://ghcr.io".into(),
            repository: "acme/app".into(),
            auth,
            username: username.map(Into::into),
            password: password.map(Into::into),
            refresh_seconds: None,
        }
    }

    #[test]
    fn credentials_match_the_auth_kind() {
        let none = Upstream::try_from(request(AuthKind::None, None, None)).unwrap();
        assert_eq!(none.login, None);
        let basic = Upstream::try_from(request(AuthKind::Basic, Some("ci"), Some("pw"))).unwrap();
        assert_eq!(basic.login.unwrap().secret, "pw");
        for (auth, user, pw) in [
            (AuthKind::None, Some("ci"), None),
            (AuthKind::None, None, Some("pw")),
            (AuthKind::Basic, Some("ci"), None),
            (AuthKind::Token, None, Some("pw")),
            (AuthKind::Basic, Some("c:i"), Some("pw")),
            (AuthKind::Basic, Some(""), Some("pw")),
            (AuthKind::Token, Some("ci"), Some("p\nw")),
        ] {
            let refused = Upstream::try_from(request(auth, user, pw));
            assert!(
                matches!(refused, Err(Error::Invalid(_))),
                "{auth:?} {user:?} {pw:?}"
            );
        }
        let mut refresh = request(AuthKind::None, None, None);
        assert_eq!(
            Upstream::try_from(request(AuthKind::None, None, None))
                .unwrap()
                .refresh_seconds,
            DEFAULT_REFRESH_SECONDS
        );
        for bad in [0, MAX_REFRESH_SECONDS + 1] {
            refresh.refresh_seconds = Some(bad);
            assert!(matches!(
                Upstream::try_from(refresh.clone()),
                Err(Error::Invalid(_))
            ));
        }
        let mut bad_repo = request(AuthKind::None, None, None);
        bad_repo.repository = "Acme/App".into();
        assert!(matches!(
            Upstream::try_from(bad_repo),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn a_login_never_prints_its_secret() {
        let login = login("ci".into(), "hunter2".into()).unwrap();
        assert!(!format!("{login:?}").contains("hunter2"));
    }
}
