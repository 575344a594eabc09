//! The grounding set on disk: one directory per (application, resolution), one PNG and one
//! JSON per screen state, and a manifest written last (a half-built set has none and is
//! built again).

use std::path::{Path, PathBuf};

use deskhand_core::{Frame, LayoutTree, Monitor, Rect};
use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// Version of the files written here; other versions are rebuilt.
const FORMAT: u32 = 1;

/// A screen size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Resolution {
    /// The two resolutions of the benchmark.
    pub const DEFAULTS: [Resolution; 2] = [
        Resolution {
            width: 1280,
            height: 800,
        },
        Resolution {
            width: 1920,
            height: 1080,
        },
    ];

    /// Parses `1280x800`.
    pub fn parse(s: &str) -> Result<Resolution, EvalError> {
        let bad = || EvalError::BadResolution(s.to_string());
        let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let width: u32 = w.parse().map_err(|_| bad())?;
        let height: u32 = h.parse().map_err(|_| bad())?;
        if !(320..=8192).contains(&width) || !(240..=8192).contains(&height) {
            return Err(bad());
        }
        Ok(Resolution { width, height })
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Whether an element's name is printed inside its box (ScreenSpot's text/icon split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    /// The name can be read in the element's box.
    Text,
    /// It cannot: an icon, or a widget whose name is not printed on it.
    Icon,
}

impl ElementKind {
    /// "text" or "icon".
    pub fn as_str(self) -> &'static str {
        match self {
            ElementKind::Text => "text",
            ElementKind::Icon => "icon",
        }
    }
}

/// One ground-truth element: what to find and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// The accessible name.
    pub name: String,
    /// The accessible role ("push button", "menu", ...).
    pub role: String,
    /// Its box in desktop (= screenshot) pixels.
    pub bounds: Rect,
    /// Text or icon.
    pub kind: ElementKind,
    /// What the OCR read in the box (why it is text or icon).
    #[serde(default)]
    pub read: String,
    /// The instruction given to grounders.
    pub instruction: String,
}

/// One captured screen state of one application: the screenshot, the accessibility tree of
/// the application at that moment, and the elements to find.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScreenState {
    /// File format version.
    pub format: u32,
    /// The application ("mousepad").
    pub app: String,
    /// The screen size.
    pub resolution: Resolution,
    /// The state ("main", "menu", "dialog-open", "dialog-about").
    pub state: String,
    /// The screenshot's file name, next to this JSON.
    pub screenshot: String,
    /// The application's accessibility tree when the screenshot was taken.
    pub tree: LayoutTree,
    /// The ground truth.
    pub elements: Vec<Element>,
}

/// What a (application, resolution) directory holds once complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    app: String,
    resolution: Resolution,
    /// Whether the dialog states were built.
    dialogs: bool,
    states: Vec<String>,
}

/// The directory of one application at one resolution.
pub(crate) fn app_dir(root: &Path, app: &str, resolution: Resolution) -> PathBuf {
    root.join(format!("{app}-{resolution}"))
}

