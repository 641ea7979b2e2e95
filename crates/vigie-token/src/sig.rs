//! Signature checks, one per JWA algorithm, all by RustCrypto crates.

use hmac::{Hmac, Mac};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Sha256, Sha384, Sha512};

use crate::keys::{Jwk, KeyMaterial};

/// Largest RSA modulus accepted, in bits: big enough for any real key, small
/// enough that a hostile key set cannot make verification crawl.
const MAX_RSA_BITS: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The `alg` header, sorted into what vigie can check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Rs(Hash),
    Ps(Hash),
    Es256,
    Es384,
    EdDsa,
    /// HMAC: a shared secret, never a published public key.
    Hs(Hash),
    /// `none`, in any letter case: no signature at all.
    None,
    Unsupported(String),
}

impl Algorithm {
    pub fn parse(alg: &str) -> Algorithm {
        let hash = |suffix: &str| match suffix {
            "256" => Some(Hash::Sha256),
            "384" => Some(Hash::Sha384),
            "512" => Some(Hash::Sha512),
            _ => None,
        };
        if alg.eq_ignore_ascii_case("none") {
            return Algorithm::None;
        }
        let family = alg.get(..2).unwrap_or("");
        let bits = alg.get(2..).unwrap_or("");
        match (family, hash(bits)) {
            ("RS", Some(h)) => Algorithm::Rs(h),
            ("PS", Some(h)) => Algorithm::Ps(h),
            ("HS", Some(h)) => Algorithm::Hs(h),
            ("ES", Some(Hash::Sha256)) => Algorithm::Es256,
            ("ES", Some(Hash::Sha384)) => Algorithm::Es384,
            _ if alg == "EdDSA" || alg == "Ed25519" => Algorithm::EdDsa,
            _ => Algorithm::Unsupported(alg.to_owned()),
        }
    }
}

/// The outcome of checking a signature with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    Valid,
    Invalid,
    /// The key cannot make this kind of signature (an EC key for RS256…);
    /// says what the key is.
    WrongKeyType(String),
    /// The key or signature is malformed or beyond what vigie accepts.
    Unusable(String),
}

fn rsa_key(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, String> {
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        MAX_RSA_BITS,
    )
    .map_err(|e| format!("RSA key rejected: {e}"))
}

fn outcome<E>(result: Result<(), E>) -> SignatureCheck {
    if result.is_ok() {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Invalid
    }
}

/// Checks `signature` over `message` with `key` under `alg` (asymmetric
/// algorithms only; HMAC and `none` are refused before this).
pub fn verify(
    alg: &Algorithm,
    key: &KeyMaterial,
    message: &[u8],
    signature: &[u8],
) -> SignatureCheck {
    match (alg, key) {
        (Algorithm::Rs(hash), KeyMaterial::Rsa { n, e }) => {
            let key = match rsa_key(n, e) {
                Ok(k) => k,
                Err(e) => return SignatureCheck::Unusable(e),
            };
            let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                return SignatureCheck::Invalid;
            };
            use rsa::pkcs1v15::VerifyingKey;
            outcome(match hash {
                Hash::Sha256 => VerifyingKey::<Sha256>::new(key).verify(message, &sig),
                Hash::Sha384 => VerifyingKey::<Sha384>::new(key).verify(message, &sig),
                Hash::Sha512 => VerifyingKey::<Sha512>::new(key).verify(message, &sig),
            })
        }
        (Algorithm::Ps(hash), KeyMaterial::Rsa { n, e }) => {
            let key = match rsa_key(n, e) {
                Ok(k) => k,
                Err(e) => return SignatureCheck::Unusable(e),
            };
            let Ok(sig) = rsa::pss::Signature::try_from(signature) else {
                return SignatureCheck::Invalid;
            };
            // RFC 7518 §3.5: the salt is as long as the hash, which is what
            // `VerifyingKey::new` expects.
            use rsa::pss::VerifyingKey;
            outcome(match hash {
                Hash::Sha256 => VerifyingKey::<Sha256>::new(key).verify(message, &sig),
                Hash::Sha384 => VerifyingKey::<Sha384>::new(key).verify(message, &sig),
                Hash::Sha512 => VerifyingKey::<Sha512>::new(key).verify(message, &sig),
            })
        }
        (Algorithm::Es256, KeyMaterial::Ec { curve, x, y }) if curve == "P-256" => {
            verify_p256(x, y, message, signature)
        }
        (Algorithm::Es384, KeyMaterial::Ec { curve, x, y }) if curve == "P-384" => {
            verify_p384(x, y, message, signature)
        }
        (Algorithm::EdDsa, KeyMaterial::Okp { curve, x }) if curve == "Ed25519" => {
            let Ok(bytes) = <[u8; 32]>::try_from(x.as_slice()) else {
                return SignatureCheck::Unusable("Ed25519 key is not 32 bytes".into());
            };
            let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes) else {
                return SignatureCheck::Unusable("Ed25519 key is not a curve point".into());
            };
            let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                return SignatureCheck::Invalid;
            };
            outcome(key.verify_strict(message, &sig))
        }
        (_, KeyMaterial::Ec { curve, .. } | KeyMaterial::Okp { curve, .. }) => {
            SignatureCheck::WrongKeyType(format!("a {} {curve} key", key.kty()))
        }
        (_, key) => SignatureCheck::WrongKeyType(format!("an {} key", key.kty())),
    }
}

