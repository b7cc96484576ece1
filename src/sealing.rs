//! The core's [`Cipher`] over WebCrypto: AES-256-GCM under the
//! `TOLLGATE_UPSTREAM_KEY` secret (64 hex digits), a fresh random 96-bit IV per
//! seal stored in front of the ciphertext, the context as associated data. The
//! key is imported once per isolate and never extractable.

use std::cell::RefCell;

use tollgate_core::upstream::setting::Cipher;
use tollgate_core::{Error, Result};
use wasm_bindgen::JsCast;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto, WorkerGlobalScope};
use worker::js_sys::{Array, ArrayBuffer, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;

use crate::app::random;

const IV_LEN: usize = 12;

/// AES-GCM with the key from the secret.
pub struct Sealer {
    key: CryptoKey,
}

fn subtle() -> Result<SubtleCrypto> {
    let scope: WorkerGlobalScope = worker::js_sys::global().unchecked_into();
    let crypto = scope.crypto().map_err(js)?;
    Ok(crypto.subtle())
}

fn js(e: wasm_bindgen::JsValue) -> Error {
    Error::Internal(format!("WebCrypto: {e:?}"))
}

fn no_key() -> Error {
    Error::Internal("TOLLGATE_UPSTREAM_KEY is not set to 64 hex digits".into())
}

impl Sealer {
    /// The sealer for `key_hex`, imported once per isolate for a given key.
    pub async fn new(key_hex: &str) -> Result<Sealer> {
        thread_local! {
            static CACHE: RefCell<Option<(String, CryptoKey)>> = const { RefCell::new(None) };
        }
        let cached = CACHE.with_borrow(|c| {
            c.as_ref()
                .filter(|(hex, _)| hex == key_hex)
                .map(|(_, key)| key.clone())
        });
        if let Some(key) = cached {
            return Ok(Sealer { key });
        }
        let raw = hex::decode(key_hex).map_err(|_| no_key())?;
        if raw.len() != 32 {
            return Err(no_key());
        }
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let bytes = Uint8Array::from(raw.as_slice());
        let promise = subtle()?
            .import_key_with_str("raw", &bytes, "AES-GCM", false, &usages)
            .map_err(js)?;
        let key: CryptoKey = JsFuture::from(promise).await.map_err(js)?.unchecked_into();
        CACHE.with_borrow_mut(|c| *c = Some((key_hex.to_owned(), key.clone())));
        Ok(Sealer { key })
    }
}

fn params(iv: &[u8], context: &[u8]) -> AesGcmParams {
    let params = AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(iv));
    params.set_additional_data_u8_array(&Uint8Array::from(context));
    params
}

fn bytes_of(value: wasm_bindgen::JsValue) -> Vec<u8> {
    Uint8Array::new(&value.unchecked_into::<ArrayBuffer>()).to_vec()
}

impl Cipher for Sealer {
    async fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let iv = random::<IV_LEN>()?;
        let promise = subtle()?
            .encrypt_with_object_and_u8_array(&params(&iv, context), &self.key, plaintext)
            .map_err(js)?;
        let mut sealed = iv.to_vec();
        sealed.extend(bytes_of(JsFuture::from(promise).await.map_err(js)?));
        Ok(sealed)
    }

    async fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < IV_LEN {
            return Err(Error::Internal("sealed secret too short".into()));
        }
        let (iv, ciphertext) = sealed.split_at(IV_LEN);
        let promise = subtle()?
            .decrypt_with_object_and_u8_array(&params(iv, context), &self.key, ciphertext)
            .map_err(js)?;
        let opened = JsFuture::from(promise).await.map_err(|_| {
            Error::Internal("upstream secret does not open: TOLLGATE_UPSTREAM_KEY changed?".into())
        })?;
        Ok(bytes_of(opened))
    }
}

/// A [`Sealer`] for the key `0` (hex), made when first used: an upstream read for
/// a fetch is then one query, and one whose login has no secret needs no key.
pub struct SealerOnUse(pub String);

impl Cipher for SealerOnUse {
    async fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        Sealer::new(&self.0).await?.seal(plaintext, context).await
    }

    async fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        Sealer::new(&self.0).await?.open(sealed, context).await
    }
}
