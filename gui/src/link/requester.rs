//! The app's way to ask the daemon things: a cheap, cloneable handle on the
//! current connection's pipelined requester.

use std::future::Future;

use wimsy_ipc::{Request, Response};

use super::answer::{Answer, RequestError};

/// Sends requests on the link's current connection; many may be in flight.
/// A handle from an old connection answers every request with an error
/// saying the daemon went away.
#[derive(Debug, Clone)]
pub struct Requester {
    inner: Inner,
    /// Which connection this handle belongs to, so the app can tell a stale
    /// handle from the current one.
    pub connection: u64,
}

#[derive(Debug, Clone)]
enum Inner {
    Ipc(wimsy_ipc::Requester),
    #[cfg(test)]
    Test(tokio::sync::mpsc::UnboundedSender<(Request, tokio::sync::oneshot::Sender<Answer>)>),
}

impl Requester {
    pub(super) fn new(inner: wimsy_ipc::Requester, connection: u64) -> Self {
        Self {
            inner: Inner::Ipc(inner),
            connection,
        }
    }

    /// Ask `request`. It is queued at this call, so requests go out in the
    /// order they were made; the future resolves with the answer.
    pub fn request(&self, request: Request) -> impl Future<Output = Answer> + Send + 'static {
        let asked = match &self.inner {
            Inner::Ipc(requester) => Asked::Ipc(Box::pin(requester.request(request))),
            #[cfg(test)]
            Inner::Test(sender) => {
                let (answer_tx, answer_rx) = tokio::sync::oneshot::channel();
                let _ = sender.send((request, answer_tx));
                Asked::Test(answer_rx)
            }
        };
        async move {
            let answer = match asked {
                Asked::Ipc(future) => future.await.map_err(RequestError::from),
                #[cfg(test)]
                Asked::Test(answer) => answer.await.unwrap_or_else(|_| Err(gone())),
            };
            if let Err(e) = &answer {
                tracing::debug!("a request to wimsyd failed: {}", e.message);
            }
            answer
        }
    }
}

type Pending = std::pin::Pin<
    Box<dyn Future<Output = Result<Response, wimsy_ipc::ClientError>> + Send + 'static>,
>;

enum Asked {
    Ipc(Pending),
    #[cfg(test)]
    Test(tokio::sync::oneshot::Receiver<Answer>),
}

#[cfg(test)]
fn gone() -> RequestError {
    RequestError {
        code: None,
        message: "The background service went away before answering.".to_owned(),
    }
}

#[cfg(test)]
pub mod testing {
    //! A requester with no daemon behind it: the test sees each request and
    //! answers it (or drops it) by hand.

    use tokio::sync::{mpsc, oneshot};

    use super::*;

    /// What a test [`Requester`] was asked, with where its answer goes.
    pub type Asked = mpsc::UnboundedReceiver<(Request, oneshot::Sender<Answer>)>;

    /// A requester for connection `connection` and what it is asked.
    pub fn requester(connection: u64) -> (Requester, Asked) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Requester {
                inner: Inner::Test(tx),
                connection,
            },
            rx,
        )
    }

    /// Every request asked so far, answers dropped.
    pub fn drain(asked: &mut Asked) -> Vec<Request> {
        let mut out = Vec::new();
        while let Ok((request, _)) = asked.try_recv() {
            out.push(request);
        }
        out
    }
}