fn verify_p256(x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> SignatureCheck {
    use p256::ecdsa::{Signature, VerifyingKey};
    if x.len() != 32 || y.len() != 32 {
        return SignatureCheck::Unusable("P-256 coordinates are not 32 bytes".into());
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    let Ok(key) = VerifyingKey::from_encoded_point(&point) else {
        return SignatureCheck::Unusable("P-256 key is not a curve point".into());
    };
    let Ok(sig) = Signature::from_slice(signature) else {
        return SignatureCheck::Invalid;
    };
    outcome(key.verify(message, &sig))
}

fn verify_p384(x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> SignatureCheck {
    use p384::ecdsa::{Signature, VerifyingKey};
    if x.len() != 48 || y.len() != 48 {
        return SignatureCheck::Unusable("P-384 coordinates are not 48 bytes".into());
    }
    let point = p384::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    let Ok(key) = VerifyingKey::from_encoded_point(&point) else {
        return SignatureCheck::Unusable("P-384 key is not a curve point".into());
    };
    let Ok(sig) = Signature::from_slice(signature) else {
        return SignatureCheck::Invalid;
    };
    outcome(key.verify(message, &sig))
}

fn hmac_matches(hash: Hash, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    fn check<M: Mac + hmac::digest::KeyInit>(
        secret: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(message);
                mac.verify_slice(signature).is_ok()
            }
            Err(_) => false,
        }
    }
    match hash {
        Hash::Sha256 => check::<Hmac<Sha256>>(secret, message, signature),
        Hash::Sha384 => check::<Hmac<Sha384>>(secret, message, signature),
        Hash::Sha512 => check::<Hmac<Sha512>>(secret, message, signature),
    }
}

/// Which published form of a public key, if any, was used as the HMAC
/// secret of an HS* token: the classic algorithm-confusion forgery, aimed
/// at verifiers that hand "the key" to whatever `alg` the token names.
pub fn hmac_keyed_with_public_key(
    hash: Hash,
    key: &Jwk,
    message: &[u8],
    signature: &[u8],
) -> Option<&'static str> {
    let mut forms: Vec<(&'static str, Vec<u8>)> =
        vec![("the JWK JSON", key.json.clone().into_bytes())];
    if let KeyMaterial::Rsa { n, e } = &key.material {
        if let Ok(rsa) = rsa_key(n, e) {
            if let Ok(pem) = rsa.to_public_key_pem(LineEnding::LF) {
                forms.push(("the SubjectPublicKeyInfo PEM", pem.clone().into_bytes()));
                forms.push((
                    "the SubjectPublicKeyInfo PEM",
                    pem.trim_end().as_bytes().to_vec(),
                ));
            }
            if let Ok(pem) = rsa.to_pkcs1_pem(LineEnding::LF) {
                forms.push(("the PKCS#1 PEM", pem.clone().into_bytes()));
                forms.push(("the PKCS#1 PEM", pem.trim_end().as_bytes().to_vec()));
            }
            if let Ok(der) = rsa.to_public_key_der() {
                forms.push(("the SubjectPublicKeyInfo DER", der.as_bytes().to_vec()));
            }
            if let Ok(der) = rsa.to_pkcs1_der() {
                forms.push(("the PKCS#1 DER", der.as_bytes().to_vec()));
            }
        }
        forms.push(("the raw modulus", n.clone()));
    }
    forms
        .into_iter()
        .find(|(_, secret)| hmac_matches(hash, secret, message, signature))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_algorithms() {
        assert_eq!(Algorithm::parse("RS256"), Algorithm::Rs(Hash::Sha256));
        assert_eq!(Algorithm::parse("PS512"), Algorithm::Ps(Hash::Sha512));
        assert_eq!(Algorithm::parse("ES384"), Algorithm::Es384);
        assert_eq!(Algorithm::parse("HS256"), Algorithm::Hs(Hash::Sha256));
        assert_eq!(Algorithm::parse("nOnE"), Algorithm::None);
        assert_eq!(Algorithm::parse("EdDSA"), Algorithm::EdDsa);
        assert_eq!(
            Algorithm::parse("ES512"),
            Algorithm::Unsupported("ES512".into())
        );
        assert_eq!(Algorithm::parse(""), Algorithm::Unsupported("".into()));
        assert_eq!(Algorithm::parse("é"), Algorithm::Unsupported("é".into()));
        assert_eq!(
            Algorithm::parse("aé1"),
            Algorithm::Unsupported("aé1".into())
        );
    }

    #[test]
    fn garbage_keys_and_signatures_do_not_panic() {
        let rsa = KeyMaterial::Rsa {
            n: vec![0; 3],
            e: vec![1],
        };
        let ec = KeyMaterial::Ec {
            curve: "P-256".into(),
            x: vec![1; 32],
            y: vec![2; 32],
        };
        let okp = KeyMaterial::Okp {
            curve: "Ed25519".into(),
            x: vec![0xff; 32],
        };
        for alg in ["RS256", "PS384", "ES256", "ES384", "EdDSA"] {
            for key in [&rsa, &ec, &okp] {
                let check = verify(&Algorithm::parse(alg), key, b"m", b"s");
                assert_ne!(check, SignatureCheck::Valid);
            }
        }
    }
}
