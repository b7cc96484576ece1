//! An artifact's upstream registry (`/api/v1/artifacts/{name}/upstream`,
//! docs/pull-through.md): set, shown without its secret, removed — admins only.
//! The rules are the core's (`tollgate_core::upstream`); the secret is sealed
//! here with the `TOLLGATE_UPSTREAM_KEY` secret.

use tollgate_core::auth::policy::Action;
use tollgate_core::upstream::setting::{Upstream, UpstreamRequest};
use tollgate_core::upstream::store::Upstreams;
use tollgate_core::{Error, RepoName, Result};
use worker::Response;

use super::{found, json, no_content, read_json, require};
use crate::app::App;
use crate::request::Request;
use crate::sealing::Sealer;

/// `PUT`: validates the setting, seals its secret and stores it, creating the
/// artifact if it does not exist.
pub async fn set(req: Request, app: &App, name: &RepoName) -> Result<Response> {
    require(app, Action::ConfigureUpstream)?;
    let upstream = Upstream::try_from(read_json::<UpstreamRequest>(req).await?)?;
    let sealer = Sealer::new(&app.secret("TOLLGATE_UPSTREAM_KEY")).await?;
    let view = Upstreams::new(&app.db)
        .set(name, &upstream, &sealer, app.now)
        .await?;
    json(200, &view)
}

pub async fn show(app: &App, name: &RepoName) -> Result<Response> {
    require(app, Action::ConfigureUpstream)?;
    found(Upstreams::new(&app.db).view(name).await?, "upstream")
}

pub async fn remove(app: &App, name: &RepoName) -> Result<Response> {
    require(app, Action::ConfigureUpstream)?;
    if !Upstreams::new(&app.db).remove(name).await? {
        return Err(Error::NotFound("upstream"));
    }
    no_content()
}
