//! `fetch-keys` against a tiny HTTP server on 127.0.0.1 started by the test
//! (no other network exists here, and none is needed).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::{self, JoinHandle};

use chrono::NaiveDate;
use vigie_token::{fetch_keys, KeyStore};

type Routes = Vec<(&'static str, Vec<u8>)>;

/// Starts a server that answers `requests` requests from the routes that
/// `routes` makes for its address, then stops.
fn serve(
    requests: usize,
    routes: impl FnOnce(SocketAddr) -> Routes,
) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let routes = routes(addr);
    let handle = thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => ("200 OK", body.as_slice()),
                None => ("404 Not Found", b"{}".as_slice()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    (addr, handle)
}

const METADATA_PATH: &str = "/tenant/v2.0/.well-known/openid-configuration";
const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"sXch","e":"AQAB","issuer":"https://idp.test/{tenantid}/v2.0"}]}"#;

fn metadata(addr: SocketAddr, jwks_uri: Option<&str>) -> Vec<u8> {
    let issuer = format!("http://{addr}/tenant/v2.0");
    match jwks_uri {
        Some(path) => format!(r#"{{"issuer":"{issuer}","jwks_uri":"http://{addr}{path}"}}"#),
        None => format!(r#"{{"issuer":"{issuer}"}}"#),
    }
    .into_bytes()
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 2, 3).expect("date")
}

#[test]
fn saves_metadata_and_keys_as_dated_snapshots() {
    let (addr, server) = serve(2, |addr| {
        vec![
            (METADATA_PATH, metadata(addr, Some("/keys"))),
            ("/keys", JWKS.as_bytes().to_vec()),
        ]
    });
    let issuer = format!("http://{addr}/tenant/v2.0");
    let dir = tempfile::tempdir().expect("tempdir");
    let fetched = fetch_keys(&format!("{issuer}/"), dir.path(), date()).expect("fetched");
    server.join().expect("server");
    assert_eq!(fetched.keys, 1);
    assert_eq!(fetched.issuer, issuer);
    let name = fetched
        .jwks_path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name");
    assert_eq!(
        name,
        "127.0.0.1_{port}_tenant_v2.0-2025-02-03.jwks.json"
            .replace("{port}", &addr.port().to_string())
    );
    assert!(fetched.metadata_path.exists());
    // Saved exactly as served.
    assert_eq!(
        std::fs::read_to_string(&fetched.jwks_path).expect("saved"),
        JWKS
    );
    // The snapshot folder loads back, paired with its metadata.
    let mut store = KeyStore::default();
    store.add_path(dir.path()).expect("loads");
    assert_eq!(store.sets.len(), 1);
    assert_eq!(
        store.sets[0].metadata_issuer.as_deref(),
        Some(issuer.as_str())
    );
    assert_eq!(store.sets[0].date, Some(date()));
}

#[test]
fn oversized_key_set_is_refused_and_nothing_saved() {
    let huge = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(2 << 20)).into_bytes();
    let (addr, server) = serve(2, |addr| {
        vec![
            (METADATA_PATH, metadata(addr, Some("/keys"))),
            ("/keys", huge),
        ]
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let err = fetch_keys(&format!("http://{addr}/tenant/v2.0"), dir.path(), date())
        .expect_err("too large");
    server.join().expect("server");
    assert!(err.to_string().contains("/keys"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn missing_metadata_or_jwks_uri_is_an_error_naming_the_url() {
    let (addr, server) = serve(1, |_| Vec::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let err =
        fetch_keys(&format!("http://{addr}/tenant/v2.0"), dir.path(), date()).expect_err("404");
    server.join().expect("server");
    assert!(err.to_string().contains(METADATA_PATH), "{err}");

    let (addr, server) = serve(1, |addr| vec![(METADATA_PATH, metadata(addr, None))]);
    let err = fetch_keys(&format!("http://{addr}/tenant/v2.0"), dir.path(), date())
        .expect_err("no jwks_uri");
    server.join().expect("server");
    assert!(err.to_string().contains("jwks_uri"), "{err}");
}
