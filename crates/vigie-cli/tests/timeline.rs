//! The timeline is the same bytes whether detections stayed in memory or
//! were spilled to sorted runs on disk and merged (`--alert-memory`), and
//! the runs are removed afterwards.

mod common;

use std::process::Command;

fn hunt(format: &str, memory: &str, tmp: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "hunt",
            "--quiet",
            "--format",
            format,
            "--alert-memory",
            memory,
            "examples/",
        ])
        .current_dir(common::repo())
        .env("TMPDIR", tmp)
        .output()
        .expect("run vigie");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn spilled_timeline_equals_the_in_memory_one() {
    let tmp = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv", "table"] {
        let (code, in_memory, _) = hunt(format, "96", tmp.path());
        assert_eq!(code, 0, "examples/ has detections (grep-style exit 0)");
        // A budget of 0 MiB spills every batch of detections to its own run.
        let (code, spilled, stderr) = hunt(format, "0", tmp.path());
        assert_eq!(code, 0, "{stderr}");
        assert!(in_memory.lines().count() > 40, "{format}: {in_memory}");
        assert_eq!(spilled, in_memory, "{format}");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "run files are removed: {left:?}");
    }
}
