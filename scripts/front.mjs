#!/usr/bin/env node
// The local server's front door: listens on the address clients are given and
// passes every plain-HTTP connection through, byte for byte, to wrangler dev on a
// private port; answers a TLS handshake at once with a TLS alert.
//
// Why: skopeo, podman and buildah with --tls-verify=false (and other clients with
// their insecure switch) first try HTTPS and fall back to HTTP only when that
// fails. wrangler dev's port never answers a TLS ClientHello (it waits for the end
// of an HTTP request line that never comes), so every such command stalled for the
// client's 10 s TLS handshake timeout. With a prompt "handshake failure" alert the
// fallback happens within a millisecond.
//
// Usage: node scripts/front.mjs LISTEN_PORT BACKEND_PORT -- COMMAND [ARGS…]
// runs COMMAND (wrangler dev serving on 127.0.0.1:BACKEND_PORT), serves
// 127.0.0.1:LISTEN_PORT, forwards SIGINT/SIGTERM to COMMAND and exits with it.
import { spawn } from "node:child_process";
import net from "node:net";

const TLS_HANDSHAKE_RECORD = 0x16;
// A TLS 1.0-framed fatal alert, "handshake_failure": every TLS client reads it.
const TLS_HANDSHAKE_FAILURE = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]);
const HOST = "127.0.0.1";

function usage() {
  console.error("usage: node scripts/front.mjs LISTEN_PORT BACKEND_PORT -- COMMAND [ARGS…]");
  process.exit(2);
}

const [listenPort, backendPort, dashes, command, ...args] = process.argv.slice(2);
if (!listenPort || !backendPort || dashes !== "--" || !command) usage();

/** Joins a client to the backend once its first bytes show it speaks plain HTTP. */
function serve(client) {
  client.setNoDelay(true);
  client.on("error", () => client.destroy());
  client.once("data", (first) => {
    if (first[0] === TLS_HANDSHAKE_RECORD) {
      client.end(TLS_HANDSHAKE_FAILURE);
      return;
    }
    client.pause();
    const backend = net.connect({ host: HOST, port: Number(backendPort), noDelay: true }, () => {
      backend.write(first);
      client.pipe(backend);
      backend.pipe(client);
      client.resume();
    });
    backend.on("error", () => client.destroy());
    client.on("close", () => backend.destroy());
    backend.on("close", () => client.destroy());
  });
}

const server = net.createServer({ noDelay: true }, serve);
server.on("error", (err) => {
  console.error(`front: cannot listen on ${HOST}:${listenPort}: ${err.message}`);
  process.exit(1);
});
server.listen(Number(listenPort), HOST);

const child = spawn(command, args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
