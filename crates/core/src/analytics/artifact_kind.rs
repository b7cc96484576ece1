//! What kind of thing an artifact or manifest is, as vendors name them — told from
//! the manifest's media type and its artifact type (`artifactType`, or the config's
//! media type when there is none, as the referrers API reports it).

use serde::Serialize;

use crate::oci::manifest::{DOCKER_LIST, OCI_INDEX};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
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
const MARKERS: [(&str, ArtifactKind); 10] = [
    ("helm", ArtifactKind::HelmChart),
    ("terraform", ArtifactKind::TerraformModule),
    ("opentofu", ArtifactKind::TerraformModule),
    ("spdx", ArtifactKind::Sbom),
    ("cyclonedx", ArtifactKind::Sbom),
    ("syft", ArtifactKind::Sbom),
    ("sbom", ArtifactKind::Sbom),
    ("signature", ArtifactKind::Signature),
    ("cosign", ArtifactKind::Signature),
    ("notary", ArtifactKind::Signature),
];

/// The kind of a manifest of `media_type` with `artifact_type`.
pub fn of(media_type: &str, artifact_type: Option<&str>) -> ArtifactKind {
    let artifact_type = artifact_type.unwrap_or_default().to_ascii_lowercase();
    if let Some((_, kind)) = MARKERS.iter().find(|(w, _)| artifact_type.contains(w)) {
        return *kind;
    }
    let index = media_type == OCI_INDEX || media_type == DOCKER_LIST;
    if index || artifact_type.is_empty() || IMAGE_CONFIGS.contains(&artifact_type.as_str()) {
        ArtifactKind::ContainerImage
    } else {
        ArtifactKind::Artifact
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::OCI_MANIFEST;

    #[test]
    fn kinds_from_media_and_artifact_types() {
        let table = [
            (
                OCI_MANIFEST,
                Some(IMAGE_CONFIGS[0]),
                ArtifactKind::ContainerImage,
            ),
            (OCI_INDEX, None, ArtifactKind::ContainerImage),
            (DOCKER_LIST, None, ArtifactKind::ContainerImage),
            (
                OCI_MANIFEST,
                Some("application/vnd.cncf.helm.config.v1+json"),
                ArtifactKind::HelmChart,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.opentofu.modulepkg"),
                ArtifactKind::TerraformModule,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.terraform.module.v1+tar"),
                ArtifactKind::TerraformModule,
            ),
            (
                OCI_MANIFEST,
                Some("application/spdx+json"),
                ArtifactKind::Sbom,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.cyclonedx+json"),
                ArtifactKind::Sbom,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.dev.cosign.artifact.sig.v1+json"),
                ArtifactKind::Signature,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.cncf.notary.signature"),
                ArtifactKind::Signature,
            ),
            (
                OCI_MANIFEST,
                Some("application/vnd.example.thing"),
                ArtifactKind::Artifact,
            ),
            (OCI_INDEX, Some("application/spdx+json"), ArtifactKind::Sbom),
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
