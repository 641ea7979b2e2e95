//! Verification findings, each produced by a key pair and key set made by
//! the test, plus the real 2016 token signed by the key Storm-0558 stole.

mod support;

use std::path::Path;

use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::json;
use support::*;
use vigie_token::{verify, FindingKind, Jwt, KeyStore, SignatureStatus, Verdict, VerifyOptions};

fn store(paths: &[&Path]) -> KeyStore {
    let mut store = KeyStore::default();
    for p in paths {
        store.add_path(p).expect("key set loads");
    }
    store
}

fn check(token: &str, store: &KeyStore) -> Verdict {
    let jwt = Jwt::decode(token).expect("token decodes");
    let opts = VerifyOptions {
        keys_are_authoritative: true,
        ..VerifyOptions::default()
    };
    verify(&jwt, store, &opts)
}

fn kinds(v: &Verdict) -> Vec<FindingKind> {
    v.findings.iter().map(|f| f.kind).collect()
}

#[test]
fn real_2016_token_is_signed_by_the_compromised_key_in_scope() {
    let Some(dir) = shared_tokens_dir() else {
        return;
    };
    let token = std::fs::read_to_string(dir.join("msa-consumer-idtoken-2016.jwt")).expect("token");
    for keys in [dir.join("msa-consumer-keys-2016.jwks.json"), dir.clone()] {
        let v = check(&token, &store(&[&keys]));
        assert_eq!(v.signature, SignatureStatus::Valid, "{v:#?}");
        let found = kinds(&v);
        assert!(found.contains(&FindingKind::CompromisedKey), "{found:?}");
        assert!(
            !found.contains(&FindingKind::KeyScopeViolation),
            "{found:?}"
        );
        // Issued 2016-07-29, inside the certificate's 2016-2021 validity.
        assert!(
            !found.contains(&FindingKind::KeyNotValidAtIssue),
            "{found:?}"
        );
        assert!(!found.contains(&FindingKind::BadSignature), "{found:?}");
        let key = v.signing_key.as_ref().expect("signing key");
        assert!(key.key_set.ends_with("msa-consumer-keys-2016.jwks.json"));
        let cert = key.certificate.as_ref().expect("certificate");
        assert_eq!(
            cert.sha1_thumbprint,
            "d4b4cccda9228624656bff33d8110955779632aa"
        );
        assert_eq!(cert.matches_key, Some(true));
        assert!(v.has_findings());
        // The verdict never holds the token.
        let json = serde_json::to_string(&v).expect("json");
        assert!(!json.contains(token.trim()));
    }
}

#[test]
fn real_2016_token_against_2024_keys_only_is_an_unknown_kid() {
    let Some(dir) = shared_tokens_dir() else {
        return;
    };
    let token = std::fs::read_to_string(dir.join("msa-consumer-idtoken-2016.jwt")).expect("token");
    let v = check(&token, &store(&[&dir.join("entra-common-2024.jwks.json")]));
    let found = kinds(&v);
    assert!(found.contains(&FindingKind::UnknownKid), "{found:?}");
    assert!(found.contains(&FindingKind::CompromisedKey), "{found:?}");
}

#[test]
fn enterprise_key_signing_its_tenant_is_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = certificate(rsa_key(), (2020, 1, 1), (2030, 1, 1));
    let jwks = write_jwks(
        dir.path(),
        "ent-2020.jwks.json",
        &[rsa_jwk("ent", Some(ANY_TENANT), Some(&cert))],
    );
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"ent"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let v = check(&token, &store(&[&jwks]));
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert!(!v.has_findings());
}

#[test]
fn consumer_key_signing_an_enterprise_token_is_a_scope_violation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "consumer-2020.jwks.json",
        &[rsa_jwk("msa", Some(&v2_issuer(CONSUMER)), None)],
    );
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"msa"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let v = check(&token, &store(&[&jwks]));
    assert_eq!(v.signature, SignatureStatus::Valid, "correctly signed…");
    let scope = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::KeyScopeViolation)
        .expect("…by the wrong key");
    assert_eq!(scope.severity, vigie_core::Level::Critical);
    assert!(
        scope.explanation.contains("Storm-0558"),
        "{}",
        scope.explanation
    );
    // The same key signing a consumer token is in scope.
    let ok = sign_rs256(
        &json!({"alg":"RS256","kid":"msa"}),
        &claims(CONSUMER, IAT_2023),
    );
    assert!(!kinds(&check(&ok, &store(&[&jwks]))).contains(&FindingKind::KeyScopeViolation));
}

#[test]
fn metadata_issuer_scopes_keys_without_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "consumers-2021.jwks.json",
        &[rsa_jwk("m", None, None)],
    );
    std::fs::write(
        dir.path().join("consumers-2021.openid-configuration.json"),
        json!({"issuer": v2_issuer(CONSUMER), "jwks_uri": "https://example.invalid/keys"})
            .to_string(),
    )
    .expect("metadata");
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"m"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    // The sibling metadata document is paired by name.
    assert!(kinds(&check(&token, &store(&[&jwks]))).contains(&FindingKind::KeyScopeViolation));
    // Without metadata, the scope cannot be checked: a note, no finding.
    let bare = write_jwks(dir.path(), "bare.json", &[rsa_jwk("m", None, None)]);
    let v = check(&token, &store(&[&bare]));
    assert!(!kinds(&v).contains(&FindingKind::KeyScopeViolation));
    assert!(
        v.notes.iter().any(|n| n.contains("--openid-config")),
        "{:?}",
        v.notes
    );
}

