//! Renderings of the layout tree for models and people: the Set-of-Marks screenshot
//! (numbered boxes matching node ids), the compact text form of the tree for prompts, and the
//! two Tree-of-Lens lens images for a point.
//!
//! Every input box and point is in desktop coordinates; the renderers map them into image
//! pixels through the frame's monitor (offset and size), so multi-monitor and HiDPI frames
//! and downscaled images are handled in one place ([`desktop_rect_to_image`]).

mod canvas;
mod compact;
pub mod font;
mod lens;

use deskhand_core::geometry::{desktop_to_screenshot, to_desktop, GeometryError};
use deskhand_core::visible::visible_point;
use deskhand_core::{CoordSpace, Frame, LayoutTree, NodeId, Point, Rect, Size};

pub use canvas::Rgba;
use canvas::{ink_for, text_height, Canvas};
pub use compact::{compact_text, estimate_tokens, STATE_LEGEND};
pub use lens::{lens_global, lens_local, Lens, LENS_BOX_COLOR, POINT_COLOR};

/// Why a rendering could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// The frame's pixel buffer does not match its size, or the frame is empty.
    #[error("frame {width}x{height} has {len} bytes of pixels, expected {expected}")]
    BadFrame {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Bytes present.
        len: usize,
        /// Bytes a frame of this size needs (`width * height * 4`, at least one pixel).
        expected: usize,
    },
    /// The region to show lies entirely outside the frame's monitor.
    #[error("region {region:?} lies outside the captured monitor {monitor:?}")]
    OutsideFrame {
        /// The region, in desktop coordinates.
        region: Rect,
        /// The monitor's bounds, in desktop coordinates.
        monitor: Rect,
    },
}

/// Colours cycled through the marks: saturated and dark enough for white label text, and
/// far apart in hue so neighbouring boxes are told apart.
pub const MARK_PALETTE: [Rgba; 8] = [
    [220, 20, 60, 255],
    [0, 90, 220, 255],
    [0, 140, 60, 255],
    [210, 95, 0, 255],
    [170, 0, 160, 255],
    [100, 50, 200, 255],
    [0, 125, 135, 255],
    [140, 75, 10, 255],
];

/// How a Set-of-Marks image is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkOptions {
    /// Shrink the image so its longer side is at most this many pixels (for models with an
    /// input size limit; at most 256 times smaller); `None` keeps the frame's size. Boxes and
    /// labels are drawn after shrinking, so they stay crisp.
    pub max_side: Option<u32>,
    /// Outline thickness in image pixels.
    pub line_width: u32,
    /// Label font scale: each 5x7 font cell is this many pixels square.
    pub label_scale: u32,
    /// Skip nodes that nothing can reach: hidden behind another window or an open menu, or
    /// scrolled out of view (as [`deskhand_core::visible::visible_point`] decides).
    pub only_visible: bool,
}

impl Default for MarkOptions {
    fn default() -> Self {
        Self {
            max_side: None,
            line_width: 2,
            label_scale: 2,
            only_visible: true,
        }
    }
}

/// One drawn mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The node the mark stands for; its label shows this id.
    pub id: NodeId,
    /// The node's bounds in desktop coordinates.
    pub bounds: Rect,
    /// The outline drawn, in image pixels (the node's box clipped to the image).
    pub rect: Rect,
    /// The label's filled box, in image pixels.
    pub label: Rect,
    /// The outline and label colour.
    pub color: Rgba,
}

/// A Set-of-Marks image and what was drawn on it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkedFrame {
    /// The image; `monitor` is the frame's monitor, with `scale` set to image pixels per
    /// desktop pixel when the image was shrunk.
    pub image: Frame,
    /// The marks in tree order.
    pub marks: Vec<Mark>,
    /// The coordinate space of the image's pixels: a point picked on the image maps back to
    /// the desktop exactly with [`deskhand_core::geometry::to_desktop`] in this space.
    pub space: CoordSpace,
}

impl MarkedFrame {
    /// The desktop point under an image pixel position.
    pub fn to_desktop(&self, p: Point) -> Result<Point, GeometryError> {
        to_desktop(p, self.space, std::slice::from_ref(&self.image.monitor))
    }
}

/// Checks that a frame is non-empty and its buffer matches its size.
pub(crate) fn check_frame(frame: &Frame) -> Result<(), RenderError> {
    let expected = frame.width as usize * frame.height as usize * 4;
    if expected == 0 || frame.rgba.len() != expected {
        return Err(RenderError::BadFrame {
            width: frame.width,
            height: frame.height,
            len: frame.rgba.len(),
            expected: expected.max(4),
        });
    }
    Ok(())
}

