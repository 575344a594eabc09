//! The agents' eyes: [`HostPerceptor`] answers the [`Perceptor`] port with the fused,
//! change-driven perception of [`Deskhand::look`] (windows, accessibility, OCR text, pixel
//! segments), rendered for models as compact text and a Set-of-Marks image.

use std::time::Instant;

use base64::Engine as _;
use deskhand_core::{
    Frame, LayoutNode, LayoutTree, MarkedImage, NodeState, Observation, ObserveOptions, Perceptor,
    Point, PortError, Rect,
};
use deskhand_perception::capture::{encode_png_fast, main_frame};
use deskhand_perception::render::{compact_text, set_of_marks, MarkOptions};
use deskhand_perception::windows::WindowInfo;
use deskhand_perception::WindowLister;

use crate::look::LookOptions;
use crate::session::{Deskhand, HostError};

/// Perceives the desktop of one [`Deskhand`] for an agent run. Keep one per run: the
/// instance's perceiver caches make every look after the first read only what changed.
pub struct HostPerceptor<'a> {
    deskhand: &'a Deskhand,
    options: LookOptions,
    lister: Option<WindowLister>,
}

impl std::fmt::Debug for HostPerceptor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPerceptor")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> HostPerceptor<'a> {
    /// A perceptor with OCR and accessibility.
    pub fn new(deskhand: &'a Deskhand) -> Self {
        Self::with_options(deskhand, LookOptions::default())
    }

    /// A perceptor that looks as `options` say (e.g. without OCR).
    pub fn with_options(deskhand: &'a Deskhand, options: LookOptions) -> Self {
        Self {
            deskhand,
            options,
            lister: None,
        }
    }

    /// The active window as the display server knows it (its class names the app).
    fn active_window(&mut self) -> Result<Option<WindowInfo>, PortError> {
        if self.lister.is_none() {
            self.lister = Some(WindowLister::connect()?);
        }
        let Some(lister) = &self.lister else {
            return Ok(None);
        };
        Ok(lister
            .list()?
            .into_iter()
            .rev()
            .find(|w| w.focused && !w.minimized))
    }
}

impl Perceptor for HostPerceptor<'_> {
    fn observe(&mut self, options: &ObserveOptions) -> Result<Observation, PortError> {
        let t = Instant::now();
        let (perception, frames) = self.deskhand.look(self.options).map_err(port_error)?;
        let tree = perception.tree;
        let mut notes = perception.notes;
        let window = match self.active_window() {
            Ok(w) => w,
            Err(e) => {
                notes.push(format!("window list unavailable: {e}"));
                None
            }
        };
        let active = active_window_node(&tree);
        let app = window
            .as_ref()
            .map(|w| {
                if w.app.is_empty() {
                    w.instance.to_lowercase()
                } else {
                    w.app.to_lowercase()
                }
            })
            .filter(|a| !a.is_empty())
            .or_else(|| {
                active
                    .and_then(|n| n.description.as_deref())
                    .and_then(|d| d.strip_prefix("application "))
                    .map(str::to_lowercase)
            });
        let window_title = window
            .as_ref()
            .map(|w| w.title.clone())
            .or_else(|| active.map(|n| n.name.clone()))
            .filter(|t| !t.is_empty());
        let active_bounds = window
            .as_ref()
            .map(|w| w.bounds)
            .or(active.and_then(|n| n.bounds));
        let focus = focus_point(&tree, active_bounds);
        let compact = compact_text(&tree, options.budget_tokens, focus);
        let marks = if options.marks {
            let center = active_bounds.map(center_of);
            match frame_showing(&frames, center) {
                Some(frame) => Some(marked_image(frame, &tree, options.max_side)?),
                None => {
                    notes.push("no frame to draw the marks on".into());
                    None
                }
            }
        } else {
            None
        };
        Ok(Observation {
            tree,
            frames,
            compact,
            marks,
            app,
            window_title,
            unchanged: perception.unchanged,
            notes,
            ms: t.elapsed().as_millis() as u64,
        })
    }
}

