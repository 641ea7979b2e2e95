//! Every supported algorithm verifies a signature made by the test, and
//! rejects it once altered.

mod support;

use ed25519_dalek::Signer as _;
use rand::RngCore;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use serde_json::{json, Value};
use sha2::{Sha384, Sha512};
use support::*;
use vigie_token::{verify, Jwt, KeyStore, SignatureStatus, VerifyOptions};

fn verdict_for(token: &str, jwk: Value) -> SignatureStatus {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_jwks(dir.path(), "k.jwks.json", &[jwk]);
    let mut store = KeyStore::default();
    store.add_path(&path).expect("key set");
    let jwt = Jwt::decode(token).expect("decodes");
    verify(&jwt, &store, &VerifyOptions::default()).signature
}

fn assert_verifies(header: Value, jwk: Value, sign: impl Fn(&[u8]) -> Vec<u8>) {
    let input = signing_input(&header, &claims(ENTERPRISE, IAT_2023));
    let token = format!("{input}.{}", b64url(&sign(input.as_bytes())));
    assert_eq!(
        verdict_for(&token, jwk.clone()),
        SignatureStatus::Valid,
        "{header}"
    );
    // The same signature over other claims.
    let other = signing_input(&header, &claims(ENTERPRISE, IAT_2023 + 1));
    let altered = format!("{other}.{}", b64url(&sign(input.as_bytes())));
    assert_eq!(
        verdict_for(&altered, jwk),
        SignatureStatus::Invalid,
        "{header}"
    );
}

#[test]
fn rsa_pkcs1_and_pss() {
    let key = rsa_key().clone();
    let jwk = rsa_jwk("k", Some(ANY_TENANT), None);
    assert_verifies(json!({"alg":"RS384","kid":"k"}), jwk.clone(), |m| {
        rsa::pkcs1v15::SigningKey::<Sha384>::new(key.clone())
            .sign_with_rng(&mut rand::rngs::OsRng, m)
            .to_vec()
    });
    assert_verifies(json!({"alg":"RS512","kid":"k"}), jwk.clone(), |m| {
        rsa::pkcs1v15::SigningKey::<Sha512>::new(key.clone())
            .sign_with_rng(&mut rand::rngs::OsRng, m)
            .to_vec()
    });
    for (alg, sign) in [
        (
            "PS256",
            Box::new(|m: &[u8]| {
                rsa::pss::SigningKey::<sha2::Sha256>::new(key.clone())
                    .sign_with_rng(&mut rand::rngs::OsRng, m)
                    .to_vec()
            }) as Box<dyn Fn(&[u8]) -> Vec<u8>>,
        ),
        (
            "PS384",
            Box::new(|m: &[u8]| {
                rsa::pss::SigningKey::<Sha384>::new(key.clone())
                    .sign_with_rng(&mut rand::rngs::OsRng, m)
                    .to_vec()
            }),
        ),
        (
            "PS512",
            Box::new(|m: &[u8]| {
                rsa::pss::SigningKey::<Sha512>::new(key.clone())
                    .sign_with_rng(&mut rand::rngs::OsRng, m)
                    .to_vec()
            }),
        ),
    ] {
        assert_verifies(json!({"alg":alg,"kid":"k"}), jwk.clone(), sign);
    }
}

#[test]
fn ecdsa_p256_and_p384() {
    let k256 = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = k256.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty":"EC","crv":"P-256","kid":"ec",
        "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y")),
    });
    assert_verifies(json!({"alg":"ES256","kid":"ec"}), jwk, |m| {
        let sig: p256::ecdsa::Signature = rsa::signature::Signer::sign(&k256, m);
        sig.to_bytes().to_vec()
    });
    let k384 = p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = k384.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty":"EC","crv":"P-384","kid":"ec",
        "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y")),
    });
    assert_verifies(json!({"alg":"ES384","kid":"ec"}), jwk, |m| {
        let sig: p384::ecdsa::Signature = rsa::signature::Signer::sign(&k384, m);
        sig.to_bytes().to_vec()
    });
}

#[test]
fn eddsa() {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let jwk = json!({
        "kty":"OKP","crv":"Ed25519","kid":"ed",
        "x": b64url(key.verifying_key().as_bytes()),
    });
    assert_verifies(json!({"alg":"EdDSA","kid":"ed"}), jwk, |m| {
        key.sign(m).to_bytes().to_vec()
    });
}

#[test]
fn a_key_of_the_wrong_type_cannot_verify() {
    let k256 = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = k256.verifying_key().to_encoded_point(false);
    let ec = json!({
        "kty":"EC","crv":"P-256","kid":"k",
        "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y")),
    });
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"k"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    assert_eq!(verdict_for(&token, ec), SignatureStatus::Invalid);
}
