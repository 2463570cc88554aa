//! Everything the daemon does with bytes from a client before its core sees
//! a request: cut frames (in arbitrary chunks), decode each, and encode the
//! answer it would send back. Nothing may panic, and the decoder may never
//! hold more than the cap plus one chunk.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wimsy_ipc::{FrameDecoder, ServerFrame, decode_client_frame, encode_frame};

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so the fuzzer explores splits.
    let (chunk, bytes) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut decoder = FrameDecoder::new(LIMIT);
    for piece in bytes.chunks(chunk) {
        decoder.feed(piece);
        while let Some(frame) = decoder.next_frame() {
            let Ok(line) = frame else { continue };
            match decode_client_frame(&line) {
                Ok(request) => {
                    let _ = encode_frame(&request);
                }
                Err(rejected) => {
                    let answer = ServerFrame::Error {
                        id: rejected.id,
                        error: rejected.error,
                    };
                    let _ = encode_frame(&answer);
                }
            }
        }
        assert!(decoder.buffered() <= LIMIT + chunk);
    }
});
