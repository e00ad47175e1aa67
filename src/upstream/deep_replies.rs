//! Replies nested deeper than a thread's stack: redis-protocol 6 (fred 10.1's decoder) recurses
//! once per level of nesting with no bound, so a deep enough reply overflows the stack and the
//! process dies with SIGSEGV ([write-up](../../docs/upstream.md#deep-replies)).
//!
//! No fred or redis-protocol setting bounds the depth, and nothing short of proxying every byte
//! does it from outside; so the threads that decode replies (the runtime's, see
//! [`crate::runtime`]) get stacks deep enough for any reply a session call can be sent in
//! practice. Once decoded, such a reply fails the call as `ERR_REDIS_PROTOCOL` and its
//! connection is remade (the store's ordinary handling of an impossible reply).
//!
//! Remove (back to tokio's default stack) when the decoder takes a depth limit.

use std::io;

/// Stack size of the runtime's threads. The decoder uses about 270 bytes of stack per level of
/// nesting, and every level costs the sender at least 4 bytes (`*1\r\n`); the conversion and
/// the drop of the decoded reply recurse per level too. This stack is reserved address space,
/// not memory: only the pages a deep reply touches are ever used. With 1 GiB a reply nested
/// 3,000,000 levels deep is survived (measured; 3,500,000 overflows) and refused as
/// `ERR_REDIS_PROTOCOL` (README, "Hostile servers").
pub const STACK_SIZE: usize = 1 << 30;

/// `build(Some(STACK_SIZE))`; where that address space cannot be reserved (a strict overcommit
/// policy, a small `ulimit -v`), `build(None)` (the default stack) rather than nothing at all.
pub fn with_deep_stacks<T>(build: impl Fn(Option<usize>) -> io::Result<T>) -> io::Result<T> {
    build(Some(STACK_SIZE)).or_else(|_| build(None))
}
