//! Content digests (`algorithm:hex`) and the resumable hasher that computes them.
//!
//! A blob upload spans many requests, so the hash state must survive between them:
//! [`Hasher::save`] turns it into a string for the upload session and
//! [`Hasher::restore`] continues it in the next request.

use std::fmt;
use std::str::FromStr;

use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::Error;

/// The digest algorithms Tollgate computes and accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// A validated content digest such as `sha256:9f86d0…`. Always lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn algorithm(&self) -> Algorithm {
        let (name, _) = self.0.split_once(':').expect("validated on parse");
        Algorithm::from_name(name).expect("validated on parse")
    }

    pub fn hex(&self) -> &str {
        self.0.split_once(':').expect("validated on parse").1
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The raw hash bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        hex::decode(self.hex()).expect("validated as lowercase hex on parse")
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }
}

impl FromStr for Digest {
    type Err = Error;

    /// Parses `algorithm:encoded`. A well-formed digest of an algorithm we do not
    /// compute is `Unsupported`; anything else malformed is `DigestInvalid`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::DigestInvalid(format!("malformed digest {s:?}"));
        let (name, hex) = s.split_once(':').ok_or_else(invalid)?;
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        let hex_ok = !hex.is_empty()
            && hex
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
        if !name_ok || !hex_ok {
            return Err(invalid());
        }
        let algorithm = Algorithm::from_name(name)
            .ok_or_else(|| Error::Unsupported(format!("digest algorithm {name:?}")))?;
        let lower_hex = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex.len() != algorithm.hex_len() || !lower_hex {
            return Err(invalid());
        }
        Ok(Digest(s.to_owned()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An incremental SHA-2 hasher whose state can be saved between requests.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest(format!("{}:{hex}", algorithm.name()))
    }

    /// The state as `algorithm:hex-of-internal-state`, to store in an upload session.
    pub fn save(&self) -> String {
        let state = match self {
            Hasher::Sha256(h) => hex::encode(h.serialize()),
            Hasher::Sha512(h) => hex::encode(h.serialize()),
        };
        format!("{}:{state}", self.algorithm().name())
    }

    /// The inverse of [`Hasher::save`]. `None` when the text is not a saved state.
    pub fn restore(saved: &str) -> Option<Self> {
        let (name, state) = saved.split_once(':')?;
        let bytes = hex::decode(state).ok()?;
        match Algorithm::from_name(name)? {
            Algorithm::Sha256 => {
                let state = bytes.as_slice().try_into().ok()?;
                Sha256::deserialize(state).ok().map(Hasher::Sha256)
            }
            Algorithm::Sha512 => {
                let state = bytes.as_slice().try_into().ok()?;
                Sha512::deserialize(state).ok().map(Hasher::Sha512)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_valid_digests() {
        let d: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex().len(), 64);
        assert_eq!(hex::encode(d.to_bytes()), d.hex());
        let long = format!("sha512:{}", "a".repeat(128));
        assert_eq!(
            long.parse::<Digest>().unwrap().algorithm(),
            Algorithm::Sha512
        );
    }

    #[test]
    fn rejects_malformed_digests() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "sha256:ABC",
            "sha256:zz",
            "SHA256:00",
            &format!("sha256:{}", "0".repeat(63)),
            &format!("sha256:{}", "F".repeat(64)),
            &format!("sha512:{}", "0".repeat(64)),
        ] {
            assert!(
                matches!(bad.parse::<Digest>(), Err(Error::DigestInvalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "blake3:abcd".parse::<Digest>(),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn hashes_known_vectors() {
        assert_eq!(Digest::of(Algorithm::Sha256, b"").as_str(), EMPTY_SHA256);
        assert_eq!(
            Digest::of(Algorithm::Sha512, b"abc").hex(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn saved_state_continues_the_same_hash() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            for split in [0, 1, 63, 64, 65, 127, 128, 129, 5000, 10_000] {
                let mut first = Hasher::new(algorithm);
                first.update(&data[..split]);
                let mut resumed = Hasher::restore(&first.save()).unwrap();
                resumed.update(&data[split..]);
                assert_eq!(
                    resumed.finish(),
                    Digest::of(algorithm, &data),
                    "{algorithm:?} {split}"
                );
            }
        }
    }

    #[test]
    fn restore_rejects_garbage() {
        assert!(Hasher::restore("sha256:00").is_none());
        assert!(Hasher::restore("md5:00").is_none());
        assert!(Hasher::restore("nonsense").is_none());
    }
}
