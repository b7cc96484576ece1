// Queue sends in one call from wasm (src/downloads.rs): the worker crate's
// `send_batch` builds each message's object field by field, several calls
// across the wasm boundary per message, where a batch of download events is
// handed over here as one string.

// Sends each line of `bodies` as a message of its own, in one batch. Every line is
// a JSON text, which holds no raw line break.
export function sendLines(queue, bodies) {
  return queue.sendBatch(bodies.split("\n").map((body) => ({ body })));
}