/// Maps a desktop point into the pixels of an image of `frame`'s monitor (the frame itself
/// or a resized copy of it).
pub fn desktop_point_to_image(p: Point, frame: &Frame) -> Point {
    desktop_to_screenshot(
        p,
        &frame.monitor,
        Size {
            width: frame.width,
            height: frame.height,
        },
    )
}

/// Maps a desktop rectangle into the pixels of an image of `frame`'s monitor, clipped to the
/// image; `None` when no pixel of it is on the image.
pub fn desktop_rect_to_image(r: Rect, frame: &Frame) -> Option<Rect> {
    let a = desktop_point_to_image(Point::new(f64::from(r.x), f64::from(r.y)), frame);
    let b = desktop_point_to_image(Point::new(r.right() as f64, r.bottom() as f64), frame);
    let (x0, y0) = (a.x.round() as i64, a.y.round() as i64);
    let (x1, y1) = (b.x.round() as i64, b.y.round() as i64);
    let (x0c, y0c) = (x0.max(0), y0.max(0));
    let (x1c, y1c) = (
        x1.min(i64::from(frame.width)),
        y1.min(i64::from(frame.height)),
    );
    if x1c <= x0c || y1c <= y0c {
        return None;
    }
    Some(Rect::new(
        x0c as i32,
        y0c as i32,
        (x1c - x0c) as u32,
        (y1c - y0c) as u32,
    ))
}

/// Draws a labelled box on `frame` for every interactive, on-screen node of `tree` whose box
/// shows on the frame's monitor (and, with [`MarkOptions::only_visible`], that is not hidden
/// behind other windows or menus). Labels are the node ids in the mark's colour, placed where
/// they stay on the image and overlap earlier labels least (above the box, inside its top
/// left corner, left of it, below it, ...).
pub fn set_of_marks(
    frame: &Frame,
    tree: &LayoutTree,
    opts: &MarkOptions,
) -> Result<MarkedFrame, RenderError> {
    check_frame(frame)?;
    let mut image = match opts.max_side {
        Some(side) if frame.width.max(frame.height) > side.max(1) => {
            let long = frame.width.max(frame.height);
            let side = side.max(long.div_ceil(canvas::MAX_SHRINK));
            let w = (u64::from(frame.width) * u64::from(side)).div_ceil(u64::from(long)) as u32;
            let h = (u64::from(frame.height) * u64::from(side)).div_ceil(u64::from(long)) as u32;
            canvas::downscale(frame, w.min(side), h.min(side))
        }
        _ => frame.clone(),
    };
    let space = CoordSpace::Screenshot {
        monitor: image.monitor.index,
        width: image.width,
        height: image.height,
    };

    let mut marks: Vec<Mark> = Vec::new();
    for (_, node) in tree.walk() {
        if !(node.is_interactive() && node.is_on_screen()) {
            continue;
        }
        let Some(bounds) = node.bounds else { continue };
        let Some(rect) = desktop_rect_to_image(bounds, &image) else {
            continue;
        };
        if opts.only_visible && visible_point(tree, &node.id).is_err() {
            continue;
        }
        marks.push(Mark {
            id: node.id.clone(),
            bounds,
            rect,
            label: Rect::new(0, 0, 0, 0),
            color: MARK_PALETTE[marks.len() % MARK_PALETTE.len()],
        });
    }

    let scale = opts.label_scale.max(1);
    let (img_w, img_h) = (image.width, image.height);
    let boxes: Vec<Rect> = marks.iter().map(|m| m.rect).collect();
    let zones: Vec<Rect> = boxes.iter().map(|r| content_zone(*r)).collect();
    let mut placed: Vec<Rect> = Vec::with_capacity(marks.len());
    for mark in &mut marks {
        let w = font::text_width(&mark.id.0, scale) + 2 * scale;
        let h = text_height(scale) + 2 * scale;
        mark.label = place_label(mark.rect, (w, h), (img_w, img_h), &placed, &boxes, &zones);
        placed.push(mark.label);
    }

    let mut canvas = Canvas::new(&mut image);
    for mark in &marks {
        canvas.stroke(mark.rect, opts.line_width, mark.color);
    }
    // Labels last, so no outline crosses a label.
    for mark in &marks {
        canvas.fill(mark.label, mark.color);
        canvas.text(
            mark.label.x + scale as i32,
            mark.label.y + scale as i32,
            &mark.id.0,
            scale,
            ink_for(mark.color),
        );
    }
    Ok(MarkedFrame {
        image,
        marks,
        space,
    })
}

