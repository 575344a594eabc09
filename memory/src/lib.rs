//! Deskhand's memory in one SQLite file (WAL, versioned migrations): runs, their steps and
//! model calls, what agents learn across runs (tips and shortcuts, searched with FTS5), and
//! the user's own memory (sources and chunks, searched by keywords and meaning together).
//! Each step and call is committed before the next one starts, so a process killed mid-run
//! leaves a consistent file whose open run is marked interrupted next time.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod chunk;
mod experience;
mod guidelines;
mod migrations;
mod profile;
mod recall;
mod runs;
mod user;

pub use experience::{
    normalize_tip, validate_shortcut, ExperienceExport, ImportReport, EXPORT_VERSION,
    LESSON_SIMILARITY, TIP_SIMILARITY,
};
pub use profile::{ChunkExport, ChunkText, PersonalExport, ReadingReport, SourceExport};
pub use recall::{Hit, SearchOptions, Why, RECALL_SIMILARITY};
pub use runs::SqliteMemory;
pub use user::{read_text, AddReport, Source};

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer Deskhand.
    #[error("database {path} has schema version {found}, newer than this Deskhand ({supported}); upgrade Deskhand or use another --data-dir")]
    TooNew {
        /// The database file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        supported: i64,
    },
}
