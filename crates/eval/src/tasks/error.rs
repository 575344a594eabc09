//! What can go wrong loading, setting up, evaluating or checking a task.

use std::path::PathBuf;

use deskhand_xsession::SessionError;

/// An error of the task harness. Messages name the task, and for a bad task file the step
/// and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A task or solution file that does not parse.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde names the field and line).
        message: String,
    },
    /// A set-up step that is malformed or names an unknown type.
    #[error("task {task}: config[{step}] ({kind}): {field}: {message}")]
    Setup {
        /// The task id.
        task: String,
        /// Index of the step in `config`.
        step: usize,
        /// The step's type.
        kind: String,
        /// The field at fault ("type", "parameters.path", ...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A set-up step that was well formed but failed in the desktop.
    #[error("task {task}: config[{step}] ({kind}) failed: {message}")]
    SetupFailed {
        /// The task id.
        task: String,
        /// Index of the step in `config`.
        step: usize,
        /// The step's type.
        kind: String,
        /// What happened.
        message: String,
    },
    /// A field of the task outside `config` that is malformed: the evaluator (unknown metric
    /// or getter, missing rule, ...) or the snapshot.
    #[error("task {task}: {field}: {message}")]
    Field {
        /// The task id.
        task: String,
        /// The field at fault ("evaluator.func[1]", "evaluator.result[0].type", ...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A solution file that does not fit its task.
    #[error("solution of {task}: {message}")]
    Solution {
        /// The task id.
        task: String,
        /// What is wrong.
        message: String,
    },
    /// The virtual desktop failed.
    #[error("virtual desktop: {0}")]
    Session(#[from] SessionError),
    /// Reading a file or directory failed.
    #[error("{} ({context}): {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Running a solution (the `deskhand` binary) failed to start.
    #[error("running {program}: {source}")]
    Runner {
        /// The program.
        program: String,
        /// The error.
        source: std::io::Error,
    },
}

impl TaskError {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        context: &'static str,
    ) -> impl FnOnce(std::io::Error) -> TaskError {
        let path = path.into();
        move |source| TaskError::Io {
            path,
            context,
            source,
        }
    }
}