/// The middle of a box (half its width and height), where a control's text or icon sits.
fn content_zone(r: Rect) -> Rect {
    Rect::new(
        r.x + (r.width / 4) as i32,
        r.y + (r.height / 4) as i32,
        r.width / 2,
        r.height / 2,
    )
}

/// Picks a label box of `size` for a mark at `rect`: the first candidate position, moved
/// onto the image, with the least cost. Per pixel covered, an earlier label costs 8, the
/// middle of a marked box 3 (where a button's text sits) and the rest of a marked box 1
/// (left-aligned text, as in menu items), own box included; free space costs nothing.
fn place_label(
    rect: Rect,
    (w, h): (u32, u32),
    (img_w, img_h): (u32, u32),
    placed: &[Rect],
    boxes: &[Rect],
    zones: &[Rect],
) -> Rect {
    let (x, y) = (i64::from(rect.x), i64::from(rect.y));
    let (wi, hi) = (i64::from(w), i64::from(h));
    let candidates = [
        (x, y - hi),                        // above, left-aligned
        (x, y),                             // inside the top-left corner
        (x - wi, y),                        // left of the box
        (x, rect.bottom()),                 // below, left-aligned
        (rect.right() - wi, y - hi),        // above, right-aligned
        (rect.right(), y),                  // right of the box
        (rect.right() - wi, rect.bottom()), // below, right-aligned
    ];
    let mut best = Rect::new(0, 0, w, h);
    let mut best_cost = u64::MAX;
    for (cx, cy) in candidates {
        let cx = cx.clamp(0, (i64::from(img_w) - wi).max(0));
        let cy = cy.clamp(0, (i64::from(img_h) - hi).max(0));
        let r = Rect::new(cx as i32, cy as i32, w, h);
        let overlap = |boxes: &[Rect]| -> u64 {
            boxes
                .iter()
                .filter_map(|b| b.intersection(&r))
                .map(|o| o.area())
                .sum()
        };
        let cost = 8 * overlap(placed) + 3 * overlap(zones) + overlap(boxes);
        if cost < best_cost {
            best = r;
            best_cost = cost;
            if cost == 0 {
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::layout::{LayoutNode, NodeSource, NodeState};
    use deskhand_core::Monitor;

    fn frame(x: i32, w: u32, h: u32, scale: f64) -> Frame {
        let pw = (f64::from(w) * scale) as u32;
        let ph = (f64::from(h) * scale) as u32;
        Frame {
            monitor: Monitor {
                index: 1,
                name: "right".into(),
                bounds: Rect::new(x, 0, w, h),
                scale,
                primary: false,
            },
            width: pw,
            height: ph,
            rgba: vec![200; pw as usize * ph as usize * 4],
        }
    }

    fn button(id: &str, b: Rect) -> LayoutNode {
        LayoutNode {
            bounds: Some(b),
            states: vec![NodeState::Showing, NodeState::Visible],
            ..LayoutNode::new(id, "push button", NodeSource::Accessibility)
        }
    }

    fn tree(children: Vec<LayoutNode>) -> LayoutTree {
        LayoutTree {
            root: LayoutNode {
                children,
                ..LayoutNode::new("screen", "screen", NodeSource::Display)
            },
        }
    }

    #[test]
    fn boxes_map_through_monitor_offset_and_scale_and_skip_other_monitors() {
        // A HiDPI monitor right of a 1000-pixel one: desktop x 1100 is image x 200.
        let f = frame(1000, 400, 300, 2.0);
        let t = tree(vec![
            button("a1", Rect::new(1100, 50, 40, 20)),
            button("a2", Rect::new(10, 10, 40, 20)), // on the other monitor
            LayoutNode {
                bounds: Some(Rect::new(1200, 50, 40, 20)),
                ..LayoutNode::new("a3", "push button", NodeSource::Accessibility)
            }, // not showing
        ]);
        let m = set_of_marks(&f, &t, &MarkOptions::default()).unwrap();
        assert_eq!(m.marks.len(), 1);
        assert_eq!(m.marks[0].rect, Rect::new(200, 100, 80, 40));
        assert_eq!(m.image.pixel(200, 120), Some(MARK_PALETTE[0]));
        assert_eq!(m.image.pixel(240, 120), Some([200; 4]));
        let back = m.to_desktop(Point::new(200.0, 100.0)).unwrap();
        assert_eq!(back, Point::new(1100.0, 50.0));
    }

    #[test]
    fn controls_hidden_behind_the_active_window_get_no_mark_unless_asked() {
        let f = frame(0, 400, 300, 1.0);
        let window = |id: &str, b: Rect, active: bool, kids| LayoutNode {
            bounds: Some(b),
            states: if active {
                vec![NodeState::Showing, NodeState::Active]
            } else {
                vec![NodeState::Showing]
            },
            children: kids,
            ..LayoutNode::new(id, "frame", NodeSource::Accessibility)
        };
        let t = tree(vec![
            window(
                "w1",
                Rect::new(0, 0, 200, 200),
                false,
                vec![
                    button("a1", Rect::new(10, 10, 40, 20)),
                    button("a2", Rect::new(150, 150, 40, 20)),
                ],
            ),
            window(
                "w2",
                Rect::new(0, 0, 100, 100),
                true,
                vec![button("a3", Rect::new(60, 60, 30, 20))],
            ),
        ]);
        let ids = |opts: &MarkOptions| -> Vec<String> {
            let m = set_of_marks(&f, &t, opts).unwrap();
            m.marks.into_iter().map(|m| m.id.0).collect()
        };
        assert_eq!(ids(&MarkOptions::default()), ["a2", "a3"]);
        let all = MarkOptions {
            only_visible: false,
            ..Default::default()
        };
        assert_eq!(ids(&all), ["a1", "a2", "a3"]);
    }

    #[test]
    fn downscaled_marks_map_back_exactly() {
        let f = frame(0, 1920, 1080, 1.0);
        let t = tree(vec![button("a1", Rect::new(960, 540, 96, 54))]);
        let opts = MarkOptions {
            max_side: Some(1280),
            ..Default::default()
        };
        let m = set_of_marks(&f, &t, &opts).unwrap();
        assert_eq!((m.image.width, m.image.height), (1280, 720));
        assert_eq!(m.marks[0].rect, Rect::new(640, 360, 64, 36));
        let centre = m.marks[0].rect.center();
        assert_eq!(m.to_desktop(centre).unwrap(), Point::new(1008.0, 567.0));
        // The grey stays grey after averaging.
        assert_eq!(m.image.pixel(10, 700), Some([200; 4]));
    }

    #[test]
    fn shrinking_averages_pixels_and_is_bounded() {
        // A black and white checkerboard halves to mid grey.
        let mut f = frame(0, 64, 32, 1.0);
        for (i, px) in f.rgba.chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % 64, i / 64);
            let v = if (x + y) % 2 == 0 { 0 } else { 255 };
            px.copy_from_slice(&[v, v, v, 255]);
        }
        let opts = |side| MarkOptions {
            max_side: Some(side),
            ..Default::default()
        };
        let m = set_of_marks(&f, &tree(vec![]), &opts(32)).unwrap();
        assert_eq!((m.image.width, m.image.height), (32, 16));
        assert!(m
            .image
            .rgba
            .chunks_exact(4)
            .all(|p| p == [128, 128, 128, 255]));
        let wide = frame(0, 1920, 1080, 1.0);
        let tiny = set_of_marks(&wide, &tree(vec![]), &opts(1)).unwrap();
        assert_eq!((tiny.image.width, tiny.image.height), (8, 5));
        assert_eq!(tiny.image.pixel(7, 4), Some([200; 4]));
    }

    #[test]
    fn labels_stay_on_the_image_and_avoid_each_other() {
        let f = frame(0, 200, 100, 1.0);
        // Boxes in the top-left corner and at the right edge: labels cannot go above them.
        let t = tree(vec![
            button("a1", Rect::new(0, 0, 30, 30)),
            button("a2", Rect::new(0, 0, 30, 30)),
            button("a3", Rect::new(190, 90, 10, 10)),
        ]);
        let m = set_of_marks(&f, &t, &MarkOptions::default()).unwrap();
        let img = Rect::new(0, 0, 200, 100);
        for mark in &m.marks {
            assert!(img.contains_rect(&mark.label), "{:?}", mark.label);
        }
        assert!(m.marks[0].label.intersection(&m.marks[1].label).is_none());
        assert_ne!(m.marks[0].color, m.marks[1].color);
    }

    #[test]
    fn bad_frames_are_errors() {
        let mut f = frame(0, 10, 10, 1.0);
        f.rgba.pop();
        let err = set_of_marks(&f, &tree(vec![]), &MarkOptions::default()).unwrap_err();
        assert!(
            matches!(err, RenderError::BadFrame { len: 399, .. }),
            "{err}"
        );
        let empty = Frame {
            width: 0,
            height: 0,
            rgba: vec![],
            ..frame(0, 1, 1, 1.0)
        };
        assert!(set_of_marks(&empty, &tree(vec![]), &MarkOptions::default()).is_err());
    }
}
