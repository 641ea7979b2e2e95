//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A folder of `../shared/data`, or None (with a message) when absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = repo().join("../shared/data").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: shared data not found at {}", path.display());
        None
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn vigie(args: &[&str]) -> Run {
    vigie_in(&repo(), args, None)
}

pub fn vigie_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.args(args).current_dir(dir);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run vigie");
    if let Some(bytes) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(bytes).expect("write stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for vigie");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// (file, record, rule id) of each JSON-lines alert.
pub fn detections(jsonl: &str) -> Vec<(String, u64, String)> {
    jsonl
        .lines()
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).expect("alert JSON");
            (
                a["file"].as_str().unwrap_or("").to_string(),
                a["record"].as_u64().unwrap_or(0),
                a["rule"]["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