const MANIFEST: &str = "manifest.json";

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, EvalError> {
    let bytes = std::fs::read(path).map_err(EvalError::io(path, "read"))?;
    serde_json::from_slice(&bytes).map_err(|e| EvalError::BadCache {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EvalError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| EvalError::BadCache {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    std::fs::write(path, bytes).map_err(EvalError::io(path, "write"))
}

/// Saves one state (PNG + JSON) into `dir`.
pub(crate) fn save_state(dir: &Path, state: &ScreenState, png: &[u8]) -> Result<(), EvalError> {
    std::fs::create_dir_all(dir).map_err(EvalError::io(dir, "create directory"))?;
    let png_path = dir.join(&state.screenshot);
    std::fs::write(&png_path, png).map_err(EvalError::io(&png_path, "write"))?;
    write_json(&dir.join(format!("{}.json", state.state)), state)
}

/// Marks a directory complete with the states it holds.
pub(crate) fn save_manifest(
    dir: &Path,
    app: &str,
    resolution: Resolution,
    dialogs: bool,
    states: &[ScreenState],
) -> Result<(), EvalError> {
    let manifest = Manifest {
        format: FORMAT,
        app: app.to_string(),
        resolution,
        dialogs,
        states: states.iter().map(|s| s.state.clone()).collect(),
    };
    write_json(&dir.join(MANIFEST), &manifest)
}

/// The states of a complete directory; `None` when it is missing, incomplete, of another
/// format or built with(out) the dialogs against `dialogs` (so it is built again).
pub(crate) fn load_states(
    dir: &Path,
    dialogs: bool,
) -> Result<Option<Vec<ScreenState>>, EvalError> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let manifest: Manifest = match read_json(&path) {
        Ok(m) => m,
        Err(EvalError::BadCache { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if manifest.format != FORMAT || manifest.dialogs != dialogs {
        return Ok(None);
    }
    manifest
        .states
        .iter()
        .map(|s| {
            let state: ScreenState = read_json(&dir.join(format!("{s}.json")))?;
            if state.format != FORMAT {
                return Err(EvalError::BadCache {
                    path: dir.join(format!("{s}.json")),
                    reason: format!("format {} instead of {FORMAT}", state.format),
                });
            }
            Ok(state)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

impl ScreenState {
    /// A new state record (format stamped).
    pub(crate) fn new(
        app: &str,
        resolution: Resolution,
        state: &str,
        tree: LayoutTree,
        elements: Vec<Element>,
    ) -> Self {
        Self {
            format: FORMAT,
            app: app.to_string(),
            resolution,
            state: state.to_string(),
            screenshot: format!("{state}.png"),
            tree,
            elements,
        }
    }

    /// Loads the screenshot saved next to this state in `dir` as a frame of a single monitor
    /// at the origin.
    pub fn load_frame(&self, dir: &Path) -> Result<Frame, EvalError> {
        let path = dir.join(&self.screenshot);
        let image = image::open(&path)
            .map_err(|e| EvalError::BadCache {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .to_rgba8();
        let (width, height) = image.dimensions();
        if (width, height) != (self.resolution.width, self.resolution.height) {
            return Err(EvalError::BadCache {
                path,
                reason: format!("{width}x{height} instead of {}", self.resolution),
            });
        }
        Ok(Frame {
            monitor: Monitor {
                index: 0,
                name: "screen".into(),
                bounds: Rect::new(0, 0, width, height),
                scale: 1.0,
                primary: true,
            },
            width,
            height,
            rgba: image.into_raw(),
        })
    }
}

/// The noun an instruction uses for a role.
pub(crate) fn noun(role: &str) -> &str {
    match role {
        "push button" | "button" | "toggle button" => "button",
        "check box" => "checkbox",
        "menu item" | "check menu item" | "radio menu item" => "menu item",
        "combo box" => "drop-down list",
        "text" | "entry" | "password text" => "text field",
        "spin button" => "spin box",
        "page tab" => "tab",
        "table cell" => "cell",
        "tree item" => "tree item",
        other => other,
    }
}

/// The ScreenSpot-style instruction for an element: `the 'Save' button`.
pub fn instruction_for(name: &str, role: &str) -> String {
    format!("the '{}' {}", name, noun(role))
}

/// Splits an instruction made by [`instruction_for`] into (name, noun).
pub fn parse_instruction(instruction: &str) -> Option<(&str, &str)> {
    let rest = instruction.strip_prefix("the '")?;
    let end = rest.rfind("' ")?;
    Some((&rest[..end], &rest[end + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_round_trip() {
        let i = instruction_for("Don't Save", "push button");
        assert_eq!(i, "the 'Don't Save' button");
        assert_eq!(parse_instruction(&i), Some(("Don't Save", "button")));
        assert_eq!(instruction_for("File", "menu"), "the 'File' menu");
        assert_eq!(instruction_for("Name", "text"), "the 'Name' text field");
        assert_eq!(parse_instruction("click Save"), None);
    }

    #[test]
    fn resolutions_parse() {
        assert_eq!(
            Resolution::parse("1280x800").ok(),
            Some(Resolution::DEFAULTS[0])
        );
        assert!(Resolution::parse("1280").is_err());
        assert!(Resolution::parse("0x0").is_err());
        assert_eq!(Resolution::DEFAULTS[1].to_string(), "1920x1080");
    }
}
