//! Expanding the paths given on the command line into inputs.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Diagnostic, Input, Severity};

/// Expands files and folders into inputs. Folders are walked recursively
/// (following symbolic links, but never into a folder already visited, so
/// link loops end); each argument's files are sorted by path, so the same
/// tree always gives the same list. No file is skipped for its name or
/// extension: reading sniffs the content. `-` means standard input.
/// Missing or unreadable paths become diagnostics; the same file reached
/// twice (a link, or named twice) is listed once.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<Diagnostic>) {
    let mut walk = Walk::default();
    for path in paths {
        if path.as_os_str() == "-" {
            walk.inputs.push(Input::stdin());
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk.dir(path, &meta),
            Ok(meta) => walk.file(path, &meta, true),
            Err(e) => walk.problem(path, Severity::Error, format!("cannot open: {e}")),
        }
        // Sorted first, so that of two paths to one file the first in
        // order is kept.
        let mut found = std::mem::take(&mut walk.found);
        found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        for (input, id) in found {
            let first_time = match id {
                Some(id) => walk.seen_files.insert(id),
                None => true,
            };
            if first_time {
                walk.inputs.push(input);
            }
        }
    }
    (walk.inputs, walk.diagnostics)
}

#[derive(Default)]
struct Walk {
    inputs: Vec<Input>,
    /// Files found under the current argument, with their identity when
    /// they are regular files.
    found: Vec<(Input, Option<FileId>)>,
    diagnostics: Vec<Diagnostic>,
    seen_dirs: HashSet<FileId>,
    seen_files: HashSet<FileId>,
}

impl Walk {
    fn dir(&mut self, root: &Path, meta: &Metadata) {
        // An explicit stack: a deep tree must not exhaust the call stack.
        let mut pending = vec![(root.to_path_buf(), file_id(root, meta))];
        while let Some((dir, id)) = pending.pop() {
            if !self.seen_dirs.insert(id) {
                continue;
            }
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    self.problem(&dir, Severity::Error, format!("cannot list folder: {e}"));
                    continue;
                }
            };
            let mut paths = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) => paths.push(entry.path()),
                    Err(e) => {
                        self.problem(&dir, Severity::Error, format!("cannot list folder: {e}"))
                    }
                }
            }
            // Reversed onto the stack, so that folders are walked in order.
            paths.sort();
            for path in paths.into_iter().rev() {
                match fs::metadata(&path) {
                    Ok(meta) if meta.is_dir() => {
                        let id = file_id(&path, &meta);
                        pending.push((path, id));
                    }
                    Ok(meta) => self.file(&path, &meta, false),
                    // A dangling link, or a race with a deletion.
                    Err(e) => self.problem(&path, Severity::Warning, format!("cannot open: {e}")),
                }
            }
        }
    }

    fn file(&mut self, path: &Path, meta: &Metadata, explicit: bool) {
        // Sockets, devices and pipes met while walking a folder could block
        // or never end; named explicitly (`<(zcat x.gz)`), they are read.
        if !explicit && !meta.is_file() {
            self.problem(
                path,
                Severity::Warning,
                "not a regular file, skipped".into(),
            );
            return;
        }
        let id = meta.is_file().then(|| file_id(path, meta));
        let input = Input {
            path: path.to_path_buf(),
            display: Arc::from(path.to_string_lossy().as_ref()),
            size: meta.len(),
        };
        self.found.push((input, id));
    }

    fn problem(&mut self, path: &Path, severity: Severity, reason: String) {
        self.diagnostics.push(Diagnostic {
            path: Arc::from(path.to_string_lossy().as_ref()),
            record: None,
            severity,
            reason,
        });
    }
}

/// What identifies a file or folder whatever path reaches it.
#[derive(Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

#[cfg(unix)]
fn file_id(_path: &Path, meta: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId::Inode(meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(path: &Path, _meta: &Metadata) -> FileId {
    FileId::Path(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}
