//! Host → device payloads: decoding never panics, and a decoded command
//! encodes to a payload that decodes to the same encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::protocol::native::{decode_command, encode_command};

fuzz_target!(|payload: &[u8]| {
    if let Ok(command) = decode_command(payload) {
        let encoded = encode_command(&command);
        let again = decode_command(&encoded).expect("an encoded command decodes");
        assert_eq!(encode_command(&again), encoded);
    }
});
