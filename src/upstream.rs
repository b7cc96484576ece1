//! Pull-through (docs/pull-through.md): fetching from an artifact's upstream what
//! a pull the licenses allowed asks for and Tollgate does not hold. A manifest
//! is fetched, checked and stored as if pushed, then answered as a stored one; a
//! blob is stored in parts as it streams, its blocks passed on to the client as
//! they go, and linked only once it hashes to its digest. The rules (URLs, login, what an answer
//! means) are the core's (`tollgate_core::upstream`); this module speaks HTTP.
//! Re-resolving a due tag ([`refresh`]) is shared by the pull and the scheduled
//! sync (src/upstream_sync.rs).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use tollgate_core::cache::read_path::Written;
use tollgate_core::oci::manifest::MAX_MANIFEST_SIZE;
use tollgate_core::storage::store::ManifestRow;
use tollgate_core::upstream::fetch::{
    self, Resolved, HEADERS_TIMEOUT_MS, MANIFEST_ACCEPT, MAX_REDIRECTS,
};
use tollgate_core::upstream::login::{self, Bearer, Challenge};
use tollgate_core::upstream::setting::{AuthKind, Upstream};
use tollgate_core::upstream::store::Upstreams;
use tollgate_core::{Algorithm, Digest, Error, Reference, RepoName, Result, Tag};
use worker::js_sys::BigInt;
use worker::worker_sys::FixedLengthStream;
use worker::{
    web_sys, AbortController, Context, Delay, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response, ResponseBody,
};

use crate::app::{self, App};
use crate::cache;
use crate::error::internal;
use crate::http::{empty, entity_tag, headers};
use crate::manifests;
use crate::r2::RequestBody;
use crate::sealing::SealerOnUse;

/// The most of a token realm's answer Tollgate reads.
const TOKEN_ANSWER_LIMIT: usize = 64 * 1024;

thread_local! {
    /// Bearer tokens per upstream login, kept per isolate until they expire.
    static BEARERS: RefCell<HashMap<String, Bearer>> = RefCell::new(HashMap::new());
}

/// A connection to one artifact's upstream, its secret opened.
pub struct Client {
    upstream: Upstream,
}

