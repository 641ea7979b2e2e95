//! Discovery, and inputs that are not what they seem: empty, binary,
//! unreadable, missing, directories, random bytes, broken gzip.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{read, read_bytes, read_stream, Collect};
use vigie_sources::{discover, read_input, Format, Input, Severity};

#[test]
fn discover_walks_sorted_and_survives_link_loops() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/deeper")).unwrap();
    std::fs::create_dir_all(root.join("a")).unwrap();
    for (name, body) in [
        ("b/deeper/z.json", "{}"),
        ("b/y.log", "x"),
        ("a/x.evtx", "x"),
        ("a-file.txt", "x"),
        ("c.noext", "x"),
    ] {
        std::fs::write(root.join(name), body).unwrap();
    }
    #[cfg(unix)]
    {
        // A loop back to the root, a second way to a file, a dangling link.
        std::os::unix::fs::symlink(root, root.join("b/deeper/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("c.noext"), root.join("d-link")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), root.join("e-dangling")).unwrap();
    }
    let missing = root.join("missing.json");
    let (inputs, diagnostics) = discover(&[root.to_path_buf(), missing.clone(), "-".into()]);
    let names: Vec<String> = inputs
        .iter()
        .map(|i| {
            i.path
                .strip_prefix(root)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| i.display.to_string())
        })
        .collect();
    assert_eq!(
        names,
        [
            "a/x.evtx",
            "a-file.txt",
            "b/deeper/z.json",
            "b/y.log",
            "c.noext",
            "<stdin>"
        ]
    );
    assert_eq!(inputs[2].size, 2);
    assert!(inputs[5].is_stdin());
    assert!(diagnostics
        .iter()
        .any(|d| d.path.ends_with("missing.json") && d.severity == Severity::Error));
    #[cfg(unix)]
    assert!(diagnostics.iter().any(|d| d.path.ends_with("e-dangling")));
}

#[test]
fn empty_and_blank_files() {
    for bytes in [&b""[..], b"\n\n  \r\n", b"\xef\xbb\xbf"] {
        let got = read_bytes(bytes);
        assert_eq!(got.stats.format, None);
        assert!(got.events.is_empty());
        assert!(got.has_diagnostic(None, "empty file"));
        assert_eq!(got.warnings().len(), 1);
        assert_eq!(got.stats.errors, 0);
    }
}

#[test]
fn binary_and_unrecognised_content() {
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend([0u8; 100]);
    let got = read_bytes(&elf);
    assert!(got.has_diagnostic(None, "binary content, not a format vigie reads"));
    // Skipped with a warning: not a failed read of a log.
    assert_eq!(got.stats.errors, 0);
    assert_eq!(got.warnings().len(), 1);
    let got = read_bytes(b"Jan  1 00:00:00 host sshd[1]: Accepted password\n");
    assert!(got.has_diagnostic(None, "neither JSON nor CSV"));
    let got = read_bytes(b"\xff\xfe{\x00");
    assert!(got.has_diagnostic(None, "UTF-16"));
}

#[test]
fn random_bytes_never_panic() {
    let mut next = common::xorshift32(0x1234_5678);
    let prefixes: [&[u8]; 7] = [
        b"",
        b"{",
        b"[",
        b"a,b\n",
        b"ElfFile\0",
        b"\x1f\x8b",
        b"{\"a\":1}\n",
    ];
    for round in 0..60 {
        let mut bytes = prefixes[round % prefixes.len()].to_vec();
        let len = next() as usize % 20_000;
        // Mostly printable, to get past the binary check now and then.
        let printable = round % 2 == 0;
        for _ in 0..len {
            let r = next() as u8;
            let alphabet = b" {}[],:\"a1\n\\";
            bytes.push(if printable {
                alphabet[r as usize % alphabet.len()]
            } else {
                r
            });
        }
        let got = read_bytes(&bytes);
        let piped = read_stream(bytes);
        assert_eq!(got.stats.events, got.events.len() as u64);
        assert_eq!(piped.stats.events, piped.events.len() as u64);
    }
}

#[test]
fn broken_gzip() {
    let text = "{\"a\":1}\n".repeat(50_000);
    let gz = common::gzip(text.as_bytes());
    // Cut short: what was decompressed comes through, then an error.
    let got = read_bytes(&gz[..gz.len() / 2]);
    assert_eq!(got.stats.format, Some(Format::JsonLines));
    assert!(!got.events.is_empty() && got.events.len() < 50_000);
    assert!(!got.errors().is_empty(), "{:?}", got.diagnostics);
    // Garbage after the magic.
    let got = read_bytes(b"\x1f\x8b\x08\x00garbage garbage garbage");
    assert!(got.events.is_empty());
    assert!(!got.errors().is_empty());
}

#[test]
fn missing_unreadable_and_directory_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Collect::default();
    let input = |path: PathBuf| Input {
        display: Arc::from(path.to_string_lossy().as_ref()),
        path,
        size: 0,
    };

    let stats = read_input(
        &input(dir.path().join("nope")),
        0,
        &common::options(),
        &handler,
    );
    assert_eq!((stats.format, stats.errors), (None, 1));
    let stats = read_input(
        &input(dir.path().to_path_buf()),
        0,
        &common::options(),
        &handler,
    );
    assert_eq!((stats.format, stats.errors), (None, 1));
    let diagnostics = handler.diagnostics.lock().unwrap().clone();
    assert!(
        diagnostics[0].reason.contains("cannot open"),
        "{diagnostics:?}"
    );
    assert!(
        diagnostics[1].reason.contains("is a directory"),
        "{diagnostics:?}"
    );

    // chmod 000: an error unless running as root, who reads it anyway.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("locked.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":2}\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        let got = read(&path);
        if std::fs::read(&path).is_ok() {
            assert_eq!(got.events.len(), 2);
        } else {
            assert!(got.events.is_empty());
            assert!(
                got.has_diagnostic(None, "cannot open"),
                "{:?}",
                got.diagnostics
            );
        }
    }
}