#[test]
fn hmac_keyed_with_the_public_key_is_algorithm_confusion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "ent.jwks.json",
        &[rsa_jwk("ent", Some(ANY_TENANT), None)],
    );
    let pem = rsa_key()
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let token = sign_hs256(
        pem.as_bytes(),
        &json!({"alg":"HS256","kid":"ent"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let v = check(&token, &store(&[&jwks]));
    let f = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AlgorithmConfusion)
        .expect("algorithm confusion");
    assert!(
        f.explanation.contains("SubjectPublicKeyInfo PEM"),
        "{}",
        f.explanation
    );
    assert_ne!(v.signature, SignatureStatus::Valid);
    // An HMAC with some other secret is refused all the same.
    let other = sign_hs256(
        b"secret",
        &json!({"alg":"HS256","kid":"ent"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    assert!(kinds(&check(&other, &store(&[&jwks]))).contains(&FindingKind::AlgorithmConfusion));
}

#[test]
fn key_expired_when_the_token_was_issued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = certificate(rsa_key(), (2016, 4, 5), (2021, 4, 4));
    let jwks = write_jwks(
        dir.path(),
        "old.jwks.json",
        &[rsa_jwk("old", Some(ANY_TENANT), Some(&cert))],
    );
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"old"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let v = check(&token, &store(&[&jwks]));
    assert_eq!(v.signature, SignatureStatus::Valid);
    let f = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::KeyNotValidAtIssue)
        .expect("expired key");
    assert!(f.explanation.contains("expired"), "{}", f.explanation);
    // Not yet valid is the same finding.
    let early = sign_rs256(
        &json!({"alg":"RS256","kid":"old"}),
        &claims(ENTERPRISE, 1_400_000_000),
    );
    assert!(kinds(&check(&early, &store(&[&jwks]))).contains(&FindingKind::KeyNotValidAtIssue));
}

#[test]
fn unknown_kid_and_snapshot_choice_by_issue_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The key was published in 2016 and gone by 2024.
    write_jwks(
        dir.path(),
        "idp-2016.jwks.json",
        &[rsa_jwk("retired", Some(ANY_TENANT), None)],
    );
    write_jwks(
        dir.path(),
        "idp-2024-01-15.jwks.json",
        &[rsa_jwk("current", Some(ANY_TENANT), None)],
    );
    let keys = store(&[dir.path()]);
    let in_2017 = sign_rs256(
        &json!({"alg":"RS256","kid":"retired"}),
        &claims(ENTERPRISE, 1_500_000_000),
    );
    let v = check(&in_2017, &keys);
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    let in_2025 = sign_rs256(
        &json!({"alg":"RS256","kid":"retired"}),
        &claims(ENTERPRISE, 1_740_000_000),
    );
    let v = check(&in_2025, &keys);
    assert_eq!(kinds(&v), [FindingKind::UnknownKid]);
    assert!(v
        .key_sets
        .iter()
        .any(|s| s.ends_with("idp-2024-01-15.jwks.json")));
    let nowhere = sign_rs256(
        &json!({"alg":"RS256","kid":"nowhere"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    assert!(kinds(&check(&nowhere, &keys)).contains(&FindingKind::UnknownKid));
}

#[test]
fn altered_token_has_a_bad_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "k.jwks.json",
        &[rsa_jwk("k", Some(ANY_TENANT), None)],
    );
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"k"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let mut forged_claims = claims(ENTERPRISE, IAT_2023);
    forged_claims["scp"] = json!("Mail.ReadWrite full_access_as_app");
    let signature = token.rsplit('.').next().expect("signature");
    let forged = format!(
        "{}.{signature}",
        signing_input(&json!({"alg":"RS256","kid":"k"}), &forged_claims)
    );
    let v = check(&forged, &store(&[&jwks]));
    assert_eq!(v.signature, SignatureStatus::Invalid);
    assert_eq!(kinds(&v), [FindingKind::BadSignature]);
}

#[test]
fn unsigned_token_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "k.jwks.json",
        &[rsa_jwk("k", Some(ANY_TENANT), None)],
    );
    let token = format!(
        "{}.",
        signing_input(&json!({"alg":"none"}), &claims(ENTERPRISE, IAT_2023))
    );
    let v = check(&token, &store(&[&jwks]));
    assert_eq!(v.signature, SignatureStatus::Unsigned);
    assert!(kinds(&v).contains(&FindingKind::AlgNone));
    // Without any key set too.
    assert!(kinds(&check(&token, &KeyStore::default())).contains(&FindingKind::AlgNone));
}

