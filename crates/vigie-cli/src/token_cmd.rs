//! `vigie token`: inspect, verify and fetch-keys (token forensics, see
//! vigie-token). Exit codes: 0 clean, 1 findings (verify), 2 an error.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use vigie_token::{Jwt, KeyStore, VerifyOptions};

use crate::exit;

/// Largest token file or standard input read.
const MAX_INPUT_BYTES: u64 = 1 << 20;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Decode and explain a JWT without verifying it: header, claims, times
    /// in UTC, issuer kind, tenant, application.
    Inspect(InspectArgs),
    /// Verify a JWT against local key-set snapshots: signature, key scope
    /// (issuer and tenant), key validity at issue time, compromised keys,
    /// claims. Exit 0 clean, 1 findings, 2 error.
    Verify(VerifyArgs),
    /// Save an issuer's OpenID metadata and key set in DIR as dated
    /// snapshots (NAME-YYYY-MM-DD.openid-configuration.json and
    /// NAME-YYYY-MM-DD.jwks.json) for later offline use.
    FetchKeys(FetchArgs),
}

#[derive(Args)]
pub struct InspectArgs {
    /// The token, a file holding it, or `-` for standard input (a file or
    /// `-` keeps the token out of shell history).
    #[arg(value_name = "TOKEN|FILE")]
    pub token: String,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The token, a file holding it, or `-` for standard input.
    #[arg(value_name = "TOKEN|FILE")]
    pub token: String,
    /// Key set (JWKS) file, or a folder of dated snapshots. Repeatable.
    #[arg(long, required = true, value_name = "FILE_OR_DIR")]
    pub jwks: Vec<PathBuf>,
    /// OpenID metadata document whose `issuer` scopes the keys that carry
    /// none (a `NAME.openid-configuration.json` beside `NAME.jwks.json` is
    /// used without asking).
    #[arg(long, value_name = "FILE")]
    pub openid_config: Option<PathBuf>,
    /// The audience the token must be for.
    #[arg(long)]
    pub audience: Option<String>,
    /// The issuer the token must come from.
    #[arg(long)]
    pub issuer: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct FetchArgs {
    /// The issuer URL (its `/.well-known/openid-configuration` is fetched),
    /// e.g. https://login.microsoftonline.com/common/v2.0
    pub issuer_url: String,
    /// Folder for the snapshots (created if needed).
    pub dir: PathBuf,
}

pub fn run(command: &TokenCommand) -> u8 {
    let result = match command {
        TokenCommand::Inspect(args) => inspect(args),
        TokenCommand::Verify(args) => verify(args),
        TokenCommand::FetchKeys(args) => fetch(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("vigie: {e}");
        exit::ERROR
    })
}

fn read_limited(mut reader: impl Read, what: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{what}: cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{what}: larger than {MAX_INPUT_BYTES} bytes: not a token"
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{what}: not UTF-8 text: not a token"))
}

/// The token from the argument: standard input, a file, or the argument
/// itself. Error messages name the source, never the token.
fn load_token(arg: &str) -> Result<Jwt, String> {
    let (text, source) = if arg == "-" {
        (
            read_limited(std::io::stdin().lock(), "standard input")?,
            "standard input".to_owned(),
        )
    } else if Path::new(arg).is_file() {
        let file = std::fs::File::open(arg).map_err(|e| format!("{arg}: cannot read: {e}"))?;
        (read_limited(file, arg)?, arg.to_owned())
    } else {
        (arg.to_owned(), "the token argument".to_owned())
    };
    match Jwt::decode(&text) {
        Ok(jwt) => Ok(jwt),
        Err(direct) => {
            // A file may hold a token among other text (a log line, a
            // request): take the first JWT-shaped string.
            let mut found = vigie_token::find_tokens(&text);
            let first = found.next();
            let more = found.count();
            match first.map(Jwt::decode) {
                Some(Ok(jwt)) => {
                    if more > 0 {
                        eprintln!(
                            "vigie: {source}: {} tokens found, checking the first",
                            more + 1
                        );
                    }
                    Ok(jwt)
                }
                Some(Err(e)) => Err(format!("{source}: not a JWT: {e}")),
                None => Err(format!("{source}: not a JWT: {direct}")),
            }
        }
    }
}

fn print_json(json: serde_json::Result<String>) -> Result<(), String> {
    let text = json.map_err(|e| format!("cannot write JSON: {e}"))?;
    println!("{text}");
    Ok(())
}

fn inspect(args: &InspectArgs) -> Result<u8, String> {
    let jwt = load_token(&args.token)?;
    let inspection = vigie_token::inspect(&jwt);
    if args.json {
        print_json(serde_json::to_string_pretty(&inspection))?;
    } else {
        print!("{}", vigie_token::inspection_text(&inspection));
    }
    Ok(exit::FOUND)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn verify(args: &VerifyArgs) -> Result<u8, String> {
    let jwt = load_token(&args.token)?;
    let mut store = KeyStore::default();
    for path in &args.jwks {
        store.add_path(path).map_err(|e| e.to_string())?;
    }
    if let Some(path) = &args.openid_config {
        store
            .attach_metadata_to_all(path)
            .map_err(|e| e.to_string())?;
    }
    for set in &store.sets {
        for warning in &set.warnings {
            eprintln!(
                "vigie: {}: {}",
                set.path.display(),
                vigie_token::clean(warning)
            );
        }
    }
    let opts = VerifyOptions {
        audience: args.audience.clone(),
        issuer: args.issuer.clone(),
        seen_at: Some(now()),
        keys_are_authoritative: true,
    };
    let verdict = vigie_token::verify(&jwt, &store, &opts);
    if args.json {
        print_json(serde_json::to_string_pretty(&verdict))?;
    } else {
        print!("{}", vigie_token::verdict_text(&verdict));
    }
    // 0 clean, 1 findings: verify's own convention, not hunt's.
    Ok(if verdict.has_findings() { 1 } else { 0 })
}

fn fetch(args: &FetchArgs) -> Result<u8, String> {
    let today = vigie_token::today_utc();
    let fetched =
        vigie_token::fetch_keys(&args.issuer_url, &args.dir, today).map_err(|e| e.to_string())?;
    if !fetched.jwks_uri.starts_with("https://") {
        eprintln!(
            "vigie: warning: {} was fetched over plain HTTP: anyone on the path could have changed it",
            fetched.jwks_uri
        );
    }
    for warning in &fetched.warnings {
        eprintln!(
            "vigie: {}: {}",
            fetched.jwks_path.display(),
            vigie_token::clean(warning)
        );
    }
    println!(
        "issuer {}: {} key(s)\n  {}\n  {}",
        vigie_token::clean(&fetched.issuer),
        fetched.keys,
        fetched.metadata_path.display(),
        fetched.jwks_path.display()
    );
    Ok(0)
}
