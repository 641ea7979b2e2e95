//! Base64 flavours found in tokens and key sets. Decoding accepts padded and
//! unpadded input alike: issuers and exporters disagree about padding, and a
//! forensic reader must not reject evidence over it.

use base64::alphabet::{STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);

/// base64url (JWT segments, JWK members).
const URL: GeneralPurpose = GeneralPurpose::new(&URL_SAFE, LENIENT);
/// Standard base64 (JWK `x5c` certificates, RFC 7517 §4.7).
const STD: GeneralPurpose = GeneralPurpose::new(&STANDARD, LENIENT);

pub fn decode_url(text: &str) -> Result<Vec<u8>, String> {
    URL.decode(text).map_err(|e| e.to_string())
}

#[cfg(test)]
pub fn encode_url(bytes: &[u8]) -> String {
    URL.encode(bytes)
}

pub fn decode_std(text: &str) -> Result<Vec<u8>, String> {
    STD.decode(text).map_err(|e| e.to_string())
}
