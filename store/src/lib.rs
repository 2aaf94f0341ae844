//! Idlewatch durable journal.
