//! Secrets the agent may type without ever seeing them.
//!
//! Prompts, logs, events and the database only ever hold `{{secret:NAME}}` placeholders;
//! [`SecretStore::resolve`] swaps in the values at typing time, and [`SecretStore::redact`]
//! turns any value that leaks back (an OCR'd field, an echoed command) into its placeholder.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the secret store could not be opened or a text could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file exists but cannot be read.
    #[error("cannot read secret store {}: {source}", .path.display())]
    Read {
        /// The secrets file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Other users could read the file; it is not loaded until its mode is fixed.
    #[error(
        "secret store {} is readable by other users (mode {mode:04o}); run `chmod 600 {}`",
        .path.display(),
        .path.display()
    )]
    TooOpen {
        /// The secrets file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not `name = "value"` lines. The message never quotes the file's content.
    #[error("secret store {}, line {line}: {message}", .path.display())]
    Parse {
        /// The secrets file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong, without any value.
        message: String,
    },
    /// A placeholder names a secret the store does not have.
    #[error("unknown secret {name:?}: add `{name} = \"...\"` to the secret store")]
    Unknown {
        /// The missing name.
        name: String,
    },
    /// Text contains `{{secret:` without a valid name and closing `}}`.
    #[error(
        "malformed secret placeholder at character {position}: write {{{{secret:NAME}}}} \
         with NAME made of letters, digits, '_', '.' and '-'"
    )]
    Malformed {
        /// 0-based character position of the `{{secret:` that is not closed properly.
        position: usize,
    },
}

/// Named secret values, held in memory only. `Debug` lists names, never values.
#[derive(Clone, Default)]
pub struct SecretStore {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SecretStore {
    /// Reads a TOML file of `name = "value"` lines. A missing file is an empty store; a file
    /// that group or others may read is refused.
    pub fn open(path: &Path) -> Result<SecretStore, SecretError> {
        let read_error = |source| SecretError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(read_error(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SecretError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<SecretStore, SecretError> {
        let parse_error = |offset: usize, message: String| SecretError::Parse {
            path: path.to_path_buf(),
            line: text[..offset.min(text.len())].matches('\n').count() + 1,
            message,
        };
        // toml's own messages can quote the offending value ("invalid type: integer `1234`"),
        // so only its position is passed on.
        let table: BTreeMap<String, toml::Spanned<toml::Value>> =
            toml::from_str(text).map_err(|e| {
                parse_error(
                    e.span().map_or(0, |s| s.start),
                    "not valid TOML; expected lines of the form name = \"value\"".into(),
                )
            })?;
        let mut values = BTreeMap::new();
        for (name, value) in table {
            let offset = value.span().start;
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(parse_error(
                    offset,
                    format!(
                        "secret name {name:?} may only contain letters, digits, '_', '.' and '-'"
                    ),
                ));
            }
            match value.into_inner() {
                toml::Value::String(v) if !v.is_empty() => {
                    values.insert(name, v);
                }
                toml::Value::String(_) => {
                    return Err(parse_error(offset, format!("secret {name:?} is empty")))
                }
                _ => {
                    return Err(parse_error(
                        offset,
                        format!("secret {name:?} must be a quoted string"),
                    ))
                }
            }
        }
        Ok(SecretStore { values })
    }

    /// A store holding the given pairs, for tests and callers that own their storage.
    pub fn from_pairs<I, K, V>(pairs: I) -> SecretStore
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let values = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        SecretStore { values }
    }

    /// The names the store holds, so a prompt can tell the model which placeholders exist.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Replaces every `{{secret:NAME}}` with its value. Call it only right before typing.
    pub fn resolve(&self, text: &str) -> Result<String, SecretError> {
        let mut out = String::with_capacity(text.len());
        for piece in scan(text) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Secret(name) => match self.values.get(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(SecretError::Unknown {
                            name: name.to_string(),
                        })
                    }
                },
                Piece::Broken { at } => {
                    return Err(SecretError::Malformed {
                        position: text[..at].chars().count(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Replaces every secret value found in `text` with its placeholder. Longer values win
    /// over values they contain, and the text is scanned once so placeholders are never
    /// rewritten.
    pub fn redact(&self, text: &str) -> String {
        let mut by_length: Vec<(&str, &str)> = self
            .values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if by_length.is_empty() {
            return text.to_string();
        }
        by_length.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            for (name, value) in &by_length {
                if let Some(after) = rest.strip_prefix(value) {
                    out.push_str(OPEN);
                    out.push_str(name);
                    out.push_str(CLOSE);
                    rest = after;
                    continue 'scan;
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
        out
    }

    /// The secret names `text` refers to, in order of first use.
    pub fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for piece in scan(text) {
            if let Piece::Secret(name) = piece {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names
    }
}

/// True when `text` holds at least one placeholder and nothing else but whitespace.
pub(crate) fn only_placeholders(text: &str) -> bool {
    let pieces = scan(text);
    pieces.iter().any(|p| matches!(p, Piece::Secret(_)))
        && pieces.iter().all(|p| match p {
            Piece::Secret(_) => true,
            Piece::Text(t) => t.trim().is_empty(),
            Piece::Broken { .. } => false,
        })
}

const OPEN: &str = "{{secret:";
const CLOSE: &str = "}}";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

enum Piece<'t> {
    Text(&'t str),
    Secret(&'t str),
    /// A `{{secret:` at this byte offset that is not a valid placeholder.
    Broken {
        at: usize,
    },
}

fn scan(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + OPEN.len()..];
        let name_len = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        match after[name_len..].strip_prefix(CLOSE) {
            Some(tail) if name_len > 0 => {
                pieces.push(Piece::Secret(&after[..name_len]));
                rest = tail;
            }
            _ => {
                pieces.push(Piece::Broken {
                    at: text.len() - rest.len() + start,
                });
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}
