//! Manifest and index parsing: which media types we accept, what a manifest must
//! contain, and what it references (blobs, child manifests, subject) so the store can
//! check and record those references. The bytes themselves are kept as pushed.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::oci::digest::Digest;

/// Largest `annotations` object recorded for the referrers API.
pub const MAX_INDEXED_ANNOTATIONS: usize = 64 * 1024;

/// Largest manifest body accepted, as the spec suggests registries allow at least.
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ManifestKind {
    Image,
    Index,
}

fn kind_of(media_type: &str) -> Option<ManifestKind> {
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => Some(ManifestKind::Image),
        OCI_INDEX | DOCKER_LIST => Some(ManifestKind::Index),
        _ => None,
    }
}

/// What a validated manifest says about itself and what it points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub media_type: String,
    /// `artifactType`, or for an image manifest without one its config's media type,
    /// which is what the referrers API reports.
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    /// Config and layers that must be present in the repository.
    pub blobs: Vec<Digest>,
    /// Manifests an index lists, which must be present in the repository.
    pub children: Vec<Digest>,
    /// The `annotations` object as JSON text, for referrer descriptors; dropped when
    /// larger than [`MAX_INDEXED_ANNOTATIONS`], as a database row could not hold it.
    pub annotations: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    /// Parsed so that a descriptor without a valid size is refused.
    #[allow(dead_code)]
    size: u64,
    #[serde(default)]
    urls: Vec<String>,
}

impl Descriptor {
    fn digest(&self) -> Result<Digest> {
        self.digest.parse().map_err(|_| {
            Error::ManifestInvalid(format!("invalid digest {:?} in descriptor", self.digest))
        })
    }

    /// Foreign layers live elsewhere (their `urls`) and are not expected here.
    fn is_foreign(&self) -> bool {
        !self.urls.is_empty()
            && (self.media_type.contains("foreign") || self.media_type.contains("nondistributable"))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<Map<String, Value>>,
}

/// Validates a pushed manifest. `content_type` is the request's `Content-Type`;
/// when the body names a `mediaType` too, the two must agree.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest> {
    if body.len() > MAX_MANIFEST_SIZE {
        return Err(Error::ManifestTooLarge(MAX_MANIFEST_SIZE));
    }
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| Error::ManifestInvalid(format!("manifest is not valid JSON: {e}")))?;
    let media_type = media_type(raw.media_type.as_deref(), content_type)?;
    let kind = kind_of(&media_type).ok_or_else(|| {
        Error::ManifestInvalid(format!("unsupported manifest media type {media_type:?}"))
    })?;
    if raw.schema_version != Some(2) {
        return Err(Error::ManifestInvalid("schemaVersion must be 2".into()));
    }
    let subject = raw.subject.as_ref().map(Descriptor::digest).transpose()?;
    let annotations = raw
        .annotations
        .map(|a| Value::Object(a).to_string())
        .filter(|a| a.len() <= MAX_INDEXED_ANNOTATIONS);
    match kind {
        ManifestKind::Image => {
            let config = raw
                .config
                .ok_or_else(|| Error::ManifestInvalid("image manifest without config".into()))?;
            let layers = raw
                .layers
                .ok_or_else(|| Error::ManifestInvalid("image manifest without layers".into()))?;
            let mut blobs = vec![config.digest()?];
            for layer in layers.iter().filter(|l| !l.is_foreign()) {
                blobs.push(layer.digest()?);
            }
            let artifact_type = raw.artifact_type.or(Some(config.media_type));
            Ok(Manifest {
                media_type,
                artifact_type,
                subject,
                blobs,
                children: vec![],
                annotations,
            })
        }
        ManifestKind::Index => {
            let manifests = raw
                .manifests
                .ok_or_else(|| Error::ManifestInvalid("index without manifests".into()))?;
            let children = manifests
                .iter()
                .map(Descriptor::digest)
                .collect::<Result<_>>()?;
            Ok(Manifest {
                media_type,
                artifact_type: raw.artifact_type,
                subject,
                blobs: vec![],
                children,
                annotations,
            })
        }
    }
}