/// `repo`'s upstream client, `None` when the artifact has no upstream.
pub async fn client(app: &App, repo: &RepoName) -> Result<Option<Client>> {
    let cipher = SealerOnUse(app.secret("TOLLGATE_UPSTREAM_KEY"));
    let upstream = Upstreams::new(&app.db).open(repo, &cipher).await?;
    Ok(upstream.map(|upstream| Client { upstream }))
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

impl Client {
    /// Whose bearer token this is: the upstream and the whole login (its secret
    /// hashed), so a changed password is not answered by the old one's token.
    fn bearer_key(&self) -> String {
        let login = self.upstream.login.as_ref().map(|l| {
            let secret = Digest::of(Algorithm::Sha256, l.secret.as_bytes());
            format!("{} {secret}", l.username)
        });
        format!(
            "{} {} {}",
            self.upstream.url,
            self.upstream.repository,
            login.unwrap_or_default()
        )
    }

    /// The `Authorization` to send first: Basic, or a bearer token still fresh.
    fn authorization(&self) -> Option<String> {
        if self.upstream.auth == AuthKind::Basic {
            return self.upstream.login.as_ref().map(login::basic);
        }
        let now = app::now_ms();
        BEARERS.with_borrow(|b| {
            b.get(&self.bearer_key())
                .filter(|bearer| bearer.fresh(now))
                .map(Bearer::authorization)
        })
    }

    /// Exchanges the login (if any) at the challenge's realm for a bearer token.
    async fn bearer(&self, challenge: &Challenge) -> Result<String> {
        let url = challenge.token_url(&self.upstream.repository);
        let basic = self.upstream.login.as_ref().map(login::basic);
        let mut answer = timed(&url, Method::Get, basic.as_deref(), None).await?;
        fetch::outcome(
            answer.status_code(),
            Error::Upstream("its token realm answered 404".into()),
        )?;
        let body = capped(&mut answer, TOKEN_ANSWER_LIMIT, "token answer").await?;
        let bearer = Bearer::from_answer(&body, app::now_ms())?;
        let authorization = bearer.authorization();
        BEARERS.with_borrow_mut(|b| b.insert(self.bearer_key(), bearer));
        Ok(authorization)
    }

    /// `method` of the manifest `reference` upstream.
    async fn manifest(&self, method: Method, reference: &Reference) -> Result<Response> {
        let url = fetch::manifest_url(&self.upstream, reference);
        self.send(method, &url, Some(MANIFEST_ACCEPT)).await
    }

    /// Sends `method` to `url` on the upstream, logging in when challenged. A
    /// manifest request (one that `accept`s manifest types) follows no redirect;
    /// a blob request follows up to [`MAX_REDIRECTS`] (to the upstream's
    /// storage), sending the credentials only to the upstream itself.
    async fn send(&self, method: Method, url: &str, accept: Option<&str>) -> Result<Response> {
        let follow = accept.is_none();
        let mut authorization = self.authorization();
        let mut response = timed(url, method.clone(), authorization.as_deref(), accept).await?;
        if response.status_code() == 401 {
            let challenge = header(&response, "WWW-Authenticate").unwrap_or_default();
            if let Some(challenge) = Challenge::parse(&challenge)? {
                authorization = Some(self.bearer(&challenge).await?);
                response = timed(url, method.clone(), authorization.as_deref(), accept).await?;
            }
        }
        let mut at = url.to_owned();
        for _ in 0..MAX_REDIRECTS {
            let location = header(&response, "Location");
            let (true, 300..=399, Some(location)) = (follow, response.status_code(), location)
            else {
                break;
            };
            at = worker::Url::parse(&at)
                .and_then(|base| base.join(&location))
                .map_err(|e| Error::Upstream(format!("a bad redirect ({e})")))?
                .to_string();
            let carried = authorization
                .as_deref()
                .filter(|_| fetch::carries_credentials(&self.upstream, &at));
            response = timed(&at, method.clone(), carried, None).await?;
        }
        Ok(response)
    }
}

/// One request to the upstream, failing when its headers do not arrive within
/// [`HEADERS_TIMEOUT_MS`]. Redirects are never followed by the runtime, so no
/// credential goes anywhere but where [`Client::send`] decides.
async fn timed(
    url: &str,
    method: Method,
    authorization: Option<&str>,
    accept: Option<&str>,
) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in [("Authorization", authorization), ("Accept", accept)] {
        if let Some(value) = value {
            headers.set(name, value).map_err(internal)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(internal)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sent = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Delay::from(Duration::from_millis(HEADERS_TIMEOUT_MS.into()));
    let answered = match select(sent, timeout).await {
        Either::Left((answer, _)) => Some(answer),
        Either::Right(_) => None,
    };
    match answered {
        Some(Ok(response)) => Ok(response),
        Some(Err(e)) => Err(fetch::unreachable(&e.to_string())),
        None => {
            controller.abort();
            Err(fetch::unreachable("no answer within the timeout"))
        }
    }
}

/// The body of an upstream answer, refused (as the upstream's failure) once it
/// passes `limit` bytes: a hostile upstream cannot make Tollgate hold more.
async fn capped(response: &mut Response, limit: usize, what: &str) -> Result<Vec<u8>> {
    let too_large = || Error::Upstream(format!("its {what} is over {limit} bytes"));
    let declared = header(response, "Content-Length").and_then(|n| n.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut stream = response.stream().map_err(internal)?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| fetch::unreachable(&e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The manifest `reference` of `repo` fetched from its upstream and stored as if
/// pushed; `None` when the artifact has no upstream or the upstream has no such
/// manifest. Call only after the license check allowed the read.
pub async fn manifest(
    app: &App,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<ManifestRow>> {
    match client(app, repo).await? {
        Some(client) => fetch_manifest(app, &client, repo, reference).await,
        None => Ok(None),
    }
}

async fn fetch_manifest(
    app: &App,
    client: &Client,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<ManifestRow>> {
    let mut response = client.manifest(Method::Get, reference).await?;
    match fetch::outcome(response.status_code(), Error::ManifestUnknown) {
        Err(Error::ManifestUnknown) => return Ok(None),
        other => other?,
    }
    let body = capped(&mut response, MAX_MANIFEST_SIZE, "manifest").await?;
    let content_type = header(&response, "Content-Type");
    let fetched = manifests::validate(body, content_type.as_deref(), reference)
        .map_err(|e| Error::Upstream(format!("its manifest is refused: {e}")))?;
    let announced = header(&response, "Docker-Content-Digest");
    fetch::check_manifest(reference, fetched.digest(), announced.as_deref())?;
    let refresh_at = fetch::next_refresh(&client.upstream, app.now);
    let row = manifests::keep_fetched(app, repo, &fetched, refresh_at).await?;
    cache::written(&Written::Repository(repo.clone()));
    Ok(Some(row))
}

/// `row`, what the tag `reference` of `repo` names here, re-resolved upstream
/// ([`refresh`]) when it was fetched and its refresh interval has passed.
pub async fn fresh(
    app: &App,
    repo: &RepoName,
    reference: &Reference,
    row: ManifestRow,
) -> Result<ManifestRow> {
    let Reference::Tag(tag) = reference else {
        return Ok(row);
    };
    if !fetch::due(row.refresh_at, app.now) {
        return Ok(row);
    }
    let Some(client) = client(app, repo).await? else {
        return Ok(row);
    };
    let digest: Digest = row
        .digest
        .parse()
        .map_err(|_| Error::Internal(format!("stored digest {}", row.digest)))?;
    match refresh(app, &client, repo, tag, &digest).await? {
        Resolved::Moved(moved) => Ok(moved),
        Resolved::Unchanged | Resolved::Kept(_) => Ok(ManifestRow {
            refresh_at: Some(fetch::next_refresh(&client.upstream, app.now)),
            ..row
        }),
    }
}

/// Re-resolves upstream the due fetched tag `tag` of `repo`, which names
/// `digest` here: a `HEAD` there, and a fetch only when the tag moved. When the
/// upstream fails (or the tag would move under the immutable-tag rule) the
/// tag stays (stale-if-error), the failure is recorded on the upstream setting,
/// and the tag is not tried again before another interval. The pull
/// ([`fresh`]) and the scheduled sync (src/upstream_sync.rs) both come here.
pub async fn refresh(
    app: &App,
    client: &Client,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<Resolved> {
    let reference = Reference::Tag(tag.clone());
    let resolved = Resolved::of(resolve(app, client, repo, &reference, digest).await)?;
    if let Resolved::Kept(why) = &resolved {
        Upstreams::new(&app.db)
            .record_failure(repo, &why.to_string(), app.now)
            .await?;
    }
    if !matches!(resolved, Resolved::Moved(_)) {
        let next = fetch::next_refresh(&client.upstream, app.now);
        app.store().tag_resolved(repo, tag, digest, next).await?;
        cache::written(&Written::Repository(repo.clone()));
    }
    Ok(resolved)
}

/// Asks the upstream where the tag `reference` points: `None` when still at
/// `digest`, else the manifest it moved to, fetched and stored.
async fn resolve(
    app: &App,
    client: &Client,
    repo: &RepoName,
    reference: &Reference,
    digest: &Digest,
) -> Result<Option<ManifestRow>> {
    let head = client.manifest(Method::Head, reference).await?;
    let gone = || Error::Upstream(format!("tag {reference} is gone from it"));
    fetch::outcome(head.status_code(), gone())?;
    if header(&head, "Docker-Content-Digest").as_deref() == Some(digest.as_str()) {
        return Ok(None);
    }
    let moved = fetch_manifest(app, client, repo, reference).await?;
    match moved {
        Some(row) if row.digest == digest.as_str() => Ok(None),
        Some(row) => Ok(Some(row)),
        None => Err(gone()),
    }
}

/// `GET`/`HEAD` of the blob `digest` of `repo` from its upstream: the body
/// streams to the client and, for a `GET`, into R2 at the same time. Call only
/// after the license check allowed the read; `BLOB_UNKNOWN` when the artifact
/// has no upstream or the upstream has no such blob.
pub async fn blob(
    app: &App,
    ctx: &Context,
    repo: &RepoName,
    digest: &Digest,
    with_body: bool,
) -> Result<Response> {
    let client = client(app, repo).await?.ok_or(Error::BlobUnknown)?;
    let url = fetch::blob_url(&client.upstream, digest);
    let method = if with_body { Method::Get } else { Method::Head };
    let response = client.send(method, &url, None).await?;
    fetch::outcome(response.status_code(), Error::BlobUnknown)?;
    let size = header(&response, "Content-Length")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| Error::Upstream("its blob has no Content-Length".into()))?;
    let (length, etag) = (size.to_string(), entity_tag(digest.as_str()));
    let pairs = [
        ("Content-Type", "application/octet-stream"),
        ("Docker-Content-Digest", digest.as_str()),
        ("Content-Length", length.as_str()),
        ("ETag", etag.as_str()),
    ];
    if !with_body {
        return empty(200, &pairs);
    }
    let ResponseBody::Stream(body) = response.body() else {
        return Err(Error::Upstream("its blob has no body".into()));
    };
    let (to_client, for_client) = mpsc::channel(CLIENT_BLOCKS);
    let env = app.env.clone();
    let (repo, digest_owned) = (repo.clone(), digest.clone());
    let body = RequestBody::new(Some(body.clone())).expect("a stream");
    ctx.wait_until(async move {
        store_blob(&env, &repo, &digest_owned, size, body, to_client).await;
    });
    let response = Response::from_body(ResponseBody::Stream(sized(for_client, size)?));
    Ok(response.map_err(internal)?.with_headers(headers(&pairs)))
}

/// Blocks of a fetched blob the client may lag behind the store by.
const CLIENT_BLOCKS: usize = 2;

/// The client's copy of a fetched blob as a response body of `size` bytes: a
/// stream that ends short or long errors instead of looking whole.
fn sized(
    blocks: mpsc::Receiver<worker::Result<Vec<u8>>>,
    size: u64,
) -> Result<web_sys::ReadableStream> {
    let ResponseBody::Stream(stream) = Response::from_stream(blocks)
        .map_err(internal)?
        .body()
        .clone()
    else {
        return Err(Error::Internal("a streamed response has no stream".into()));
    };
    let fixed = FixedLengthStream::new_big_int(BigInt::from(size))
        .map_err(|e| Error::Internal(format!("{e:?}")))?;
    let _ = stream.pipe_to(&fixed.writable());
    Ok(fixed.readable())
}

/// Stores a fetched blob (the core's `put_fetched`: in parts, verified, then
/// linked) while its blocks go on to the client. When storing fails part way,
/// the client's copy is broken off rather than left short; a blob whose bytes
/// do not match reaches the client whole, and the client's own digest check
/// refuses it.
async fn store_blob(
    env: &worker::Env,
    repo: &RepoName,
    digest: &Digest,
    size: u64,
    body: RequestBody,
    mut to_client: mpsc::Sender<worker::Result<Vec<u8>>>,
) {
    let stored = match App::new(env) {
        Ok(app) => {
            let body = body.copied_to(to_client.clone());
            app.uploads().put_fetched(repo, digest, size, body).await
        }
        Err(e) => Err(e),
    };
    cache::written(&Written::Repository(repo.clone()));
    let Err(e) = stored else { return };
    worker::console_error!("storing {digest} fetched for {repo}: {e}");
    if !matches!(e, Error::DigestInvalid(_)) {
        let _ = to_client
            .send(Err(worker::Error::RustError(e.to_string())))
            .await;
    }
}
