//! Property tests of the framing and of protocol round trips.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use wimsy_ipc::*;

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, newlines and quotes included: JSON must escape them.
    proptest::string::string_regex("(?s).{0,40}").unwrap()
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Status),
        Just(Request::Subscribe),
        Just(Request::Quit),
        (text(), text(), proptest::option::of(text()))
            .prop_map(|(to, body, account)| Request::Send { account, to, body }),
        (
            text(),
            proptest::option::of(1u32..1000),
            proptest::option::of(text())
        )
            .prop_map(|(peer, limit, before)| Request::History {
                account: None,
                peer,
                limit,
                before
            }),
        (text(), text()).prop_map(|(jid, password)| Request::AccountAdd {
            jid,
            password: Secret::new(password),
            server: None,
            ca_file: None
        }),
        any::<bool>().prop_map(|visible| Request::SetVisibility { visible }),
        (text(), text()).prop_map(|(jid, fingerprint)| Request::AccountTrust { jid, fingerprint }),
        (text(), proptest::option::of(text())).prop_map(|(jid, name)| Request::RosterAdd {
            account: None,
            jid,
            name
        }),
        (
            prop_oneof![Just(Show::Available), Just(Show::Away), Just(Show::Dnd)],
            proptest::option::of(text())
        )
            .prop_map(|(show, status)| Request::SetPresence {
                account: None,
                show,
                status
            }),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip_through_a_frame(id in any::<u64>(), request in request()) {
        let frame = ClientFrame { id, request };
        let bytes = encode_frame(&frame).unwrap();
        prop_assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1, "one line");
        let mut decoder = FrameDecoder::default();
        decoder.feed(&bytes);
        let line = decoder.next_frame().unwrap().unwrap();
        prop_assert_eq!(decode_client_frame(&line).unwrap(), frame);
    }

    #[test]
    fn any_chunking_yields_the_same_frames(
        bodies in proptest::collection::vec(text(), 1..8),
        cuts in proptest::collection::vec(1usize..64, 1..32),
    ) {
        let frames: Vec<ClientFrame> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| ClientFrame { id: i as u64, request: Request::Send { account: None, to: "a@b".into(), body } })
            .collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| encode_frame(f).unwrap()).collect();
        let mut decoder = FrameDecoder::default();
        let mut out = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() { break; }
            let end = (at + cut).min(stream.len());
            decoder.feed(&stream[at..end]);
            at = end;
            while let Some(frame) = decoder.next_frame() {
                out.push(decode_client_frame(&frame.unwrap()).unwrap());
            }
        }
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_pile_up(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..64),
    ) {
        let limit = 1024;
        let mut decoder = FrameDecoder::new(limit);
        for chunk in &chunks {
            decoder.feed(chunk);
            while let Some(frame) = decoder.next_frame() {
                if let Ok(bytes) = frame {
                    prop_assert!(bytes.len() < limit);
                    let _ = decode_client_frame(&bytes);
                }
            }
            prop_assert!(decoder.buffered() <= limit + 512, "buffered {}", decoder.buffered());
        }
    }
}
