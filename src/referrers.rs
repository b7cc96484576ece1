//! `/v2/<name>/referrers/<digest>`: the manifests whose `subject` is a digest, as an
//! OCI image index, optionally filtered by `artifactType`. A customer sees the
//! referrers of a manifest it may read, whether or not its licenses are over a
//! usage cap (a listing is no pull); of any other, an empty index, as for a digest
//! nothing refers to.

use crate::request::Request;
use serde_json::{json, Value};
use tollgate_core::licensing::license::Access;
use tollgate_core::licensing::license_store::Target;
use tollgate_core::oci::manifest::OCI_INDEX;
use tollgate_core::{Digest, Reference, RepoName, Result};

use crate::app::App;
use crate::http::{headers, json, query};

pub async fn list(
    req: &Request,
    app: &App,
    name: &RepoName,
    digest: &Digest,
) -> Result<worker::Response> {
    let filter = query(req, "artifactType").filter(|t| !t.is_empty());
    let subject = Reference::Digest(digest.clone());
    let access = app.access(name, Target::Manifest(&subject), None).await?;
    let rows = if access != Access::Refused {
        app.store()
            .referrers(name, digest, filter.as_deref())
            .await?
    } else {
        Vec::new()
    };
    let manifests: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let mut descriptor =
                json!({ "mediaType": r.media_type, "digest": r.digest, "size": r.size });
            if let Some(t) = r.artifact_type {
                descriptor["artifactType"] = t.into();
            }
            if let Some(a) = r
                .annotations
                .and_then(|a| serde_json::from_str::<Value>(&a).ok())
            {
                descriptor["annotations"] = a;
            }
            descriptor
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let response = json(200, &index)?;
    let mut pairs = vec![("Content-Type", OCI_INDEX)];
    if filter.is_some() {
        pairs.push(("OCI-Filters-Applied", "artifactType"));
    }
    Ok(response.with_headers(headers(&pairs)))
}
