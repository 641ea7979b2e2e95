//! `vigie token` and the hunt's token detector, end to end. Key pairs and
//! key sets are made here; the real 2016 token is read from ../shared/data
//! when present.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{shared, vigie};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

const CONSUMER: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ENTERPRISE: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const STOLEN_KID: &str = "1LTMzakihiRla_8z2BEJVXeWMqo";
const SCOPE_RULE: &str = "d5fac08e-b7ab-4ab3-9d30-23fdd8538078";
const COMPROMISED_RULE: &str = "b8b85e30-ec93-434d-9518-91291a8a8b2e";
/// 2023-06-01T00:00:00Z.
const IAT: i64 = 1_685_577_600;

fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

fn sign(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key().clone());
    format!("{input}.{}", b64(&signer.sign(input.as_bytes()).to_vec()))
}

fn access_token_claims(tenant: &str) -> Value {
    json!({
        "aud": "https://outlook.office365.com", "iss": issuer(tenant), "tid": tenant,
        "iat": IAT, "nbf": IAT, "exp": IAT + 3600,
        "appid": "00000002-0000-0ff1-ce00-000000000000", "scp": "Mail.Read",
        "upn": "victim@contoso.example", "ver": "2.0",
    })
}

/// A key set with the test key published for `scope`.
fn write_jwks(dir: &Path, kid: &str, scope: &str) -> String {
    let public = key().to_public_key();
    let jwks = json!({"keys": [{
        "kty": "RSA", "use": "sig", "kid": kid, "issuer": scope,
        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
    }]});
    let path = dir.join(format!("{kid}-2023.jwks.json"));
    std::fs::write(&path, jwks.to_string()).expect("write jwks");
    path.display().to_string()
}

fn kinds(verdict: &Value) -> Vec<String> {
    verdict["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn inspect_explains_the_real_2016_token() {
    let Some(dir) = shared("tokens") else { return };
    let file = dir.join("msa-consumer-idtoken-2016.jwt");
    let token = std::fs::read_to_string(&file).expect("token");
    let run = vigie(&["token", "inspect", &file.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        STOLEN_KID,
        "consumer",
        "2016-07-29T04:05:35Z",
        "2016-07-30T04:05:35Z",
        "sha256:",
        "compromised",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected} missing in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains(token.trim()));
    let run = vigie(&["token", "inspect", "--json", &file.display().to_string()]);
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["issuer_kind"], "consumer");
    assert_eq!(v["tenant"], CONSUMER);
    assert_eq!(v["key_id"], STOLEN_KID);
    assert_eq!(v["issued_at"]["utc"], "2016-07-29T04:05:35Z");
}

