//! Device → host payloads: decoding never panics, and a decoded message
//! encodes to a payload that decodes to the same encoding (floats compared
//! by bits, so NaN values count too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::protocol::native::DeviceMessage;

fuzz_target!(|payload: &[u8]| {
    if let Ok(message) = DeviceMessage::decode(payload) {
        let encoded = message.encode();
        let again = DeviceMessage::decode(&encoded).expect("an encoded message decodes");
        assert_eq!(again.encode(), encoded);
    }
});