/// The manifest's media type from its body and the request header. A generic JSON
/// header says nothing, so only a specific one is compared.
fn media_type(in_body: Option<&str>, header: Option<&str>) -> Result<String> {
    let header = header
        .map(|h| h.split(';').next().unwrap_or("").trim())
        .filter(|h| !h.is_empty() && *h != "application/json");
    match (in_body, header) {
        (Some(b), Some(h)) if b != h => Err(Error::ManifestInvalid(format!(
            "mediaType {b:?} does not match Content-Type {h:?}"
        ))),
        (Some(m), _) | (None, Some(m)) => Ok(m.to_owned()),
        (None, None) => Err(Error::ManifestInvalid("manifest media type unknown".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
            "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":3}}]{extra}}}"#,
            d(1),
            d(2)
        )
    }

    #[test]
    fn image_manifest_lists_its_blobs() {
        let m = parse(image("").as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(m.blobs, vec![d(1).parse().unwrap(), d(2).parse().unwrap()]);
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert!(m.children.is_empty() && m.subject.is_none());
    }

    #[test]
    fn artifact_type_and_subject_are_recorded() {
        let extra = format!(
            r#","artifactType":"application/spdx+json","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":9}},"annotations":{{"a":"b"}}"#,
            d(3)
        );
        let m = parse(image(&extra).as_bytes(), None).unwrap();
        assert_eq!(m.artifact_type.as_deref(), Some("application/spdx+json"));
        assert_eq!(m.subject, Some(d(3).parse().unwrap()));
        assert_eq!(m.annotations.as_deref(), Some(r#"{"a":"b"}"#));
    }

    #[test]
    fn index_lists_its_children() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{}","size":5}}]}}"#,
            d(4)
        );
        let m = parse(body.as_bytes(), Some(DOCKER_LIST)).unwrap();
        assert_eq!(m.media_type, DOCKER_LIST);
        assert_eq!(m.children, vec![d(4).parse().unwrap()]);
    }

    #[test]
    fn foreign_layers_need_not_be_present() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"x","digest":"{}","size":1}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{}","size":1,"urls":["https://example.com/l"]}}]}}"#,
            d(1),
            d(2)
        );
        assert_eq!(
            parse(body.as_bytes(), None).unwrap().blobs,
            vec![d(1).parse().unwrap()]
        );
    }

    #[test]
    fn rejects_invalid_manifests() {
        let cases: Vec<(String, Option<&str>)> = vec![
            ("{".into(), Some(OCI_MANIFEST)),
            ("[]".into(), Some(OCI_MANIFEST)),
            (image(""), Some(OCI_INDEX)),
            (image("").replace(OCI_MANIFEST, "text/plain"), None),
            (
                image("").replace("\"schemaVersion\":2", "\"schemaVersion\":1"),
                None,
            ),
            (image("").replace(&d(2), "sha256:short"), None),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}"}}"#),
                None,
            ),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#),
                None,
            ),
            (r#"{"schemaVersion":2}"#.into(), None),
        ];
        for (body, ct) in cases {
            assert!(
                matches!(parse(body.as_bytes(), ct), Err(Error::ManifestInvalid(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn huge_annotations_are_not_indexed() {
        let big = format!(
            r#","annotations":{{"a":"{}"}}"#,
            "x".repeat(MAX_INDEXED_ANNOTATIONS)
        );
        let m = parse(image(&big).as_bytes(), None).unwrap();
        assert_eq!(m.annotations, None);
    }

    #[test]
    fn rejects_oversized_manifests() {
        let body = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert_eq!(
            parse(&body, None),
            Err(Error::ManifestTooLarge(MAX_MANIFEST_SIZE))
        );
    }
}
