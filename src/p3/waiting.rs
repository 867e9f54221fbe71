//! A wait that a stream's producer or consumer keeps across its polls: the host's stdin not yet
//! readable, a socket not yet ready, a tokio output with no room. The wait is the core's
//! ([`crate::wait::wait`]): the reactor of `p3::run`, tokio's under `p3::run_async`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::event::PollFlags;
use wasmtime::component::StreamResult;

use crate::InterruptHandle;
use crate::wait::{Interrupted, Plan};

type WaitFuture = Pin<Box<dyn Future<Output = Result<Vec<PollFlags>, Interrupted>> + Send>>;

/// The wait of a stream operation, if one is under way.
#[derive(Default)]
pub(crate) struct Waiting(Option<WaitFuture>);

impl Waiting {
    /// Waits for `plan()` (made when the wait starts), then has the operation polled again:
    /// `Pending` until then (and once more, woken, when it is over). A cancelled operation
    /// (`finish`) ends the wait and is `Cancelled`; an interrupted one traps.
    pub fn then_retry(
        &mut self,
        cx: &mut Context<'_>,
        interrupt: &InterruptHandle,
        plan: impl FnOnce() -> Plan,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        if finish {
            self.0 = None;
            return Poll::Ready(Ok(StreamResult::Cancelled));
        }
        let wait = self.0.get_or_insert_with(|| {
            let (interrupt, plan) = (interrupt.clone(), plan());
            Box::pin(async move { crate::wait::wait(&interrupt, plan).await })
        });
        match wait.as_mut().poll(cx) {
            Poll::Ready(Ok(_)) => {
                self.0 = None;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Err(i)) => {
                self.0 = None;
                Poll::Ready(Err(i.into()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
