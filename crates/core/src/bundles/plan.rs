//! What a bundle holds, fixed when it is asked for: the selected versions (each an
//! entry of the layout's `index.json`, named so `skopeo copy oci-archive:FILE:REF`
//! can pick it) and every manifest and blob they reach. From a plan follow the
//! archive's members, in a fixed order, and so its length and bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bundles::tar::{Entry, Layout};
use crate::error::{Error, Result};
use crate::oci::digest::{Algorithm, Digest};

/// The `oci-layout` file of every bundle.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// What a caller asks to bundle: versions of artifacts by tag or digest, or
/// everything the customer's licenses cover (`all`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    pub items: Vec<SelectionItem>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionItem {
    pub artifact: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub digests: Vec<String>,
}

/// At most this many versions in one bundle (the plan is one D1 row).
pub const MAX_VERSIONS: usize = 500;

impl Selection {
    /// Either `all` or at least one version, never both, and not too many.
    pub fn check(&self) -> Result<()> {
        let named: usize = self
            .items
            .iter()
            .map(|i| i.tags.len() + i.digests.len())
            .sum();
        match (self.all, named) {
            (true, 0) => Ok(()),
            (true, _) => Err(Error::Invalid("give `all` or `items`, not both".into())),
            (false, 0) => Err(Error::Invalid("a bundle needs at least one version".into())),
            (false, n) if n > MAX_VERSIONS => Err(Error::Invalid(format!(
                "a bundle holds at most {MAX_VERSIONS} versions"
            ))),
            _ => Ok(()),
        }
    }
}

/// A selected version: an `index.json` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub artifact: String,
    pub tag: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

impl Version {
    /// The name clients pick the version by: `artifact:tag`, or `artifact@digest`
    /// for one chosen by digest (both fit the OCI `ref.name` grammar).
    pub fn ref_name(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{}:{tag}", self.artifact),
            None => format!("{}@{}", self.artifact, self.digest),
        }
    }
}

/// A referrer (a manifest whose `subject` is in the bundle: a signature, an
/// SBOM, an attestation), listed in `index.json` without a name so that clients
/// reading the layout's graph (oras) find it as a referrer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
}

/// A manifest or blob of the bundle; `artifact` names the repository a manifest
/// is read from (blobs are read by digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// The stored plan of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub versions: Vec<Version>,
    /// Every referrer in the closure, each once, in digest order.
    #[serde(default)]
    pub referrers: Vec<Referrer>,
    /// Every manifest and blob, each once, in digest order.
    pub contents: Vec<Content>,
}

/// What an archive entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    OciLayout,
    Index,
    Directory,
    Content(&'a Content),
}

impl Plan {
    /// `contents` deduplicated by digest (a manifest wins over a blob of the same
    /// digest, as it can be read inline) and sorted. Only sha256 content fits a
    /// ustar name (`blobs/sha256/<64 hex>`), so anything else is refused.
    pub fn new(
        versions: Vec<Version>,
        referrers: Vec<Referrer>,
        contents: Vec<Content>,
    ) -> Result<Plan> {
        let mut by_digest: BTreeMap<String, Content> = BTreeMap::new();
        for c in contents {
            let digest: Digest = c.digest.parse()?;
            if digest.algorithm() != Algorithm::Sha256 {
                return Err(Error::Unsupported(format!(
                    "bundles hold sha256 content only, not {digest}"
                )));
            }
            match by_digest.get(&c.digest) {
                Some(kept) if kept.artifact.is_some() => {}
                _ => {
                    by_digest.insert(c.digest.clone(), c);
                }
            }
        }
        let referrers: BTreeMap<String, Referrer> = referrers
            .into_iter()
            .map(|r| (r.digest.clone(), r))
            .collect();
        Ok(Plan {
            versions,
            referrers: referrers.into_values().collect(),
            contents: by_digest.into_values().collect(),
        })
    }

    /// The layout's `index.json`: one named entry per version, in the plan's
    /// order, then the referrers, unnamed.
    pub fn index_json(&self) -> Vec<u8> {
        let versions = self.versions.iter().map(|v| {
            serde_json::json!({
                "mediaType": v.media_type,
                "digest": v.digest,
                "size": v.size,
                "annotations": { REF_NAME: v.ref_name() },
            })
        });
        let referrers = self.referrers.iter().map(|r| {
            let mut entry = serde_json::json!({
                "mediaType": r.media_type,
                "digest": r.digest,
                "size": r.size,
            });
            if let Some(t) = &r.artifact_type {
                entry["artifactType"] = t.as_str().into();
            }
            entry
        });
        let manifests: Vec<serde_json::Value> = versions.chain(referrers).collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        });
        serde_json::to_vec(&index).expect("JSON values serialize")
    }

    /// The archive's members in order: `oci-layout`, `index.json`, the `blobs`
    /// directories, then every manifest and blob by digest.
    pub fn members(&self) -> Vec<(Entry, Member<'_>)> {
        let mut members = vec![
            (
                Entry::file("oci-layout", OCI_LAYOUT.len() as u64),
                Member::OciLayout,
            ),
            (
                Entry::file("index.json", self.index_json().len() as u64),
                Member::Index,
            ),
            (Entry::directory("blobs/"), Member::Directory),
            (Entry::directory("blobs/sha256/"), Member::Directory),
        ];
        for c in &self.contents {
            let hex = c.digest.trim_start_matches("sha256:");
            let entry = Entry::file(format!("blobs/sha256/{hex}"), c.size);
            members.push((entry, Member::Content(c)));
        }
        members
    }

    pub fn layout(&self) -> Layout {
        Layout::new(self.members().into_iter().map(|(e, _)| e).collect())
    }
}