#[test]
fn checks_that_need_no_key() {
    // A token naming the stolen key, for an enterprise tenant: the
    // compromised list alone knows the key was consumer-scoped.
    let header = json!({"alg":"RS256","kid":"1LTMzakihiRla_8z2BEJVXeWMqo"});
    let token = format!(
        "{}.{}",
        signing_input(&header, &claims(ENTERPRISE, IAT_2023)),
        b64url(b"x")
    );
    let jwt = Jwt::decode(&token).expect("decodes");
    let v = verify(&jwt, &KeyStore::default(), &VerifyOptions::default());
    let found = kinds(&v);
    assert!(found.contains(&FindingKind::CompromisedKey), "{found:?}");
    assert!(found.contains(&FindingKind::KeyScopeViolation), "{found:?}");
    assert_eq!(v.signature, SignatureStatus::NotChecked);
}

#[test]
fn lifetime_audience_and_issuer_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwks = write_jwks(
        dir.path(),
        "k.jwks.json",
        &[rsa_jwk("k", Some(ANY_TENANT), None)],
    );
    let keys = store(&[&jwks]);
    let header = json!({"alg":"RS256","kid":"k"});
    let mut c = claims(ENTERPRISE, IAT_2023);
    c["exp"] = json!(IAT_2023 - 10);
    c["nbf"] = json!(IAT_2023 - 20);
    assert!(kinds(&check(&sign_rs256(&header, &c), &keys)).contains(&FindingKind::ExpBeforeIat));
    c["exp"] = json!(IAT_2023 + 90 * 86_400);
    assert!(kinds(&check(&sign_rs256(&header, &c), &keys)).contains(&FindingKind::LifetimeTooLong));
    let token = sign_rs256(&header, &claims(ENTERPRISE, IAT_2023));
    let jwt = Jwt::decode(&token).expect("decodes");
    let opts = VerifyOptions {
        audience: Some("https://graph.microsoft.com".into()),
        issuer: Some(v2_issuer(CONSUMER)),
        seen_at: Some(IAT_2023 - 86_400),
        keys_are_authoritative: true,
    };
    let found = kinds(&verify(&jwt, &keys, &opts));
    for kind in [
        FindingKind::AudienceMismatch,
        FindingKind::IssuerMismatch,
        FindingKind::FutureIat,
    ] {
        assert!(found.contains(&kind), "{kind:?} in {found:?}");
    }
}

#[test]
fn hostile_key_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.jwks.json");
    std::fs::write(&bad, b"\x00\xffnot json").expect("write");
    let err = KeyStore::default().add_path(&bad).expect_err("refused");
    assert!(err.to_string().contains("bad.jwks.json"), "{err}");
    let empty = tempfile::tempdir().expect("tempdir");
    let err = KeyStore::default()
        .add_path(empty.path())
        .expect_err("refused");
    assert!(err.to_string().contains("no *.jwks.json"), "{err}");
    assert!(KeyStore::default()
        .add_path(&dir.path().join("missing"))
        .is_err());
}

#[test]
fn mutated_tokens_and_key_sets_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = certificate(rsa_key(), (2020, 1, 1), (2030, 1, 1));
    let jwks = write_jwks(
        dir.path(),
        "k.jwks.json",
        &[rsa_jwk("k", Some(ANY_TENANT), Some(&cert))],
    );
    let keys = store(&[&jwks]);
    let token = sign_rs256(
        &json!({"alg":"RS256","kid":"k"}),
        &claims(ENTERPRISE, IAT_2023),
    );
    let opts = VerifyOptions {
        seen_at: Some(IAT_2023),
        keys_are_authoritative: true,
        ..VerifyOptions::default()
    };
    let bytes = token.as_bytes();
    for i in (0..bytes.len()).step_by(3) {
        for replacement in [b'.', b'A', b'_', b'=', b'\0'] {
            let mut mutated = bytes.to_vec();
            mutated[i] = replacement;
            let text = String::from_utf8_lossy(&mutated);
            if let Ok(jwt) = Jwt::decode(&text) {
                let _ = verify(&jwt, &keys, &opts);
                let _ = verify(&jwt, &KeyStore::default(), &VerifyOptions::default());
            }
            let _ = vigie_token::find_tokens(&text).count();
        }
        let _ = Jwt::decode(&token[..i]);
    }
    // A key set whose members are all the wrong types.
    let hostile = dir.path().join("hostile.jwks.json");
    std::fs::write(
        &hostile,
        r#"{"keys":[{"kty":"RSA","kid":"k","n":"AA","e":"AA"},{"kty":"EC","kid":"k","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"OKP","kid":"k","crv":"Ed25519","x":"AA"},{"kty":"RSA","kid":"k","n":[],"e":null},
            {"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB","x5c":[1,2]},{"kid":"k"}]}"#,
    )
    .expect("write");
    let hostile_keys = store(&[&hostile]);
    for alg in [
        "RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256", "none", "XX",
    ] {
        let t = sign_rs256(&json!({"alg":alg,"kid":"k"}), &claims(ENTERPRISE, IAT_2023));
        let v = verify(&Jwt::decode(&t).expect("decodes"), &hostile_keys, &opts);
        assert_ne!(v.signature, SignatureStatus::Valid, "{alg}");
    }
}
