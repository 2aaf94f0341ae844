#!/usr/bin/env node
// Idlewatch e2e test peer wrapping the npm socket.io-client (4.8.4).
//
// Reads JSON commands (one per line) on stdin and writes JSON lines on
// stdout. See tests/peers/README.md for the line protocol. Diagnostics go to
// stderr. Install dependencies with scripts/install-test-deps, then:
//     node tests/peers/node/peer.mjs
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

function out(obj) {
  // stdout writes to pipes are synchronous on Linux; one line per message.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function log(msg) {
  process.stderr.write(`node_peer: ${msg}\n`);
}

let socket = null;
// true while we disconnect on purpose, so it is not reported as a
// server-side disconnect
let clientClosing = false;

function connected() {
  return socket !== null && socket.connected;
}

function closeSocket() {
  if (socket === null) return;
  clientClosing = true;
  try {
    socket.disconnect();
  } catch (e) {
    log(`disconnect failed: ${e}`);
  }
  socket = null;
}

function cmdConnect(c) {
  if (connected()) {
    out({ type: "error", message: "already connected" });
    return Promise.resolve();
  }
  closeSocket();
  clientClosing = false;
  const timeoutMs = Math.round((c.timeout || 5) * 1000);
  const opts = {
    transports: c.transports || ["polling", "websocket"],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  };
  if (c.auth != null) opts.auth = c.auth;
  if (c.query != null) opts.query = c.query;
  // A private CA: Node's TLS options, passed on to both transports.
  if (c.ca_file != null) opts.ca = readFileSync(c.ca_file);
  const registerHost = c.register_on_connect ?? null;

  const s = io(c.url, opts);
  socket = s;

  s.onAny((event, ...args) => {
    out({ type: "event", event, data: args.length ? args[0] : null });
  });
  s.on("disconnect", (reason) => {
    if (clientClosing || socket !== s) return;
    out({ type: "disconnect", reason: reason == null ? null : String(reason) });
  });

  return new Promise((resolve) => {
    let settled = false;
    const finish = (line) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      out(line);
      resolve();
    };
    s.on("connect", () => {
      if (registerHost !== null) {
        // Exactly like the legacy agent: register inside the connect handler.
        s.emit("agent_register", { host: registerHost });
      }
      finish({ type: "connected", sid: s.id });
    });
    s.on("connect_error", (err) => {
      log(`connect_error: ${err && err.message} data=${JSON.stringify(err && err.data)}`);
      const message = err && err.message != null ? String(err.message) : String(err);
      if (!settled) {
        if (socket === s) {
          s.close();
          socket = null;
        }
        finish({ type: "connect_error", message });
      } else {
        out({ type: "connect_error", message });
      }
    });
    // Safety net in case neither event fires.
    const guard = setTimeout(() => {
      if (socket === s) {
        s.close();
        socket = null;
      }
      finish({ type: "connect_error", message: "timeout" });
    }, timeoutMs + 1000);
  });
}

function cmdEmit(c) {
  if (!connected()) {
    out({ type: "error", id: c.id ?? null, message: "not connected" });
    return;
  }
  const data = c.data === undefined ? null : c.data;
  if (c.ack) {
    const id = c.id ?? null;
    socket.emit(c.event, data, (...args) => {
      out({ type: "ack", id, data: args.length ? args[0] : null });
    });
  } else {
    socket.emit(c.event, data);
  }
  out({ type: "emitted", id: c.id ?? null });
}

function cmdEmitMany(c) {
  if (!connected()) {
    out({ type: "error", id: c.id ?? null, message: "not connected" });
    return;
  }
  const data = c.data === undefined ? null : c.data;
  const n = Number(c.count ?? 1);
  for (let i = 0; i < n; i++) socket.emit(c.event, data);
  out({ type: "emitted", id: c.id ?? null });
}

function cmdTransport() {
  const name =
    socket && socket.io.engine && socket.io.engine.transport
      ? socket.io.engine.transport.name
      : null;
  out({ type: "transport", name });
}

function cmdDisconnect() {
  closeSocket();
  out({ type: "disconnected" });
}

function exitPeer() {
  closeSocket();
  // give the close/disconnect packets a moment to leave, then exit
  setTimeout(() => process.exit(0), 50);
}

// Commands are processed strictly one after another (connect waits for its
// outcome before the next command is read from the queue).
const queue = [];
let waiting = null;
let eof = false;

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  queue.push(line);
  if (waiting) {
    const w = waiting;
    waiting = null;
    w();
  }
});
rl.on("close", () => {
  eof = true;
  if (waiting) {
    const w = waiting;
    waiting = null;
    w();
  }
});

async function nextLine() {
  while (queue.length === 0) {
    if (eof) return null;
    await new Promise((r) => (waiting = r));
  }
  return queue.shift();
}

async function main() {
  for (;;) {
    const raw = await nextLine();
    if (raw === null) break;
    const line = raw.trim();
    if (!line) continue;
    let c;
    try {
      c = JSON.parse(line);
    } catch (e) {
      out({ type: "error", message: `bad json: ${e.message}` });
      continue;
    }
    try {
      switch (c.cmd) {
        case "connect":
          await cmdConnect(c);
          break;
        case "emit":
          cmdEmit(c);
          break;
        case "emit_many":
          cmdEmitMany(c);
          break;
        case "transport":
          cmdTransport();
          break;
        case "disconnect":
          cmdDisconnect();
          break;
        case "exit":
          exitPeer();
          return;
        default:
          out({ type: "error", message: `unknown cmd ${JSON.stringify(c.cmd)}` });
      }
    } catch (e) {
      log(e && e.stack ? e.stack : String(e));
      out({ type: "error", id: c.id ?? null, message: String(e && e.message ? e.message : e) });
    }
  }
  exitPeer();
}

main();
