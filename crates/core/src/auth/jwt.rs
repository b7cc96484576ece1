//! The registry's bearer tokens: short-lived JWTs signed with Ed25519 (EdDSA) that
//! name the account (`sub`), the personal access token they came from (`tid`), and
//! the granted `access`; and long-lived refresh tokens for the OAuth2 flow that
//! containerd and buildkit use, each naming (`jti`) a session that can be revoked
//! (`sessions.rs`). Both are bound to one `service` (the registry's host) through
//! `aud`.

use std::collections::HashSet;

use jwt_simple::prelude::{
    Audiences, Duration, Ed25519KeyPair, EdDSAKeyPairLike, EdDSAPublicKeyLike, JWTClaims,
    VerificationOptions,
};
use serde::{Deserialize, Serialize};

use crate::auth::account::Identity;
use crate::auth::scope::ResourceAccess;
use crate::error::{Error, Result};

const ISSUER: &str = "tollgate";

/// Bearer tokens live this long; revocation is checked on every request anyway.
pub const ACCESS_TTL_SECONDS: u64 = 300;
/// Refresh tokens live this long, and never past the token they came from.
pub const REFRESH_TTL_SECONDS: u64 = 30 * 24 * 60 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Custom {
    kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
    #[serde(default)]
    access: Vec<ResourceAccess>,
}

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub user_id: String,
    pub token_id: Option<String>,
    pub access: Vec<ResourceAccess>,
    pub expires_at: u64,
    /// A refresh token's session secret (see [`Signer::issue_refresh`]).
    pub session: Option<String>,
}

/// Signs and verifies with the key from the `TOLLGATE_JWT_KEY` secret: a 32-byte
/// Ed25519 seed in hex.
pub struct Signer(Ed25519KeyPair);

impl Signer {
    pub fn from_seed_hex(seed_hex: &str) -> Result<Signer> {
        let seed: [u8; 32] = hex::decode(seed_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Internal("TOLLGATE_JWT_KEY must be 64 hex digits".into()))?;
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
        Ed25519KeyPair::from_bytes(&pair[..])
            .map(Signer)
            .map_err(|e| Error::Internal(format!("TOLLGATE_JWT_KEY: {e}")))
    }

    /// A token of `kind` for `who` (and the personal access token they used) on
    /// `service`, valid from `now` for `ttl` seconds.
    pub fn issue(
        &self,
        kind: TokenKind,
        who: &Identity,
        access: Vec<ResourceAccess>,
        service: &str,
        now: u64,
        ttl: u64,
    ) -> Result<String> {
        self.sign(claims(kind, who, access, service, now, ttl))
    }

    /// A refresh token for `who` on `service`, valid from `now` for
    /// [`REFRESH_TTL_SECONDS`], naming its session by the secret `session` (its
    /// `jti`): a refresh checks that the session is still live, so revoking it
    /// ends the token.
    pub fn issue_refresh(
        &self,
        who: &Identity,
        session: &str,
        service: &str,
        now: u64,
    ) -> Result<String> {
        let claims = claims(
            TokenKind::Refresh,
            who,
            Vec::new(),
            service,
            now,
            REFRESH_TTL_SECONDS,
        );
        self.sign(claims.with_jwt_id(session))
    }

    fn sign(&self, claims: JWTClaims<Custom>) -> Result<String> {
        self.0
            .sign(claims)
            .map_err(|e| Error::Internal(format!("signing a token: {e}")))
    }

    /// The claims of a token of `kind` for `service`, if this key signed it and it
    /// is valid at `now`. Any failure is `Unauthorized`.
    pub fn verify(
        &self,
        token: &str,
        kind: TokenKind,
        service: &str,
        now: u64,
    ) -> Result<Verified> {
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
            allowed_audiences: Some(HashSet::from([service.to_owned()])),
            time_tolerance: Some(Duration::from_secs(0)),
            artificial_time: Some(Duration::from_secs(now)),
            max_token_length: Some(16 * 1024),
            ..VerificationOptions::default()
        };
        let claims = self
            .0
            .public_key()
            .verify_token::<Custom>(token, Some(options))
            .map_err(|_| Error::Unauthorized)?;
        if claims.custom.kind != kind {
            return Err(Error::Unauthorized);
        }
        Ok(Verified {
            user_id: claims.subject.ok_or(Error::Unauthorized)?,
            token_id: claims.custom.tid,
            access: claims.custom.access,
            expires_at: claims.expires_at.map_or(0, |t| t.as_secs()),
            session: claims.jwt_id,
        })
    }
}

