//! The `future<result<_, error-code>>` that reports how a stream ended (stdin's
//! `read-via-stream`, stdout's `write-via-stream`, a file's, a socket's): a one-shot value the
//! stream's producer or consumer sends, and `Ok` when it is dropped without sending — the guest
//! dropped its end, or the stream ran to its end — so that the future always resolves (a future
//! that failed would trap the guest).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct Slot<E> {
    value: Option<Result<(), E>>,
    /// The sender is gone: `value` is final.
    closed: bool,
    waker: Option<Waker>,
}

/// The sending half: [`Outcome::send`] once, or `Ok` when dropped.
pub(crate) struct Outcome<E>(Arc<Mutex<Slot<E>>>);

/// The receiving half, the future the guest reads.
pub(crate) struct Settled<E>(Arc<Mutex<Slot<E>>>);

/// A new pair.
pub(crate) fn outcome<E>() -> (Outcome<E>, Settled<E>) {
    let slot = Arc::new(Mutex::new(Slot { value: None, closed: false, waker: None }));
    (Outcome(slot.clone()), Settled(slot))
}

fn lock<E>(slot: &Mutex<Slot<E>>) -> std::sync::MutexGuard<'_, Slot<E>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl<E> Outcome<E> {
    /// Records the stream's end (the first value sent stays).
    pub fn send(&self, value: Result<(), E>) {
        let mut slot = lock(&self.0);
        if slot.value.is_none() {
            slot.value = Some(value);
        }
    }
}

impl<E> Drop for Outcome<E> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.0);
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<E> Future for Settled<E> {
    type Output = wasmtime::Result<Result<(), E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.0);
        if slot.closed {
            return Poll::Ready(Ok(slot.value.take().unwrap_or(Ok(()))));
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
