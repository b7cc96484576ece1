//! What kind of thing an artifact or manifest is, as vendors name them — told from
//! the manifest's media type and its artifact type (`artifactType`, or the config's
//! media type when there is none, as the referrers API reports it).

use serde::Serialize;

use crate::oci::manifest::{DOCKER_LIST, OCI_INDEX};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ContainerImage,
    HelmChart,
    TerraformModule,
    Sbom,
    Signature,
    Artifact,
}

/// Artifact types of plain container images: their config media types.
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Words in an artifact type and the kind they mark, first match wins.
const MARKERS: [(&str, Kind); 10] = [
    ("helm", Kind::HelmChart),
    ("terraform", Kind::TerraformModule),
    ("opentofu", Kind::TerraformModule),
    ("spdx", Kind::Sbom),
    ("cyclonedx", Kind::Sbom),
    ("syft", Kind::Sbom),
    ("sbom", Kind::Sbom),
    ("signature", Kind::Signature),
    ("cosign", Kind::Signature),
    ("notary", Kind::Signature),
];

/// The kind of a manifest of `media_type` with `artifact_type`.
pub fn of(media_type: &str, artifact_type: Option<&str>) -> Kind {
    let artifact_type = artifact_type.unwrap_or_default().to_ascii_lowercase();
    if let Some((_, kind)) = MARKERS.iter().find(|(w, _)| artifact_type.contains(w)) {
        return *kind;
    }
    let index = media_type == OCI_INDEX || media_type == DOCKER_LIST;
    if index || artifact_type.is_empty() || IMAGE_CONFIGS.contains(&artifact_type.as_str()) {
        Kind::ContainerImage
    } else {
        Kind::Artifact
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::OCI_MANIFEST;

    #[test]
    fn kinds_from_media_and_artifact_types() {
        let table = [
            (OCI_MANIFEST, Some(IMAGE_CONFIGS[0]), Kind::ContainerImage),
            (OCI_INDEX, None, Kind::ContainerImage),
            (DOCKER_LIST, None, Kind::ContainerImage),
            (
                OCI_MANIFEST,
                Some("application/vnd.cncf.helm.config.v1+json"),
                Kind::HelmChart,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.opentofu.modulepkg"),
                Kind::TerraformModule,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.terraform.module.v1+tar"),
                Kind::TerraformModule,
            ),
            (OCI_MANIFEST, Some("application/spdx+json"), Kind::Sbom),
            (
                OCI_MANIFEST,
                Some("application/vnd.cyclonedx+json"),
                Kind::Sbom,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.dev.cosign.artifact.sig.v1+json"),
                Kind::Signature,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.cncf.notary.signature"),
                Kind::Signature,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.example.thing"),
                Kind::Artifact,
            ),
            (OCI_INDEX, Some("application/spdx+json"), Kind::Sbom),
        ];
        for (media_type, artifact_type, kind) in table {
            assert_eq!(
                of(media_type, artifact_type),
                kind,
                "{media_type} {artifact_type:?}"
            );
        }
    }
}