/// The claims of a token of `kind` for `who` on `service`, valid from `now` for
/// `ttl` seconds.
fn claims(
    kind: TokenKind,
    who: &Identity,
    access: Vec<ResourceAccess>,
    service: &str,
    now: u64,
    ttl: u64,
) -> JWTClaims<Custom> {
    JWTClaims {
        issued_at: Some(Duration::from_secs(now)),
        expires_at: Some(Duration::from_secs(now + ttl)),
        invalid_before: Some(Duration::from_secs(now)),
        audiences: Some(Audiences::AsString(service.to_owned())),
        issuer: Some(ISSUER.into()),
        jwt_id: None,
        subject: Some(who.user_id.clone()),
        nonce: None,
        custom: Custom {
            kind,
            tid: who.token_id.clone(),
            access,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::account::Role;
    use crate::auth::scope;

    const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const OTHER: &str = "0202020202020202020202020202020202020202020202020202020202020202";
    const NOW: u64 = 1_800_000_000;

    fn token(signer: &Signer, kind: TokenKind, service: &str) -> String {
        let access = scope::parse(&["repository:a:pull".into()]);
        let who = Identity {
            user_id: "u1".into(),
            email: "u1@example.com".into(),
            role: Role::Admin,
            customer_id: None,
            token_id: Some("t1".into()),
        };
        signer
            .issue(kind, &who, access, service, NOW, ACCESS_TTL_SECONDS)
            .unwrap()
    }

    #[test]
    fn round_trips_claims() {
        let signer = Signer::from_seed_hex(KEY).unwrap();
        let t = token(&signer, TokenKind::Access, "reg.example");
        let v = signer
            .verify(&t, TokenKind::Access, "reg.example", NOW + 10)
            .unwrap();
        assert_eq!(v.user_id, "u1");
        assert_eq!(v.token_id.as_deref(), Some("t1"));
        assert_eq!(v.access[0].name, "a");
        assert_eq!(v.expires_at, NOW + ACCESS_TTL_SECONDS);
    }

    #[test]
    fn refuses_foreign_expired_misdirected_and_unsigned_tokens() {
        let signer = Signer::from_seed_hex(KEY).unwrap();
        let t = token(&signer, TokenKind::Access, "reg.example");
        let refused = |t: &str, kind, service, now| signer.verify(t, kind, service, now).is_err();
        let other = token(
            &Signer::from_seed_hex(OTHER).unwrap(),
            TokenKind::Access,
            "reg.example",
        );
        assert!(
            refused(&other, TokenKind::Access, "reg.example", NOW),
            "another key"
        );
        assert!(
            refused(
                &t,
                TokenKind::Access,
                "reg.example",
                NOW + ACCESS_TTL_SECONDS + 1
            ),
            "expired"
        );
        assert!(
            refused(&t, TokenKind::Access, "other.example", NOW),
            "another service"
        );
        assert!(
            refused(&t, TokenKind::Refresh, "reg.example", NOW),
            "access used as refresh"
        );
        assert!(
            refused(&t, TokenKind::Access, "reg.example", NOW - 60),
            "not yet valid"
        );
        let (_, rest) = t.split_once('.').unwrap();
        let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
        let payload = rest.split_once('.').unwrap().0;
        assert!(refused(
            &format!("{none_header}.{payload}."),
            TokenKind::Access,
            "reg.example",
            NOW
        ));
        let tampered = t.replacen(payload, &payload.replace('a', "b"), 1);
        assert_ne!(tampered, t);
        assert!(
            refused(&tampered, TokenKind::Access, "reg.example", NOW),
            "tampered payload"
        );
        assert!(refused("not-a-jwt", TokenKind::Access, "reg.example", NOW));
    }

    #[test]
    fn refresh_tokens_name_their_session() {
        let signer = Signer::from_seed_hex(KEY).unwrap();
        let who = Identity {
            user_id: "u1".into(),
            email: "u1@example.com".into(),
            role: Role::ReadOnly,
            customer_id: None,
            token_id: None,
        };
        let t = signer
            .issue_refresh(&who, "secret", "reg.example", NOW)
            .unwrap();
        let v = signer
            .verify(&t, TokenKind::Refresh, "reg.example", NOW)
            .unwrap();
        assert_eq!(v.session.as_deref(), Some("secret"));
        assert_eq!(v.expires_at, NOW + REFRESH_TTL_SECONDS);
        assert!(signer
            .verify(&t, TokenKind::Access, "reg.example", NOW)
            .is_err());
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(Signer::from_seed_hex("abcd").is_err());
        assert!(Signer::from_seed_hex("").is_err());
    }
}
