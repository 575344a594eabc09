//! Deskhand's pure vocabulary: geometry, actions, the layout tree, the front-end protocol,
//! typed errors and the port traits that adapters implement. No I/O lives here.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod action;
pub mod cell;
pub mod command;
pub mod diff;
pub mod error;
pub mod experience;
pub mod form;
pub mod geometry;
pub mod graph;
pub mod grounding;
pub mod input;
pub mod layout;
pub mod ports;
pub mod profile;
pub mod protocol;
pub mod role;
pub mod task;
pub mod visible;

pub use action::{Action, MouseButton, ScrollAmount, Target};
pub use error::{ActionError, PortError, PortErrorKind};
pub use experience::{
    Experience, MarkedImage, ModelCallRecord, Observation, ObserveOptions, Perceptor, Shortcut,
    ShortcutParam, Tip,
};
pub use geometry::{CoordSpace, Frame, Monitor, Point, Rect, Size};
pub use input::{InputEvent, Key, KeyChord};
pub use layout::{LayoutNode, LayoutTree, NodeId, NodeSource, NodeState, WordBox};
pub use protocol::{Event, Op};
pub use role::Role;
