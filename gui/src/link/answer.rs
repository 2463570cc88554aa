//! What a request to the daemon comes back as, in a form iced messages can
//! carry (they must be `Clone`, and `ClientError` holds an `io::Error`).

use wimsy_ipc::{ClientError, ErrorCode, Response};

/// The daemon's answer to one request.
pub type Answer = Result<Response, RequestError>;

/// A request that did not get a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// The daemon's code when it refused; `None` when the link failed
    /// (no daemon, connection lost) before an answer came.
    pub code: Option<ErrorCode>,
    /// What happened, in words a person can read.
    pub message: String,
}

impl From<ClientError> for RequestError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Remote(body) => Self {
                code: Some(body.code),
                message: body.message,
            },
            other => Self {
                code: None,
                message: other.to_string(),
            },
        }
    }
}
