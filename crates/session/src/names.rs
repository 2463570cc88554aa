//! Turning XMPP conditions into the words users see.

use minidom::Element;
use xmpp_parsers::stream_error::{ReceivedStreamError, StreamError};

use crate::error::SessionError;

/// `NotAuthorized` (a Debug name) becomes `not-authorized`, the spelling
/// of the XMPP condition.
pub(crate) fn kebab_condition(debug_name: &str) -> String {
    let name = debug_name
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or(debug_name);
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

pub(crate) fn stream_error(error: &StreamError) -> SessionError {
    SessionError::Stream {
        condition: kebab_condition(&format!("{:?}", error.condition)),
        text: error.texts.values().next().cloned(),
    }
}

pub(crate) fn stream_error_element(el: Element) -> SessionError {
    match ReceivedStreamError::try_from(el) {
        Ok(error) => stream_error(&error.0),
        Err(_) => SessionError::Stream {
            condition: "undefined-condition".to_owned(),
            text: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::kebab_condition;

    #[test]
    fn debug_names_become_xmpp_conditions() {
        assert_eq!(kebab_condition("NotAuthorized"), "not-authorized");
        assert_eq!(kebab_condition("Conflict"), "conflict");
        assert_eq!(kebab_condition("SeeOtherHost(\"x\")"), "see-other-host");
    }
}
