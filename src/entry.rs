//! The fetch handler the runtime calls (`fetch`, the wasm export src/js/entry.js
//! calls). workers-rs exports an `async fn`, which wasm-bindgen turns into a
//! `Promise` settled from a task on the microtask queue: a promise, two callback
//! closures and a task for every request. A warm pull needs no I/O before it
//! answers, so this handler polls the request's future once, right away, and
//! returns the `Response` itself when it is ready; only a request still waiting
//! on I/O gets a `Promise`. The runtime takes either from a fetch handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{web_sys, worker_sys, Env};

use crate::request::Request;

#[wasm_bindgen(js_name = fetch)]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker_sys::Context) -> JsValue {
    let ctx = worker::Context::new(ctx);
    answer_now_or_later(crate::fetch(Request::new(req), env, ctx))
}

/// What `future` gives, when it is ready on its first poll; else a `Promise` of it.
fn answer_now_or_later(future: impl Future<Output = web_sys::Response> + 'static) -> JsValue {
    let mut future = Box::pin(future);
    // Whatever the first poll leaves waiting keeps the waker it was given (some
    // futures keep only the first one); that waker wakes whichever task polls
    // the future later.
    let forward = Arc::new(Forward::default());
    let first = future
        .as_mut()
        .poll(&mut Context::from_waker(&Waker::from(forward.clone())));
    match first {
        Poll::Ready(response) => response.into(),
        Poll::Pending => future_to_promise(Later { future, forward }).into(),
    }
}

/// Passes a wake-up to the task polling the future now.
#[derive(Default)]
struct Forward(Mutex<Option<Waker>>);

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(waker) = self.0.lock().expect("one thread").as_ref() {
            waker.wake_by_ref();
        }
    }
}

/// A request's future after its first poll, as the microtask queue's task polls it.
struct Later<F> {
    future: Pin<Box<F>>,
    forward: Arc<Forward>,
}

impl<F: Future<Output = web_sys::Response>> Future for Later<F> {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        *self.forward.0.lock().expect("one thread") = Some(cx.waker().clone());
        self.future
            .as_mut()
            .poll(cx)
            .map(|response| Ok(response.into()))
    }
}
