//! Where `@file`, `include`, `include_if_exists` and `include_dir` find their text.
//!
//! Parsing never touches the file system itself: it asks a [`Source`].
//! [`MemorySource`] serves files from a map (tests, editors, the C ABI);
//! [`FsSource`] reads the real file system (the `pgtls` command).

use std::collections::BTreeMap;

/// Why a [`Source`] could not deliver a file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceError {
    /// The C library's text for the failure, as `strerror` prints it
    /// (for example `No such file or directory`).
    pub message: String,
    /// The failure was "no such file" (`ENOENT`), which `include_if_exists` skips.
    pub not_found: bool,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    /// The `ENOENT` failure.
    pub fn not_found() -> Self {
        Self {
            message: "No such file or directory".to_owned(),
            not_found: true,
        }
    }

    /// Any other failure, with its `strerror` text.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            not_found: false,
        }
    }
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The entry's name (no directory part).
    pub name: String,
    /// Whether the entry is a directory (those are skipped by `include_dir`).
    pub is_dir: bool,
}

impl DirEntry {
    /// A directory entry.
    pub fn new(name: impl Into<String>, is_dir: bool) -> Self {
        Self {
            name: name.into(),
            is_dir,
        }
    }
}

/// Resolves the files that pg_hba.conf and pg_ident.conf refer to.
///
/// Paths passed in are already absolute or relative exactly as PostgreSQL
/// would compute them (relative to the directory of the referencing file).
pub trait Source {
    /// The bytes of the file at `path`.
    ///
    /// # Errors
    /// A [`SourceError`] carrying the `strerror` text the server would print.
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;

    /// The entries of the directory at `path` (order does not matter).
    ///
    /// # Errors
    /// A [`SourceError`] when the directory cannot be opened.
    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError>;
}

/// A [`Source`] with no files at all: every `@file` and include fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSource;

impl Source for NoSource {
    fn read(&self, _path: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::not_found())
    }

    fn list_dir(&self, _path: &str) -> Result<Vec<DirEntry>, SourceError> {
        Err(SourceError::not_found())
    }
}

/// An in-memory [`Source`]: a map from path to content. Directories are
/// implied by the paths of the files in them.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }

    /// Builder form of [`MemorySource::insert`].
    #[must_use]
    pub fn with(mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.insert(path, content);
        self
    }
}

impl Source for MemorySource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.files.get(path) {
            Some(c) => Ok(c.clone()),
            None => {
                let prefix = format!("{}/", path.trim_end_matches('/'));
                if self.files.keys().any(|k| k.starts_with(&prefix)) {
                    // A directory opens and reads as nothing (see FsSource).
                    Ok(Vec::new())
                } else {
                    Err(SourceError::not_found())
                }
            }
        }
    }

    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut out: Vec<DirEntry> = Vec::new();
        for key in self.files.keys() {
            if let Some(rest) = key.strip_prefix(&prefix) {
                let (name, is_dir) = match rest.split_once('/') {
                    Some((n, _)) => (n, true),
                    None => (rest, false),
                };
                if !out.iter().any(|e| e.name == name) {
                    out.push(DirEntry::new(name, is_dir));
                }
            }
        }
        if out.is_empty() {
            Err(SourceError::not_found())
        } else {
            Ok(out)
        }
    }
}

/// The real file system (used by the `pgtls` command).
#[derive(Clone, Copy, Debug, Default)]
pub struct FsSource;

fn io_error(e: &std::io::Error) -> SourceError {
    let not_found = e.kind() == std::io::ErrorKind::NotFound;
    // std's Display adds " (os error N)"; keep the strerror part only.
    let text = e.to_string();
    let message = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    SourceError { message, not_found }
}

impl Source for FsSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        // fopen() of a directory succeeds and reading it fails, which the
        // server's tokenizer treats as an empty file.
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Ok(Vec::new());
        }
        std::fs::read(path).map_err(|e| io_error(&e))
    }

    fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, SourceError> {
        let rd = std::fs::read_dir(path).map_err(|e| io_error(&e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| io_error(&e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = std::fs::metadata(entry.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            out.push(DirEntry { name, is_dir });
        }
        Ok(out)
    }
}

/// PostgreSQL's `canonicalize_path` for the cases config files meet:
/// collapse `//`, drop `.` components and trailing slashes, and resolve
/// `..` against a preceding real component.
pub(crate) fn canonicalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(p) if *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// `AbsoluteConfigLocation`: `location` relative to the directory of `calling_file`.
pub(crate) fn absolute_location(location: &str, calling_file: &str) -> String {
    if location.starts_with('/') {
        return location.to_owned();
    }
    let dir = match calling_file.rfind('/') {
        Some(0) => "/",
        Some(i) => &calling_file[..i],
        None => ".",
    };
    canonicalize_path(&format!("{dir}/{location}"))
}

/// The pre-16 `@file` path: like [`absolute_location`].
pub(crate) fn inc_location(location: &str, calling_file: &str) -> String {
    absolute_location(location, calling_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(absolute_location("x", "/a/b/pg_hba.conf"), "/a/b/x");
        assert_eq!(absolute_location("../x", "/a/b/pg_hba.conf"), "/a/x");
        assert_eq!(absolute_location("/abs", "/a/b/pg_hba.conf"), "/abs");
        assert_eq!(absolute_location("./d//y", "/a/pg_hba.conf"), "/a/d/y");
        assert_eq!(absolute_location("x", "pg_hba.conf"), "x");
    }

    #[test]
    fn memory_source_dirs() {
        let s = MemorySource::new()
            .with("/d/conf.d/a.conf", "x")
            .with("/d/conf.d/sub/b.conf", "y");
        let mut l = s.list_dir("/d/conf.d").unwrap();
        l.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            l,
            vec![DirEntry::new("a.conf", false), DirEntry::new("sub", true)]
        );
        assert!(s.read("/d/nope").unwrap_err().not_found);
    }
}
