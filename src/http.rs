//! Small helpers for building responses and reading request headers and queries.

use serde::Serialize;
use tollgate_core::oci::route;
use tollgate_core::{Error, Result};
use worker::{Headers, Method, Request, Response};

/// Every registry response names the API version, as Docker clients expect.
pub fn with_api_version(mut response: Response) -> Response {
    let _ = response
        .headers_mut()
        .set("Docker-Distribution-API-Version", "registry/2.0");
    response
}

pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    let headers = Headers::new();
    for (name, value) in pairs {
        headers
            .set(name, value)
            .expect("header names here are static and valid");
    }
    headers
}

/// A bodiless response.
pub fn empty(status: u16, pairs: &[(&str, &str)]) -> Result<Response> {
    Ok(Response::empty()
        .expect("empty body")
        .with_status(status)
        .with_headers(headers(pairs)))
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    let body = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
    let response = Response::from_bytes(body).expect("byte body");
    Ok(response
        .with_status(status)
        .with_headers(headers(&[("Content-Type", "application/json")])))
}

/// The request's method as the core's `/v2/` rules tell methods apart.
pub fn method(method: &Method) -> route::Method {
    match method {
        Method::Get => route::Method::Get,
        Method::Head => route::Method::Head,
        Method::Post => route::Method::Post,
        Method::Put => route::Method::Put,
        Method::Patch => route::Method::Patch,
        Method::Delete => route::Method::Delete,
        _ => route::Method::Other,
    }
}

/// The `Range` of an upload that holds `offset` bytes: the inclusive range received.
pub fn received(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// `Content-Length` when the client sent a valid one.
pub fn content_length(req: &Request) -> Option<u64> {
    header(req, "Content-Length").and_then(|v| v.trim().parse().ok())
}

/// The first value of query parameter `name`.
pub fn query(req: &Request, name: &str) -> Option<String> {
    let url = req.url().ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    header(req, "Cookie")?.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}
