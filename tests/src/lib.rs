//! Shared harness of the end-to-end tests: starting the real `idlewatch-server` binary and
//! driving real Socket.IO clients (python-socketio, socket.io-client) against it.