/// Renders the Set-of-Marks image of `frame` as PNG base64, no longer than `max_side`.
pub fn marked_image(
    frame: &Frame,
    tree: &LayoutTree,
    max_side: u32,
) -> Result<MarkedImage, PortError> {
    let marked = set_of_marks(
        frame,
        tree,
        &MarkOptions {
            max_side: Some(max_side),
            only_visible: true,
            ..MarkOptions::default()
        },
    )
    .map_err(|e| PortError::failed(format!("Set-of-Marks image: {e}")))?;
    let png = encode_png_fast(&marked.image)?;
    Ok(MarkedImage {
        png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        width: marked.image.width,
        height: marked.image.height,
        space: marked.space,
    })
}

/// The window node the tree marks active, else the one holding the focus.
fn active_window_node(tree: &LayoutTree) -> Option<&LayoutNode> {
    tree.active_window()
        .or_else(|| tree.root.children.iter().find(|w| focused_in(w).is_some()))
}

/// The focused node at or below `node`, deepest first found.
fn focused_in(node: &LayoutNode) -> Option<&LayoutNode> {
    node.children
        .iter()
        .find_map(focused_in)
        .or_else(|| node.has(NodeState::Focused).then_some(node))
}

/// Where the user's attention is: the centre of the focused node of the active window, else
/// of the active window.
fn focus_point(tree: &LayoutTree, active_bounds: Option<Rect>) -> Option<Point> {
    active_window_node(tree)
        .and_then(focused_in)
        .and_then(|n| n.bounds)
        .filter(|b| !b.is_empty())
        .or(active_bounds)
        .map(center_of)
}

fn center_of(r: Rect) -> Point {
    Point::new(
        f64::from(r.x) + f64::from(r.width) / 2.0,
        f64::from(r.y) + f64::from(r.height) / 2.0,
    )
}

/// The frame of the monitor showing `point` (the active window's centre), else the main one.
fn frame_showing(frames: &[Frame], point: Option<Point>) -> Option<&Frame> {
    point
        .and_then(|p| frames.iter().find(|f| f.monitor.bounds.contains(p)))
        .or_else(|| main_frame(frames))
}

fn port_error(e: HostError) -> PortError {
    match e {
        HostError::Port(p) => p,
        other => PortError::failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Env, Overrides};

    /// Mousepad on a virtual desktop: the observation names the app and window, its compact
    /// text and Set-of-Marks image show mousepad's menus, and a second look keeps the ids.
    #[test]
    fn observes_mousepad_with_marks_and_compact_text() {
        let session = deskhand_testkit::start_mousepad().unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut env = Env::from_process();
        env.data = Some(data.path().to_path_buf());
        let config = Config::resolve(&env, &Overrides::default()).unwrap();
        let deskhand = Deskhand::open(config).unwrap();
        let mut perceptor = HostPerceptor::new(&deskhand);
        let options = ObserveOptions {
            budget_tokens: 800,
            marks: true,
            max_side: 1024,
        };
        let first = perceptor.observe(&options).unwrap();
        assert_eq!(first.app.as_deref(), Some("mousepad"), "{:?}", first.notes);
        assert!(
            first
                .window_title
                .as_deref()
                .is_some_and(|t| t.contains("Mousepad")),
            "{:?}",
            first.window_title
        );
        assert!(first.compact.contains("\"File\""), "{}", first.compact);
        assert!(
            deskhand_perception::render::estimate_tokens(&first.compact) <= 800,
            "{}",
            first.compact
        );
        let marks = first.marks.as_ref().unwrap();
        // 1280x800 shrunk to a longest side of 1024.
        assert_eq!((marks.width, marks.height), (1024, 640));
        let png = base64::engine::general_purpose::STANDARD
            .decode(&marks.png_base64)
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(
            std::env::temp_dir().join("deskhand-perceptor-marks.png"),
            &png,
        )
        .unwrap();
        // Every mark's id is a node of the tree: what the Operator picks can be resolved.
        let file = first
            .tree
            .walk()
            .into_iter()
            .find(|(_, n)| n.role == "menu" && n.name == "File")
            .map(|(_, n)| n.id.clone())
            .unwrap();
        assert!(
            first.compact.contains(&format!("{file} menu")),
            "{}",
            first.compact
        );
        assert!(!first.frames.is_empty());

        // Mousepad's blinking caret may change pixels between looks; ids stay stable anyway.
        let second = perceptor.observe(&options).unwrap();
        assert_eq!(
            second.tree.get(&file).map(|n| n.name.as_str()),
            Some("File")
        );
        drop(session);
    }
}
