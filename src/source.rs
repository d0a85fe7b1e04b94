//! Opening inputs: files, directories (walked recursively, in name order)
//! and standard input; memory-mapped or read.
//!
//! # The mmap contract
//! Mapping a file is a typed choice ([`MmapChoice`]). A mapped file that
//! another process truncates while we read it can make the process fault
//! (SIGBUS); logs being rotated in place should be scanned with
//! `--mmap never`. `auto` maps regular files of at least
//! [`MMAP_MIN_BYTES`] and reads everything else, and both paths yield
//! identical reports.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

/// Below this size `auto` reads instead of mapping: setting up a mapping
/// costs more than one `read` of a small file.
pub const MMAP_MIN_BYTES: u64 = 1 << 20;

/// Whether to memory-map regular files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MmapChoice {
    /// Map regular files of at least [`MMAP_MIN_BYTES`].
    #[default]
    Auto,
    /// Map every regular, non-empty file.
    Always,
    /// Never map; read everything.
    Never,
}

/// One input to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// The name used in reports: the path, or `-`.
    pub fn label(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

/// An opened input.
pub enum Opened {
    /// The whole file, mapped.
    Mapped(Mmap),
    /// A stream read in blocks.
    Stream(Box<dyn Read + Send>),
}

/// Expands arguments into inputs: `-` is standard input, a directory
/// yields its regular files recursively in name order. Unreadable
/// directories and missing paths come back as `(label, error)` pairs so the
/// run can go on with the rest.
pub fn expand(args: &[PathBuf]) -> (Vec<Input>, Vec<(String, io::Error)>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(arg) {
            Ok(meta) if meta.is_dir() => walk(arg, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::File(arg.clone())),
            Err(e) => errors.push((arg.display().to_string(), e)),
        }
    }
    (inputs, errors)
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<(String, io::Error)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return errors.push((dir.display().to_string(), e)),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, inputs, errors),
            Ok(meta) if meta.is_file() => inputs.push(Input::File(path)),
            Ok(_) => log::trace!("{}: skipped, not a regular file", path.display()),
            Err(e) => errors.push((path.display().to_string(), e)),
        }
    }
}

/// Opens an input, mapping it when `choice` says so.
pub fn open(input: &Input, choice: MmapChoice) -> io::Result<Opened> {
    let path = match input {
        Input::Stdin => return Ok(Opened::Stream(Box::new(io::stdin()))),
        Input::File(path) => path,
    };
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let map = match choice {
        MmapChoice::Never => false,
        MmapChoice::Always => meta.is_file() && meta.len() > 0,
        MmapChoice::Auto => meta.is_file() && meta.len() >= MMAP_MIN_BYTES,
    };
    if map {
        // SAFETY: the mapping is read-only (shared with the page cache,
        // never written through). Its contents can
        // change only if another process writes or truncates the file while
        // we scan it: the module docs state this contract and `--mmap never`
        // avoids it.
        match unsafe { Mmap::map(&file) } {
            Ok(mapped) => {
                log::trace!("{}: memory-mapped", path.display());
                return Ok(Opened::Mapped(mapped));
            }
            Err(e) => log::debug!("{}: cannot map ({e}), reading instead", path.display()),
        }
    }
    log::trace!("{}: read in blocks", path.display());
    Ok(Opened::Stream(Box::new(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_directories_in_order_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.log"), "x").unwrap();
        std::fs::write(dir.path().join("a.log"), "x").unwrap();
        std::fs::write(dir.path().join("sub/c.log"), "x").unwrap();
        let missing = dir.path().join("nope.log");
        let (inputs, errors) = expand(&[
            dir.path().to_path_buf(),
            missing.clone(),
            PathBuf::from("-"),
        ]);
        let names: Vec<String> = inputs.iter().map(Input::label).collect();
        assert_eq!(names.len(), 4);
        assert!(names[0].ends_with("a.log") && names[1].ends_with("b.log"));
        assert!(names[2].ends_with("c.log"));
        assert_eq!(inputs[3], Input::Stdin);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, missing.display().to_string());
    }

    #[test]
    fn empty_files_are_read_not_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.log");
        std::fs::write(&path, "").unwrap();
        let opened = open(&Input::File(path), MmapChoice::Always).unwrap();
        assert!(matches!(opened, Opened::Stream(_)));
    }
}
