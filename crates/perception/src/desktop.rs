//! The agents' eyes on a desktop: [`DesktopPerceptor`] answers the [`Perceptor`] port with a
//! fused, change-driven [`Perception`] (windows, accessibility, OCR text, pixel segments) and
//! renders it for models as compact text and a Set-of-Marks image, naming the active app and
//! window from the display server.

use std::time::Instant;

use base64::Engine as _;
use deskhand_core::{
    Frame, LayoutNode, LayoutTree, MarkedImage, Observation, ObserveOptions, Perceptor, Point,
    PortError, Rect,
};

use crate::capture::{encode_png_fast, main_frame};
use crate::perceiver::Perception;
use crate::render::{compact_text, set_of_marks, MarkOptions};
use crate::windows::{WindowInfo, WindowLister};

/// One look at the desktop: the fused perception and the frames it was read from.
pub type Look<'a> = Box<dyn FnMut() -> Result<(Perception, Vec<Frame>), PortError> + Send + 'a>;

/// Perceives a desktop for an agent run through `look` (which owns the perceiver and its
/// caches, so every look after the first reads only what changed). Keep one per run.
pub struct DesktopPerceptor<'a> {
    look: Look<'a>,
    lister: Option<WindowLister>,
}

impl std::fmt::Debug for DesktopPerceptor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopPerceptor").finish_non_exhaustive()
    }
}

impl<'a> DesktopPerceptor<'a> {
    /// A perceptor that looks through `look`; the window list comes from the X server of
    /// `DISPLAY`, connected on the first observation.
    pub fn new(look: Look<'a>) -> Self {
        Self { look, lister: None }
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

impl Perceptor for DesktopPerceptor<'_> {
    fn observe(&mut self, options: &ObserveOptions) -> Result<Observation, PortError> {
        let t = Instant::now();
        let (perception, frames) = (self.look)()?;
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
        let focus = tree
            .focused()
            .and_then(|n| n.bounds)
            .filter(|b| !b.is_empty())
            .or(active_bounds)
            .map(center_of);
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
    tree.active_window().or_else(|| {
        let focused = tree.focused()?;
        tree.root
            .children
            .iter()
            .find(|w| w.find(&focused.id).is_some())
    })
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
