#!/usr/bin/env python3
"""Idlewatch e2e test peer wrapping python-socketio's synchronous client.

Reads JSON commands (one per line) on stdin and writes JSON lines on stdout.
See tests/peers/README.md for the line protocol.  Diagnostics go to stderr.

Run with the venv made by scripts/install-test-deps:
    target/test-env/venv/bin/python tests/peers/py_peer.py
"""

import json
import sys
import threading
import time
import traceback

import socketio

_out_lock = threading.Lock()


def out(obj):
    line = json.dumps(obj, separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(msg):
    sys.stderr.write("py_peer: %s\n" % msg)
    sys.stderr.flush()


def _error_message(data):
    """Best-effort message out of a connect_error payload."""
    if isinstance(data, dict):
        msg = data.get("message")
        if msg is not None:
            return str(msg)
        return json.dumps(data)
    if data is None:
        return None
    return str(data)


class Peer:
    def __init__(self):
        self.sio = None
        # set while we are disconnecting on purpose, so our own disconnect is
        # not reported as a server-side one
        self.client_closing = False
        self.last_connect_error = None

    # -- client setup -----------------------------------------------------
    def _new_client(self, register_host, ca_file=None):
        # A fresh client per connect command: no state leaks between attempts.
        options = {}
        if ca_file is not None:
            # The documented way to trust a private CA: a requests session whose
            # `verify` is the CA file; python-engineio passes it on to the
            # websocket transport (sslopt ca_certs) too.
            import requests
            session = requests.Session()
            session.verify = ca_file
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
            # environment override a session's `verify`; ignore them.
            session.trust_env = False
            options["http_session"] = session
        sio = socketio.Client(reconnection=False, logger=False,
                              engineio_logger=False, **options)

        @sio.on("connect")
        def on_connect():
            if register_host is not None:
                # Exactly like the legacy Python agent: register from inside
                # the connect handler.
                sio.emit("agent_register", {"host": register_host})

        @sio.on("connect_error")
        def on_connect_error(*args):
            data = args[0] if args else None
            self.last_connect_error = data
            log("connect_error: %r" % (args,))

        @sio.on("disconnect")
        def on_disconnect(*args):
            reason = args[0] if args else None
            if self.client_closing:
                return
            out({"type": "disconnect",
                 "reason": None if reason is None else str(reason)})

        @sio.on("*")
        def catch_all(event, *args):
            out({"type": "event", "event": event,
                 "data": args[0] if args else None})

        return sio

    def _connected(self):
        return self.sio is not None and self.sio.connected

    def _drain(self, timeout=2.0):
        """Wait (bounded) until engineio's send queue is empty.

        python-engineio's disconnect() closes a websocket right away, racing
        its write loop: packets queued just before (e.g. by emit_many, or the
        agent_register emitted from the connect handler) can be dropped.
        Waiting for the queue keeps "emit, then disconnect" deterministic.
        """
        q = getattr(getattr(self.sio, "eio", None), "queue", None)
        if q is None:
            return
        deadline = time.monotonic() + timeout
        while q.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def _close(self):
        if self.sio is None:
            return
        self.client_closing = True
        try:
            if self.sio.connected:
                self._drain()
            self.sio.disconnect()
        except Exception as exc:  # pragma: no cover - best effort
            log("disconnect failed: %r" % (exc,))
        self.sio = None

    # -- commands ---------------------------------------------------------
    def cmd_connect(self, c):
        if self._connected():
            out({"type": "error", "message": "already connected"})
            return
        self._close()
        url = c["url"]
        query = c.get("query")
        if query:
            from urllib.parse import urlencode
            sep = "&" if "?" in url else "?"
            url = url + sep + urlencode(query)
        transports = c.get("transports") or ["polling", "websocket"]
        auth = c.get("auth")
        timeout = c.get("timeout") or 5
        self.last_connect_error = None
        self.client_closing = False
        self.sio = self._new_client(c.get("register_on_connect"),
                                    c.get("ca_file"))
        try:
            self.sio.connect(url, transports=transports, auth=auth,
                             wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            # python-socketio raises a generic "One or more namespaces failed
            # to connect" error; the server's connect_error payload only
            # reaches the connect_error event handler.
            msg = _error_message(self.last_connect_error)
            if msg is None:
                msg = str(exc.args[0]) if exc.args else str(exc)
            self.client_closing = True
            self.sio = None
            out({"type": "connect_error", "message": msg})
            return
        out({"type": "connected", "sid": self.sio.get_sid()})

    def cmd_emit(self, c):
        if not self._connected():
            out({"type": "error", "id": c.get("id"), "message": "not connected"})
            return
        eid = c.get("id")
        callback = None
        if c.get("ack"):
            def callback(*args):
                out({"type": "ack", "id": eid,
                     "data": args[0] if args else None})
        # A 1-tuple always means exactly one argument (a bare None would mean
        # zero arguments and a bare tuple several).
        self.sio.emit(c["event"], (c.get("data"),), callback=callback)
        out({"type": "emitted", "id": eid})

    def cmd_emit_many(self, c):
        if not self._connected():
            out({"type": "error", "id": c.get("id"), "message": "not connected"})
            return
        args = (c.get("data"),)
        event = c["event"]
        for _ in range(int(c.get("count", 1))):
            self.sio.emit(event, args)
        out({"type": "emitted", "id": c.get("id")})

    def cmd_transport(self, c):
        name = self.sio.transport() if self.sio is not None else None
        out({"type": "transport", "name": name})

    def cmd_disconnect(self, c):
        self._close()
        out({"type": "disconnected"})

    def run(self):
        for raw in sys.stdin:
            raw = raw.strip()
            if not raw:
                continue
            try:
                c = json.loads(raw)
            except ValueError as exc:
                out({"type": "error", "message": "bad json: %s" % exc})
                continue
            name = c.get("cmd")
            if name == "exit":
                break
            handler = getattr(self, "cmd_" + str(name), None)
            if handler is None:
                out({"type": "error", "message": "unknown cmd %r" % (name,)})
                continue
            try:
                handler(c)
            except Exception as exc:
                log(traceback.format_exc())
                out({"type": "error", "id": c.get("id"),
                     "message": "%s: %s" % (type(exc).__name__, exc)})
        self._close()


def main():
    Peer().run()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
