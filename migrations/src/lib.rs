//! Idlewatch store schema versions: ordered upgrade functions run before the server serves.
