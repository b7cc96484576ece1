//! The incoming request as the handlers read it: method, URL, headers and body,
//! straight from the runtime's `Request`.
//!
//! Why not `worker::Request`: building one reads `request.cf`, and the runtime
//! builds that object (a JSON parse of the edge's properties) on first read. That
//! was about a tenth of a warm pull's CPU, for properties no handler needs: the
//! download log takes the country and the data center from headers
//! (src/downloads.rs). This type reads each property only when asked.

use worker::{ByteStream, FromRequest, Headers, Method, Url};

pub struct Request(web_sys::Request);

impl FromRequest for Request {
    fn from_raw(
        request: web_sys::Request,
    ) -> std::result::Result<Self, impl Into<Box<dyn std::error::Error>>> {
        Ok::<_, worker::Error>(Request(request))
    }
}

impl Request {
    pub fn inner(&self) -> &web_sys::Request {
        &self.0
    }

    pub fn method(&self) -> Method {
        Method::from(self.0.method())
    }

    pub fn url(&self) -> worker::Result<Url> {
        Ok(Url::parse(&self.0.url())?)
    }

    /// The URL's path, percent-encoded as it arrived. The runtime serializes the
    /// URL (WHATWG), which never has an empty path: the first `/` after the host
    /// starts it, and `?` and `#` within it are always encoded.
    pub fn path(&self) -> String {
        let url = self.0.url();
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let rest = &url[after_scheme..];
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        let end = path.find(['?', '#']).unwrap_or(path.len());
        path[..end].to_owned()
    }

    pub fn headers(&self) -> Headers {
        Headers(self.0.headers())
    }

    pub async fn bytes(&mut self) -> worker::Result<Vec<u8>> {
        let buffer = worker::wasm_bindgen_futures::JsFuture::from(self.0.array_buffer()?).await?;
        Ok(worker::js_sys::Uint8Array::new(&buffer).to_vec())
    }

    pub fn stream(&mut self) -> worker::Result<ByteStream> {
        let body = self
            .0
            .body()
            .ok_or_else(|| worker::Error::RustError("no body for request".into()))?;
        Ok(ByteStream::from(body))
    }
}
