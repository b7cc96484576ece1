// The registry worker's entry: what scripts/build-worker.sh puts in place of the
// default export of worker-build's shim, in the same bundle. worker-build
// exports a class deriving from `WorkerEntrypoint` behind a `Proxy`, so every
// request constructs an instance and passes through three proxy traps; a warm
// pull spent about 3% of its CPU there. A plain handler object does neither,
// and keeps what the traps are for: after a wasm trap (`handleMaybeCritical`),
// the next call re-initializes the module first (`checkReinitialize`). Both,
// and `Entrypoint` with the handlers that call into wasm, are the shim's.
var tollgateEntry = {
  fetch(request, env, ctx) {
    return guarded(Entrypoint.prototype.fetch, request, env, ctx);
  },
  scheduled(event, env, ctx) {
    return guarded(Entrypoint.prototype.scheduled, event, env, ctx);
  },
};

function guarded(handler, arg, env, ctx) {
  checkReinitialize();
  try {
    return handler.call({ env, ctx }, arg);
  } catch (e) {
    handleMaybeCritical(e);
    throw e;
  }
}
