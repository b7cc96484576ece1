//! Reading a byte stream (a request body, an R2 object) into wasm in large blocks. The
//! runtime hands a plain reader a request body in the pieces the socket delivered
//! (4 KiB under `wrangler dev`), and every piece crossing into wasm costs a promise, a
//! wrapper and a copy: for a 16 MiB chunk that was 4,096 round trips and most of the
//! upload's CPU time. A BYOB reader with workerd's `readAtLeast` fills one reused
//! buffer per round trip instead.

use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use worker::js_sys::{ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStream;

/// Bytes asked of the runtime per round trip. Hashing one block holds the isolate
/// for a few milliseconds, short enough for other requests not to notice.
pub const BLOCK_SIZE: u32 = 1 << 20;

#[wasm_bindgen]
extern "C" {
    /// The stream, seen through the reader methods this module needs.
    #[wasm_bindgen(extends = Object)]
    type Readable;

    #[wasm_bindgen(extends = Object)]
    type ByobReader;

    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn byob_reader(this: &Readable, options: &Object) -> Result<ByobReader, JsValue>;

    /// workerd's extension of the BYOB reader: resolves once `min` bytes are in
    /// `view`, or fewer at the end of the stream.
    #[wasm_bindgen(method, catch, js_name = readAtLeast)]
    fn read_at_least(this: &ByobReader, min: u32, view: &Uint8Array) -> Result<Promise, JsValue>;
}

/// A byte stream read block by block.
pub struct BlockReader {
    reader: ByobReader,
    /// The buffer each read fills; a read transfers it, so it is taken back from the
    /// read's result every time.
    buffer: ArrayBuffer,
}

impl BlockReader {
    pub fn new(stream: &ReadableStream) -> worker::Result<Self> {
        let options = Object::new();
        Reflect::set(&options, &"mode".into(), &"byob".into())?;
        Ok(Self {
            reader: stream.unchecked_ref::<Readable>().byob_reader(&options)?,
            buffer: ArrayBuffer::new(BLOCK_SIZE),
        })
    }

    /// The next block, at most `BLOCK_SIZE` bytes; `None` at the end of the stream.
    pub async fn next(&mut self) -> worker::Result<Option<Vec<u8>>> {
        let view = Uint8Array::new(&self.buffer);
        let result = JsFuture::from(self.reader.read_at_least(BLOCK_SIZE, &view)?).await?;
        // At the end of the stream the value is empty, or absent.
        let value = Reflect::get(&result, &"value".into())?;
        let Some(value) = value.dyn_ref::<Uint8Array>() else {
            return Ok(None);
        };
        self.buffer = value.buffer();
        Ok((value.length() > 0).then(|| value.to_vec()))
    }
}