#[test]
fn verify_flags_the_real_token_as_compromised_not_out_of_scope() {
    let Some(dir) = shared("tokens") else { return };
    let file = dir
        .join("msa-consumer-idtoken-2016.jwt")
        .display()
        .to_string();
    let keys = dir
        .join("msa-consumer-keys-2016.jwks.json")
        .display()
        .to_string();
    let run = vigie(&["token", "verify", &file, "--jwks", &keys, "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["signature"], "valid");
    let found = kinds(&v);
    assert!(found.contains(&"compromised-key".to_owned()), "{found:?}");
    assert!(
        !found.contains(&"key-scope-violation".to_owned()),
        "{found:?}"
    );
}

#[test]
fn verify_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enterprise_keys = write_jwks(
        dir.path(),
        "ent",
        "https://login.microsoftonline.com/{tenantid}/v2.0",
    );
    let consumer_keys = write_jwks(dir.path(), "msa", &issuer(CONSUMER));
    let clean = sign(
        &json!({"alg":"RS256","kid":"ent"}),
        &access_token_claims(ENTERPRISE),
    );
    let run = vigie(&["token", "verify", &clean, "--jwks", &enterprise_keys]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("signature VALID"));
    assert!(!run.stdout.contains(&clean));

    let forged = sign(
        &json!({"alg":"RS256","kid":"msa"}),
        &access_token_claims(ENTERPRISE),
    );
    let token_file = dir.path().join("forged.txt");
    std::fs::write(&token_file, format!("Authorization: Bearer {forged}\n")).expect("write");
    let run = vigie(&[
        "token",
        "verify",
        &token_file.display().to_string(),
        "--jwks",
        &consumer_keys,
        "--json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["signature"], "valid");
    assert_eq!(kinds(&v)[0], "key-scope-violation");
    assert_eq!(v["findings"][0]["severity"], "critical");
    assert!(!run.stdout.contains(&forged));

    let run = vigie(&["token", "verify", "not-a-token", "--jwks", &consumer_keys]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a JWT"), "{}", run.stderr);
    let run = vigie(&[
        "token",
        "verify",
        &clean,
        "--jwks",
        "/no/such/keys.jwks.json",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/no/such/keys.jwks.json"),
        "{}",
        run.stderr
    );
}

/// A proxy log in JSON lines: one benign request, one carrying `token`.
fn proxy_log(dir: &Path, token: &str) -> String {
    let lines = [
        json!({"time": "2023-06-01T00:10:00Z", "src_ip": "203.0.113.7", "method": "GET",
               "url": "https://outlook.office365.com/owa/service.svc", "status": 200,
               "request_headers": "Accept: */*"}),
        json!({"time": "2023-06-01T00:12:00Z", "src_ip": "51.89.156.153", "method": "POST",
               "url": "https://outlook.office365.com/owa/service.svc?action=FindItem", "status": 200,
               "request_headers": format!("Authorization: Bearer {token}\r\nUser-Agent: python-requests/2.31")}),
    ];
    let path = dir.join("proxy.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).expect("write log");
    path.display().to_string()
}

fn hunt_alerts(args: &[&str]) -> (Vec<Value>, String) {
    let run = vigie(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alerts = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert JSON"))
        .collect();
    (alerts, run.stdout)
}

#[test]
fn hunt_finds_a_forged_token_in_a_proxy_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let consumer_keys = write_jwks(dir.path(), "msa", &issuer(CONSUMER));
    let forged = sign(
        &json!({"alg":"RS256","kid":"msa"}),
        &access_token_claims(ENTERPRISE),
    );
    let log = proxy_log(dir.path(), &forged);
    let (alerts, out) = hunt_alerts(&[
        "hunt",
        &log,
        "--jwks",
        &consumer_keys,
        "--format",
        "jsonl",
        "--quiet",
    ]);
    let scope: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["id"] == SCOPE_RULE)
        .collect();
    assert_eq!(
        scope.len(),
        1,
        "one alert per finding kind per token:\n{out}"
    );
    let alert = scope[0];
    assert_eq!(alert["rule"]["level"], "critical");
    assert_eq!(alert["record"], 2);
    let claims = alert["evidence"]["TokenClaims"]
        .as_str()
        .expect("claims evidence");
    assert!(
        claims.contains(ENTERPRISE) && claims.contains("victim@contoso.example"),
        "{claims}"
    );
    assert!(alert["evidence"]["TokenFingerprint"]
        .as_str()
        .unwrap_or("")
        .starts_with("sha256:"));
    let techniques = alert["rule"]["attack"].to_string() + &alert["rule"]["tags"].to_string();
    assert!(
        techniques.contains("1606") && techniques.contains("1550"),
        "{techniques}"
    );
    // The whole token appears nowhere, not even in the event copy.
    assert!(!out.contains(&forged), "token leaked:\n{out}");
    assert!(out.contains("<jwt sha256:"));
}

#[test]
fn hunt_without_key_sets_still_knows_the_stolen_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Signed by the test's key but naming the stolen key id: the
    // compromised list alone says the key was consumer-scoped.
    let forged = sign(
        &json!({"alg":"RS256","kid":STOLEN_KID}),
        &access_token_claims(ENTERPRISE),
    );
    let log = proxy_log(dir.path(), &forged);
    let (alerts, out) = hunt_alerts(&["hunt", &log, "--format", "jsonl", "--quiet"]);
    let rules: Vec<&str> = alerts
        .iter()
        .filter_map(|a| a["rule"]["id"].as_str())
        .collect();
    assert!(rules.contains(&COMPROMISED_RULE), "{out}");
    assert!(rules.contains(&SCOPE_RULE), "{out}");
    assert!(!out.contains(&forged));
}

#[test]
fn fetch_keys_saves_snapshots_from_a_loopback_server() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let metadata = format!(r#"{{"issuer":"http://{addr}/t","jwks_uri":"http://{addr}/keys"}}"#);
    let jwks = r#"{"keys":[{"kty":"RSA","kid":"k","n":"sXch","e":"AQAB"}]}"#.to_owned();
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let body = if request.contains("openid-configuration") {
                &metadata
            } else {
                &jwks
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshots");
    let run = vigie(&[
        "token",
        "fetch-keys",
        &format!("http://{addr}/t"),
        &out.display().to_string(),
    ]);
    server.join().expect("server");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("plain HTTP"), "{}", run.stderr);
    let names: Vec<String> = std::fs::read_dir(&out)
        .expect("snapshot dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".jwks.json")));
    assert!(names
        .iter()
        .any(|n| n.ends_with(".openid-configuration.json")));
}
