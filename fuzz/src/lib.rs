//! The decoders under fuzz: motiontune's own `src/protocol` and `src/sim`
//! sources, compiled as modules of this crate at the same paths (they name
//! each other as `crate::protocol` and `crate::sim`).

#[path = "../../src/protocol/mod.rs"]
pub mod protocol;
#[path = "../../src/sim/mod.rs"]
pub mod sim;

/// Splits `bytes` into chunks whose lengths cycle through `lengths` (each
/// taken modulo 64, plus one), as reads from a serial port arrive.
pub fn chunks<'a>(bytes: &'a [u8], lengths: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = bytes;
    let mut next = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let length = lengths
            .get(next % lengths.len().max(1))
            .map_or(rest.len(), |&l| usize::from(l % 64) + 1)
            .min(rest.len());
        next += 1;
        let (chunk, tail) = rest.split_at(length);
        rest = tail;
        Some(chunk)
    })
}
