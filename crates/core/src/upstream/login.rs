//! How Tollgate logs in to an upstream for a fetch: the HTTP Basic
//! `Authorization` value, and the Docker token flow — reading the upstream's
//! `WWW-Authenticate: Bearer realm=…,service=…` challenge (its realm held to the
//! rule of the upstream's own URL: `https`, or plain `http` only on loopback, so
//! a hostile upstream cannot send the credentials somewhere in clear), the token
//! request for pull access to the upstream repository, and the realm's answer
//! with how long its token may be kept.

use serde::Deserialize;

use crate::auth::secret::base64;
use crate::error::{Error, Result};
use crate::oci::name::RepoName;
use crate::upstream::setting::{Login, RegistryUrl};

/// How long a token whose answer names no lifetime is kept: the token
/// specification's default.
const DEFAULT_TOKEN_SECONDS: u64 = 60;

/// A token is dropped this long before it expires, so it does not expire on
/// its way to the upstream.
const TOKEN_MARGIN_SECONDS: u64 = 10;

/// The `Authorization` value of HTTP Basic for `login`.
pub fn basic(login: &Login) -> String {
    let pair = format!("{}:{}", login.username, login.secret);
    format!("Basic {}", base64(pair.as_bytes()))
}

/// Where the upstream sends Tollgate for a bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
    service: Option<String>,
}

/// The `key="value"` parameters of a challenge; quoted values may hold commas.
fn params(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, tail)) => (value, tail),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        found.push((key, value.trim().to_owned()));
        rest = tail.trim_start().trim_start_matches(',');
    }
    found
}

/// A realm URL obeys the rule of an upstream's URL; it may have a path, and a
/// query that the token request extends.
fn valid_realm(realm: &str) -> Result<()> {
    let bad = || {
        Error::Upstream(format!(
            "token realm {realm:?} is not https (or loopback http)"
        ))
    };
    let (scheme, rest) = realm.split_once("://").ok_or_else(bad)?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if realm.contains('#') {
        return Err(bad());
    }
    format!("{scheme}://{authority}")
        .parse::<RegistryUrl>()
        .map_err(|_| bad())?;
    Ok(())
}

impl Challenge {
    /// The Bearer challenge in a `WWW-Authenticate` value; `None` when it is no
    /// Bearer challenge (HTTP Basic, say). A realm that breaks the URL rule is
    /// an upstream failure: Tollgate sends no credentials there.
    pub fn parse(header: &str) -> Result<Option<Challenge>> {
        let header = header.trim();
        let Some((scheme, rest)) = header.split_once(' ') else {
            return Ok(None);
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(None);
        }
        let params = params(rest);
        let value = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let realm = value("realm")
            .ok_or_else(|| Error::Upstream("its Bearer challenge names no realm".into()))?;
        valid_realm(&realm)?;
        Ok(Some(Challenge {
            realm,
            service: value("service"),
        }))
    }

    /// The token request for pull access to `repository`: Tollgate asks for
    /// what it needs, whatever scope the challenge named.
    pub fn token_url(&self, repository: &RepoName) -> String {
        let separator = if self.realm.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{}{separator}scope={}",
            self.realm,
            percent_encode(&format!("repository:{repository}:pull"))
        );
        if let Some(service) = &self.service {
            url.push_str(&format!("&service={}", percent_encode(service)));
        }
        url
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A bearer token from the realm, and until when (Unix milliseconds) it may
/// be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bearer {
    pub token: String,
    pub until_ms: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl Bearer {
    /// The token in the realm's JSON answer at `now_ms`.
    pub fn from_answer(body: &[u8], now_ms: u64) -> Result<Bearer> {
        let answer: TokenAnswer = serde_json::from_slice(body)
            .map_err(|_| Error::Upstream("its token realm answered no token".into()))?;
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Upstream("its token realm answered no token".into()))?;
        let seconds = answer.expires_in.unwrap_or(DEFAULT_TOKEN_SECONDS);
        let kept = seconds.saturating_sub(TOKEN_MARGIN_SECONDS);
        Ok(Bearer {
            token,
            until_ms: now_ms + kept * 1000,
        })
    }

    pub fn fresh(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }

    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bearer_challenge_with_commas_in_quotes() {
        let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
        let challenge = Challenge::parse(header).unwrap().unwrap();
        assert_eq!(challenge.realm, "https://auth.example/token");
        assert_eq!(challenge.service.as_deref(), Some("registry.example"));
        let repo: RepoName = "acme/app".parse().unwrap();
        assert_eq!(
            challenge.token_url(&repo),
            "https://auth.example/token?scope=repository%3Aacme%2Fapp%3Apull&service=registry.example"
        );
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), Ok(None));
        let query = Challenge::parse(r#"bearer realm="http://127.0.0.1:8/t?a=1""#);
        assert!(query
            .unwrap()
            .unwrap()
            .token_url(&repo)
            .starts_with("http://127.0.0.1:8/t?a=1&scope="));
    }

    #[test]
    fn a_realm_obeys_the_url_rule() {
        for bad in [
            r#"Bearer realm="http://auth.example/token""#,
            r#"Bearer realm="ftp://auth.example/token""#,
            r#"Bearer realm="https://user@auth.example/token""#,
            r#"Bearer realm="https://auth.example/token#x""#,
            r#"Bearer service="x""#,
        ] {
            assert!(
                matches!(Challenge::parse(bad), Err(Error::Upstream(_))),
                "{bad}"
            );
        }
        assert!(Challenge::parse(r#"Bearer realm="http://localhost:5001/token""#).is_ok());
    }

    #[test]
    fn a_token_is_kept_until_shortly_before_it_expires() {
        let bearer = Bearer::from_answer(br#"{"token":"t","expires_in":300}"#, 1_000).unwrap();
        assert_eq!(bearer.until_ms, 1_000 + 290_000);
        assert!(bearer.fresh(290_999) && !bearer.fresh(291_000));
        let default = Bearer::from_answer(br#"{"access_token":"a"}"#, 0).unwrap();
        assert_eq!((default.token.as_str(), default.until_ms), ("a", 50_000));
        assert_eq!(default.authorization(), "Bearer a");
        for bad in [&b"{}"[..], b"{\"token\":\"\"}", b"<html>"] {
            assert!(matches!(
                Bearer::from_answer(bad, 0),
                Err(Error::Upstream(_))
            ));
        }
    }

    #[test]
    fn basic_credentials_are_base64_of_the_pair() {
        let login = Login {
            username: "ci".into(),
            secret: "pw".into(),
        };
        assert_eq!(basic(&login), "Basic Y2k6cHc=");
    }
}
