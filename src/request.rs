//! The incoming request as the handlers read it: method, URL, headers and body,
//! straight from the runtime's `Request`.
//!
//! Why not `worker::Request`: building one reads `request.cf`, and the runtime
//! builds that object (a JSON parse of the edge's properties) on first read. That
//! was about a tenth of a warm pull's CPU, for properties no handler needs: the
//! download log takes the country and the data center from headers
//! (src/downloads.rs). This type reads each property only when asked.

use std::cell::OnceCell;

use worker::{ByteStream, Headers, Method, Url};

use crate::http;

pub struct Request {
    inner: web_sys::Request,
    /// Read once, as every request needs them: each read of a property of the
    /// runtime's request is a call into it, and a pull reads the headers several
    /// times.
    method: Method,
    path: String,
    headers: Headers,
    client: OnceCell<ClientHeaders>,
}

/// The request headers a pull reads, about its client: its credentials, and what
/// its download event records.
pub struct ClientHeaders {
    pub authorization: Option<String>,
    /// `CF-Connecting-IP`: the client's address, per Cloudflare's edge.
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// `CF-IPCountry`, as the edge sent it.
    pub country: Option<String>,
    /// `CF-Ray`, as the edge sent it.
    pub ray: Option<String>,
}

impl Request {
    /// The runtime's request `inner`.
    pub fn new(inner: web_sys::Request) -> Request {
        Request {
            method: Method::from(inner.method()),
            path: path_of(&inner.url()),
            headers: Headers(inner.headers()),
            client: OnceCell::new(),
            inner,
        }
    }

    pub fn inner(&self) -> &web_sys::Request {
        &self.inner
    }

    pub fn method(&self) -> Method {
        self.method.clone()
    }

    pub fn url(&self) -> worker::Result<Url> {
        Ok(Url::parse(&self.inner.url())?)
    }

    /// The URL's path, percent-encoded as it arrived.
    pub fn path(&self) -> String {
        self.path.clone()
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The client's headers, read in one call into the runtime the first time
    /// they are asked for: a pull reads them for its credentials and again for
    /// its download event.
    pub fn client(&self) -> &ClientHeaders {
        self.client.get_or_init(|| {
            let [authorization, address, user_agent, country, ray] = http::header_list(
                self,
                [
                    "Authorization",
                    "CF-Connecting-IP",
                    "User-Agent",
                    "CF-IPCountry",
                    "CF-Ray",
                ],
            );
            ClientHeaders {
                authorization,
                address,
                user_agent,
                country,
                ray,
            }
        })
    }

    pub async fn bytes(&mut self) -> worker::Result<Vec<u8>> {
        let buffer =
            worker::wasm_bindgen_futures::JsFuture::from(self.inner.array_buffer()?).await?;
        Ok(worker::js_sys::Uint8Array::new(&buffer).to_vec())
    }

    pub fn stream(&mut self) -> worker::Result<ByteStream> {
        let body = self
            .inner
            .body()
            .ok_or_else(|| worker::Error::RustError("no body for request".into()))?;
        Ok(ByteStream::from(body))
    }
}

/// The path of `url`, as the runtime serializes it (WHATWG), which never has an
/// empty path: the first `/` after the host starts it, and `?` and `#` within it
/// are always encoded.
fn path_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn the_path_ends_before_the_query_and_keeps_its_escapes() {
        assert_eq!(
            path_of("http://h:8787/v2/a%2Fb/tags/list?n=1"),
            "/v2/a%2Fb/tags/list"
        );
        assert_eq!(path_of("https://h/api/v1/x#frag"), "/api/v1/x");
        assert_eq!(path_of("https://h"), "/");
    }
}
