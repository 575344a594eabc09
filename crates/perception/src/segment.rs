//! Classical pixel segmentation for what accessibility does not cover (icons, canvases, apps
//! without accessibility such as xterm): region proposals on an RGBA frame.
//!
//! Each window is cut into **panels** (the Tree-of-Lens global regions: title bar, menu bar,
//! toolbar, text area, dialog parts) by a recursive XY-cut on long straight edges (a change of
//! background colour, a separator or border line) and on wide uniform gaps. Inside each panel,
//! **controls** (local regions: buttons, icons, fields, words of text) are the connected
//! components of the pixels that differ from the panel's background, closed over small gaps,
//! merged when they overlap, filtered by size, and small ones grown into the free space around
//! them up to a click margin (a flat toolbar button is larger than its icon).
//!
//! Everything is integer arithmetic on a grey copy of the segmented area; the result depends
//! only on the pixels and the options.

use deskhand_core::{Frame, Point, Rect};

/// Whether a segment is a global region or a local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// A global region of a window: toolbar, menu bar, sidebar, text area, dialog part.
    Panel,
    /// A local region inside a panel: button, icon, field, word or line of text.
    Control,
}

/// One region proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// A hash of the kind and the box: the same box on the next frame gets the same value.
    pub id_hint: u64,
    /// Bounds in desktop coordinates.
    pub bounds: Rect,
    /// Panel or control.
    pub kind: SegmentKind,
    /// Index in [`Segmentation::segments`] of the panel holding this segment: always set for a
    /// control; for a panel, the enclosing panel when it was found nested inside one (a window
    /// found on a desktop segmented as a whole), `None` for a top-level panel of a window.
    pub parent: Option<usize>,
}

/// The segments of one frame: each panel is followed by its controls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segmentation {
    /// All segments; `parent` indexes into this list.
    pub segments: Vec<Segment>,
}

impl Segmentation {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// The panels with their indices.
    pub fn panels(&self) -> impl Iterator<Item = (usize, &Segment)> + '_ {
        self.of_kind(SegmentKind::Panel)
    }

    /// The controls with their indices.
    pub fn controls(&self) -> impl Iterator<Item = (usize, &Segment)> + '_ {
        self.of_kind(SegmentKind::Control)
    }

    fn of_kind(&self, kind: SegmentKind) -> impl Iterator<Item = (usize, &Segment)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.kind == kind)
    }

    /// The controls of the panel at index `panel`.
    pub fn controls_in(&self, panel: usize) -> impl Iterator<Item = (usize, &Segment)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.kind == SegmentKind::Control && s.parent == Some(panel))
    }

    /// The panels nested directly inside the panel at index `panel`.
    pub fn panels_in(&self, panel: usize) -> impl Iterator<Item = (usize, &Segment)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.kind == SegmentKind::Panel && s.parent == Some(panel))
    }

    /// The index of the smallest segment containing the desktop point (a control before the
    /// panel around it); the first one on equal areas.
    pub fn smallest_containing(&self, p: Point) -> Option<usize> {
        self.segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.bounds.contains(p))
            .min_by_key(|(i, s)| (s.bounds.area(), *i))
            .map(|(i, _)| i)
    }
}

/// Thresholds of the segmentation. Sizes are in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentOptions {
    /// A row or column whose grey values span at most this much is uniform (a gap).
    pub uniform_tolerance: u8,
    /// A grey step larger than this between neighbouring pixels is an edge.
    pub edge_threshold: u8,
    /// An edge cuts a region when one unbroken run of it covers at least this fraction of the
    /// region's span.
    pub edge_line_fraction: f32,
    /// A run of uniform rows (columns) at least this long between content cuts the region.
    pub min_gap: u32,
    /// Gaps cut a region only across a span at least this long (keeps bars such as toolbars and
    /// menu bars whole).
    pub min_gap_span: u32,
    /// Smallest panel width and height; thinner strips (borders, separator lines) are dropped.
    pub min_panel: u32,
    /// Deepest recursion of the XY-cut.
    pub max_depth: u32,
    /// A pixel differing from its panel's background by more than this (grey) is foreground.
    pub foreground_tolerance: u8,
    /// Foreground pixels closer than this horizontally are joined (letters into words).
    pub join_x: u32,
    /// Foreground pixels closer than this vertically are joined (dots onto letters).
    pub join_y: u32,
    /// Smallest control width and height.
    pub min_control: u32,
    /// Smallest control area.
    pub min_control_area: u64,
    /// Controls covering more than this fraction of their panel are dropped (panel frames).
    pub max_control_fraction: f32,
    /// Largest control height.
    pub max_control_height: u32,
    /// Controls no larger than this in both directions are grown by up to `click_margin` on each
    /// side, into the free space around them.
    pub grow_below: u32,
    /// The most a small control is grown on each side.
    pub click_margin: u32,
    /// Most controls kept per panel (the largest ones) so a noisy canvas cannot stall a step.
    pub max_controls_per_panel: usize,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            uniform_tolerance: 6,
            edge_threshold: 12,
            edge_line_fraction: 0.85,
            min_gap: 24,
            min_gap_span: 80,
            min_panel: 8,
            max_depth: 10,
            foreground_tolerance: 14,
            join_x: 4,
            join_y: 1,
            min_control: 3,
            min_control_area: 12,
            max_control_fraction: 0.5,
            max_control_height: 160,
            grow_below: 40,
            click_margin: 9,
            max_controls_per_panel: 4000,
        }
    }
}

/// A rectangle in image pixels of the grey buffer (always inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct R {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

impl R {
    fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }
    fn x1(&self) -> u32 {
        self.x + self.w
    }
    fn y1(&self) -> u32 {
        self.y + self.h
    }
    fn overlaps(&self, o: &R) -> bool {
        self.x < o.x1() && o.x < self.x1() && self.y < o.y1() && o.y < self.y1()
    }
    fn union(&self, o: &R) -> R {
        let x = self.x.min(o.x);
        let y = self.y.min(o.y);
        R {
            x,
            y,
            w: self.x1().max(o.x1()) - x,
            h: self.y1().max(o.y1()) - y,
        }
    }
}

/// A grey copy of one area of the frame.
struct Gray {
    /// Image position of the buffer's (0, 0).
    ox: u32,
    oy: u32,
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Gray {
    fn new(frame: &Frame, area: R) -> Option<Gray> {
        let stride = frame.width as usize * 4;
        let mut px = Vec::with_capacity(area.area() as usize);
        for y in area.y..area.y1() {
            let start = y as usize * stride + area.x as usize * 4;
            let row = frame.rgba.get(start..start + area.w as usize * 4)?;
            px.extend(row.chunks_exact(4).map(|p| {
                ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
            }));
        }
        Some(Gray {
            ox: area.x,
            oy: area.y,
            w: area.w,
            h: area.h,
            px,
        })
    }

    fn row(&self, r: &R, y: u32) -> &[u8] {
        let s = y as usize * self.w as usize + r.x as usize;
        &self.px[s..s + r.w as usize]
    }
}

/// Maps between desktop rectangles and image pixels of a frame.
struct Mapping {
    mx: i32,
    my: i32,
    scale: f64,
    width: u32,
    height: u32,
}

impl Mapping {
    fn new(frame: &Frame) -> Mapping {
        let scale = if frame.monitor.scale.is_finite() && frame.monitor.scale > 0.0 {
            frame.monitor.scale
        } else {
            1.0
        };
        Mapping {
            mx: frame.monitor.bounds.x,
            my: frame.monitor.bounds.y,
            scale,
            width: frame.width,
            height: frame.height,
        }
    }

    /// The image rectangle of a desktop rectangle, clipped to the frame.
    fn to_image(&self, r: &Rect) -> Option<R> {
        let x0 = ((f64::from(r.x) - f64::from(self.mx)) * self.scale).floor();
        let y0 = ((f64::from(r.y) - f64::from(self.my)) * self.scale).floor();
        let x1 = ((r.right() as f64 - f64::from(self.mx)) * self.scale).ceil();
        let y1 = ((r.bottom() as f64 - f64::from(self.my)) * self.scale).ceil();
        let x0 = x0.clamp(0.0, f64::from(self.width)) as u32;
        let y0 = y0.clamp(0.0, f64::from(self.height)) as u32;
        let x1 = x1.clamp(0.0, f64::from(self.width)) as u32;
        let y1 = y1.clamp(0.0, f64::from(self.height)) as u32;
        (x1 > x0 && y1 > y0).then_some(R {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        })
    }

    fn to_desktop(&self, r: &R) -> Rect {
        let x0 = (f64::from(r.x) / self.scale).floor();
        let y0 = (f64::from(r.y) / self.scale).floor();
        let x1 = (f64::from(r.x1()) / self.scale).ceil();
        let y1 = (f64::from(r.y1()) / self.scale).ceil();
        Rect::new(
            self.mx + x0 as i32,
            self.my + y0 as i32,
            (x1 - x0) as u32,
            (y1 - y0) as u32,
        )
    }
}

fn id_hint(kind: SegmentKind, b: &Rect) -> u64 {
    // FNV-1a over the kind and the box.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let tag = match kind {
        SegmentKind::Panel => 1u8,
        SegmentKind::Control => 2u8,
    };
    let bytes = [tag]
        .into_iter()
        .chain(b.x.to_le_bytes())
        .chain(b.y.to_le_bytes())
        .chain(b.width.to_le_bytes())
        .chain(b.height.to_le_bytes());
    for byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Segments every window (desktop rectangles in stacking order, bottom first, as
/// [`list_windows`](crate::list_windows) gives them; the whole monitor when the list is empty).
/// What a later window covers is not reported for the windows below it. Empty or tiny frames
/// give an empty segmentation.
pub fn segment(frame: &Frame, windows: &[Rect], options: &SegmentOptions) -> Segmentation {
    segment_areas(frame, windows, None, options)
}

/// Segments only inside `areas` (desktop rectangles, e.g. the changed rectangles of a frame
/// diff) of each window. Panels and controls are clipped to the areas: callers that want whole
/// panels pass areas grown to the panels they already know.
pub fn segment_in(
    frame: &Frame,
    windows: &[Rect],
    areas: &[Rect],
    options: &SegmentOptions,
) -> Segmentation {
    segment_areas(frame, windows, Some(areas), options)
}

fn segment_areas(
    frame: &Frame,
    windows: &[Rect],
    areas: Option<&[Rect]>,
    options: &SegmentOptions,
) -> Segmentation {
    let mut out = Segmentation::default();
    if frame.width == 0
        || frame.height == 0
        || frame.rgba.len() < frame.width as usize * frame.height as usize * 4
    {
        return out;
    }
    let map = Mapping::new(frame);
    let whole = [frame.monitor.bounds];
    let windows = if windows.is_empty() { &whole } else { windows };
    // Which window each segment came from.
    let mut owner: Vec<usize> = Vec::new();
    for (wi, window) in windows.iter().enumerate() {
        let Some(w) = map.to_image(window) else {
            continue;
        };
        let regions: Vec<R> = match areas {
            None => vec![w],
            Some(areas) => areas
                .iter()
                .filter_map(|a| map.to_image(a))
                .filter_map(|a| {
                    let r = Rect::new(a.x as i32, a.y as i32, a.w, a.h)
                        .intersection(&Rect::new(w.x as i32, w.y as i32, w.w, w.h))?;
                    Some(R {
                        x: r.x as u32,
                        y: r.y as u32,
                        w: r.width,
                        h: r.height,
                    })
                })
                .collect(),
        };
        for region in regions {
            segment_region(frame, region, &map, options, &mut out);
        }
        owner.resize(out.segments.len(), wi);
    }
    drop_covered(&mut out, &owner, windows);
    out
}

/// Drops what a later (higher) window covers: panels lying wholly inside it, controls whose
/// centre does, and everything inside a dropped panel.
fn drop_covered(out: &mut Segmentation, owner: &[usize], windows: &[Rect]) {
    let covered = |i: usize, s: &Segment| {
        windows.iter().skip(owner[i] + 1).any(|w| match s.kind {
            SegmentKind::Panel => s.bounds.intersection(w) == Some(s.bounds),
            SegmentKind::Control => w.contains(s.bounds.center()),
        })
    };
    let keep: Vec<bool> = out
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| !covered(i, s))
        .collect();
    if keep.iter().all(|k| *k) {
        return;
    }
    // Parents come before their children, so one forward pass renumbers them.
    let mut new_index: Vec<Option<usize>> = vec![None; out.segments.len()];
    let mut kept = Vec::with_capacity(out.segments.len());
    for (i, s) in std::mem::take(&mut out.segments).into_iter().enumerate() {
        let parent = match s.parent {
            Some(p) => match new_index.get(p).copied().flatten() {
                Some(np) => Some(np),
                None => continue,
            },
            None => None,
        };
        if keep[i] {
            new_index[i] = Some(kept.len());
            kept.push(Segment { parent, ..s });
        }
    }
    out.segments = kept;
}

fn segment_region(
    frame: &Frame,
    region: R,
    map: &Mapping,
    o: &SegmentOptions,
    out: &mut Segmentation,
) {
    if region.w < o.min_panel || region.h < o.min_panel {
        return;
    }
    let Some(gray) = Gray::new(frame, region) else {
        return;
    };
    let mut panels = Vec::new();
    let local = R {
        x: 0,
        y: 0,
        w: gray.w,
        h: gray.h,
    };
    xy_cut(&gray, local, 0, o, &mut panels);
    // (panel, enclosing panel's index in `out`, nesting level); blobs too large to be controls
    // (windows on a desktop segmented as a whole, a dialog drawn over its parent) are cut
    // again as panels nested in the panel that holds them.
    let mut work: Vec<(R, Option<usize>, u32)> = panels.into_iter().map(|p| (p, None, 0)).collect();
    let mut next = 0;
    while next < work.len() {
        let (p, parent, level) = work[next];
        next += 1;
        let global = R {
            x: p.x + gray.ox,
            y: p.y + gray.oy,
            ..p
        };
        let bounds = map.to_desktop(&global);
        let index = out.segments.len();
        out.segments.push(Segment {
            id_hint: id_hint(SegmentKind::Panel, &bounds),
            bounds,
            kind: SegmentKind::Panel,
            parent,
        });
        let (mut found, big) = controls(&gray, p, o);
        for b in big {
            let nested = level < 2
                && b.w >= 4 * o.min_panel
                && b.h >= 4 * o.min_panel
                && b.area() * 10 <= p.area() * 8;
            if !nested {
                continue;
            }
            found.retain(|c| !(c.x >= b.x && c.y >= b.y && c.x1() <= b.x1() && c.y1() <= b.y1()));
            let mut inner = Vec::new();
            xy_cut(&gray, b, 0, o, &mut inner);
            work.extend(inner.into_iter().map(|q| (q, Some(index), level + 1)));
        }
        for c in found {
            let global = R {
                x: c.x + gray.ox,
                y: c.y + gray.oy,
                ..c
            };
            let bounds = map.to_desktop(&global);
            out.segments.push(Segment {
                id_hint: id_hint(SegmentKind::Control, &bounds),
                bounds,
                kind: SegmentKind::Control,
                parent: Some(index),
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    /// Cuts between rows.
    Rows,
    /// Cuts between columns.
    Cols,
}

/// Positions (relative to the region start along the axis) where the region is cut.
fn cuts(g: &Gray, r: R, axis: Axis, o: &SegmentOptions) -> Vec<u32> {
    let (len, span) = match axis {
        Axis::Rows => (r.h, r.w),
        Axis::Cols => (r.w, r.h),
    };
    if len < 2 * o.min_panel {
        return Vec::new();
    }
    let t = o.edge_threshold;
    // Per line along the axis: min, max, and the longest unbroken edge run against the previous
    // line.
    let mut lo = vec![u8::MAX; len as usize];
    let mut hi = vec![0u8; len as usize];
    let mut best = vec![0u32; len as usize];
    match axis {
        Axis::Rows => {
            for y in 0..r.h {
                let row = g.row(&r, r.y + y);
                let (mut l, mut h) = (u8::MAX, 0u8);
                for &v in row {
                    l = l.min(v);
                    h = h.max(v);
                }
                lo[y as usize] = l;
                hi[y as usize] = h;
                if y > 0 {
                    let prev = g.row(&r, r.y + y - 1);
                    let (mut run, mut b) = (0u32, 0u32);
                    for (a, p) in row.iter().zip(prev) {
                        if a.abs_diff(*p) > t {
                            run += 1;
                            b = b.max(run);
                        } else {
                            run = 0;
                        }
                    }
                    best[y as usize] = b;
                }
            }
        }
        Axis::Cols => {
            let mut run = vec![0u32; r.w as usize];
            for y in 0..r.h {
                let row = g.row(&r, r.y + y);
                for x in 0..r.w as usize {
                    let v = row[x];
                    lo[x] = lo[x].min(v);
                    hi[x] = hi[x].max(v);
                    if x > 0 {
                        if v.abs_diff(row[x - 1]) > t {
                            run[x] += 1;
                            best[x] = best[x].max(run[x]);
                        } else {
                            run[x] = 0;
                        }
                    }
                }
            }
        }
    }
    let need = (o.edge_line_fraction * span as f32).ceil() as u32;
    let mut out: Vec<u32> = (1..len)
        .filter(|&i| best[i as usize] >= need.max(1))
        .collect();
    if span >= o.min_gap_span {
        // A gap cuts only between two blocks of content (not between content and an edge).
        let content = |i: usize| hi[i].saturating_sub(lo[i]) > o.uniform_tolerance;
        let mut edge = vec![false; len as usize];
        for &c in &out {
            edge[c as usize] = true;
        }
        let mut gaps = Vec::new();
        let mut i = 1usize;
        while i < len as usize {
            if !content(i) && content(i - 1) {
                let start = i;
                while i < len as usize && !content(i) && !edge[i] {
                    i += 1;
                }
                if i < len as usize && content(i) && !edge[i] && (i - start) as u32 >= o.min_gap {
                    gaps.push(((start + i) / 2) as u32);
                }
                if i == start {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        out.extend(gaps);
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn xy_cut(g: &Gray, r: R, depth: u32, o: &SegmentOptions, out: &mut Vec<R>) {
    if depth < o.max_depth {
        for axis in [Axis::Rows, Axis::Cols] {
            let cs = cuts(g, r, axis, o);
            if cs.is_empty() {
                continue;
            }
            let len = match axis {
                Axis::Rows => r.h,
                Axis::Cols => r.w,
            };
            let mut start = 0;
            for end in cs.into_iter().chain([len]) {
                if end - start >= o.min_panel {
                    let piece = match axis {
                        Axis::Rows => R {
                            y: r.y + start,
                            h: end - start,
                            ..r
                        },
                        Axis::Cols => R {
                            x: r.x + start,
                            w: end - start,
                            ..r
                        },
                    };
                    xy_cut(g, piece, depth + 1, o, out);
                }
                start = end;
            }
            return;
        }
    }
    if r.w >= o.min_panel && r.h >= o.min_panel {
        out.push(r);
    }
}

fn mode(hist: &[u32; 256]) -> u8 {
    let mut best = 0;
    for v in 1..256 {
        if hist[v] > hist[best] {
            best = v;
        }
    }
    best as u8
}

/// The most common grey value of the region, and whether it covers at least a third of it.
fn background(g: &Gray, r: R) -> (u8, bool) {
    let mut hist = [0u32; 256];
    for y in r.y..r.y1() {
        for &v in g.row(&r, y) {
            hist[v as usize] += 1;
        }
    }
    let m = mode(&hist);
    (m, u64::from(hist[m as usize]) * 3 >= r.area())
}

/// The most common grey value of each row (the background of a gradient such as a title bar).
fn row_backgrounds(g: &Gray, r: R) -> Vec<u8> {
    (r.y..r.y1())
        .map(|y| {
            let mut hist = [0u32; 256];
            for &v in g.row(&r, y) {
                hist[v as usize] += 1;
            }
            mode(&hist)
        })
        .collect()
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[parent[i as usize] as usize];
        parent[i as usize] = p;
        i = p;
    }
    i
}

/// Controls of one panel, in panel-buffer coordinates, sorted top to bottom, left to right.
/// Controls of one panel and the blobs too large to be controls, in buffer coordinates.
fn controls(g: &Gray, p: R, o: &SegmentOptions) -> (Vec<R>, Vec<R>) {
    let (bg, dominant) = background(g, p);
    let found = controls_on(g, p, &vec![bg; p.h as usize], o);
    if !found.0.is_empty() || dominant {
        return found;
    }
    // No dominant background and nothing found against the most common value: try each row's
    // own background (a vertical gradient).
    controls_on(g, p, &row_backgrounds(g, p), o)
}

/// Controls against the given background of each row, and the blobs too large to be controls.
fn controls_on(g: &Gray, p: R, bgs: &[u8], o: &SegmentOptions) -> (Vec<R>, Vec<R>) {
    let tol = o.foreground_tolerance;
    // Foreground runs per row, gaps up to join_x closed: (x0, x1 exclusive).
    let mut runs: Vec<(u32, u32)> = Vec::new();
    let mut row_start: Vec<usize> = Vec::with_capacity(p.h as usize + 1);
    for y in p.y..p.y1() {
        row_start.push(runs.len());
        let row = g.row(&p, y);
        let bg = bgs[(y - p.y) as usize];
        let mut x = 0usize;
        let n = row.len();
        while x < n {
            if row[x].abs_diff(bg) > tol {
                let s = x;
                let mut e = x + 1;
                let mut k = e;
                while k < n && k - e <= o.join_x as usize {
                    if row[k].abs_diff(bg) > tol {
                        e = k + 1;
                    }
                    k += 1;
                }
                runs.push((s as u32, e as u32));
                x = e;
            } else {
                x += 1;
            }
        }
    }
    row_start.push(runs.len());
    let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
    let reach = o.join_y as usize + 1;
    for y in 0..p.h as usize {
        for dy in 1..=reach {
            if y + dy >= p.h as usize {
                break;
            }
            let (a0, a1) = (row_start[y], row_start[y + 1]);
            let (b0, b1) = (row_start[y + dy], row_start[y + dy + 1]);
            let (mut i, mut j) = (a0, b0);
            while i < a1 && j < b1 {
                let (ra, rb) = (runs[i], runs[j]);
                // 8-connected overlap.
                if ra.0 <= rb.1 && rb.0 <= ra.1 {
                    let (fa, fb) = (find(&mut parent, i as u32), find(&mut parent, j as u32));
                    if fa != fb {
                        parent[fa.max(fb) as usize] = fa.min(fb);
                    }
                }
                if ra.1 < rb.1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        }
    }
    // Bounding boxes per component.
    let mut boxes: Vec<Option<R>> = vec![None; runs.len()];
    for y in 0..p.h as usize {
        let first = row_start[y];
        for (k, &(x0, x1)) in runs[first..row_start[y + 1]].iter().enumerate() {
            let root = find(&mut parent, (first + k) as u32) as usize;
            let b = R {
                x: x0,
                y: y as u32,
                w: x1 - x0,
                h: 1,
            };
            boxes[root] = Some(match boxes[root] {
                Some(a) => a.union(&b),
                None => b,
            });
        }
    }
    let max_area = (o.max_control_fraction as f64 * p.area() as f64) as u64;
    let small = |b: &R| b.area() <= max_area && b.h <= o.max_control_height;
    let (mut found, mut big): (Vec<R>, Vec<R>) = boxes.into_iter().flatten().partition(small);
    // Overlapping boxes merge (a label inside its button, parts of one icon), until stable.
    found.sort_by_key(|b| (b.y, b.x));
    let mut merged = true;
    while merged {
        merged = false;
        let mut i = 0;
        while i < found.len() {
            let mut j = i + 1;
            while j < found.len() {
                if found[i].overlaps(&found[j]) {
                    let u = found[i].union(&found[j]);
                    found[i] = u;
                    found.swap_remove(j);
                    merged = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
    }
    big.extend(found.iter().filter(|b| !small(b)));
    found.retain(|b| {
        b.w >= o.min_control && b.h >= o.min_control && b.area() >= o.min_control_area && small(b)
    });
    if found.len() > o.max_controls_per_panel {
        found.sort_by_key(|b| std::cmp::Reverse((b.area(), b.y, b.x)));
        found.truncate(o.max_controls_per_panel);
    }
    found.sort_by_key(|b| (b.y, b.x));
    grow_small(&mut found, p, o);
    let shift = |b: R| R {
        x: b.x + p.x,
        y: b.y + p.y,
        ..b
    };
    big.sort_by_key(|b| (b.y, b.x));
    (
        found.into_iter().map(shift).collect(),
        big.into_iter().map(shift).collect(),
    )
}

/// Grows controls no larger than `grow_below` by up to `click_margin` per side, stopping half
/// way to the nearest other control and at the panel's edge.
fn grow_small(found: &mut [R], p: R, o: &SegmentOptions) {
    let m = o.click_margin;
    if m == 0 {
        return;
    }
    let orig: Vec<R> = found.to_vec();
    for (i, b) in found.iter_mut().enumerate() {
        if b.w > o.grow_below || b.h > o.grow_below {
            continue;
        }
        let mut left = m.min(b.x);
        let mut up = m.min(b.y);
        let mut right = m.min(p.w - b.x1());
        let mut down = m.min(p.h - b.y1());
        let c = orig[i];
        for (j, n) in orig.iter().enumerate() {
            if j == i {
                continue;
            }
            let v_overlap = n.y < c.y1() + m && c.y < n.y1() + m;
            let h_overlap = n.x < c.x1() + m && c.x < n.x1() + m;
            if v_overlap && n.x1() <= c.x {
                left = left.min((c.x - n.x1()) / 2);
            }
            if v_overlap && n.x >= c.x1() {
                right = right.min((n.x - c.x1()) / 2);
            }
            if h_overlap && n.y1() <= c.y {
                up = up.min((c.y - n.y1()) / 2);
            }
            if h_overlap && n.y >= c.y1() {
                down = down.min((n.y - c.y1()) / 2);
            }
        }
        *b = R {
            x: c.x - left,
            y: c.y - up,
            w: c.w + left + right,
            h: c.h + up + down,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::Monitor;

    fn canvas(w: u32, h: u32, v: u8) -> Frame {
        Frame {
            monitor: Monitor {
                index: 0,
                name: "m".into(),
                bounds: Rect::new(100, 0, w, h),
                scale: 1.0,
                primary: false,
            },
            width: w,
            height: h,
            rgba: [v, v, v, 255].repeat((w * h) as usize),
        }
    }

    fn fill(f: &mut Frame, r: Rect, v: u8) {
        for y in r.y..r.bottom() as i32 {
            for x in r.x..r.right() as i32 {
                let i = ((y as u32 * f.width + x as u32) * 4) as usize;
                f.rgba[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
    }

    #[test]
    fn bars_and_boxes_are_found() {
        // A grey 300x200 window: a 30-px bar on top with two dark "icons", then a white area
        // with one black word.
        let mut f = canvas(300, 200, 220);
        fill(&mut f, Rect::new(0, 30, 300, 170), 255);
        fill(&mut f, Rect::new(10, 10, 12, 12), 40);
        fill(&mut f, Rect::new(40, 10, 12, 12), 40);
        fill(&mut f, Rect::new(20, 60, 50, 9), 0);
        let s = segment(&f, &[], &SegmentOptions::default());
        let panels: Vec<Rect> = s.panels().map(|(_, p)| p.bounds).collect();
        assert_eq!(
            panels,
            vec![Rect::new(100, 0, 300, 30), Rect::new(100, 30, 300, 170)]
        );
        let ids: Vec<usize> = s.panels().map(|(i, _)| i).collect();
        let bar: Vec<Rect> = s.controls_in(ids[0]).map(|(_, c)| c.bounds).collect();
        assert_eq!(bar.len(), 2, "{bar:?}");
        // Grown by the click margin, half way to the neighbour.
        assert_eq!(bar[0], Rect::new(101, 1, 12 + 9 + 9, 12 + 9 + 8));
        let area: Vec<Rect> = s.controls_in(ids[1]).map(|(_, c)| c.bounds).collect();
        assert_eq!(area, vec![Rect::new(120, 60, 50, 9)]);
        let at = s.smallest_containing(Point::new(130.0, 64.0)).unwrap();
        assert_eq!(s.segments[at].kind, SegmentKind::Control);
        // Only inside an area: the word alone.
        let part = segment_in(
            &f,
            &[],
            &[Rect::new(110, 40, 100, 40)],
            &SegmentOptions::default(),
        );
        assert_eq!(part.controls().count(), 1);
        assert_eq!(
            part,
            segment_in(&f, &[], &[Rect::new(110, 40, 100, 40)], &Default::default())
        );
    }

    #[test]
    fn windows_on_a_desktop_segmented_as_a_whole_become_nested_panels() {
        // A black 400x300 desktop with a grey 260x200 "window" (taller than any control)
        // holding a word.
        let mut f = canvas(400, 300, 0);
        fill(&mut f, Rect::new(50, 50, 260, 200), 220);
        fill(&mut f, Rect::new(70, 80, 50, 9), 20);
        let s = segment(&f, &[], &SegmentOptions::default());
        let screen = s.panels().next().unwrap().0;
        let inner: Vec<(usize, Rect)> = s.panels_in(screen).map(|(i, p)| (i, p.bounds)).collect();
        assert_eq!(inner.len(), 1, "{s:?}");
        assert_eq!(inner[0].1, Rect::new(150, 50, 260, 200));
        let words: Vec<Rect> = s.controls_in(inner[0].0).map(|(_, c)| c.bounds).collect();
        assert_eq!(words, vec![Rect::new(170, 80, 50, 9)]);
        assert_eq!(s.controls_in(screen).count(), 0);
    }

    #[test]
    fn scaled_monitors_map_boxes_back_to_desktop_coordinates() {
        // A monitor at desktop x=100 with scale 2: a 300x200 image of a 150x100 desktop area.
        let mut f = canvas(300, 200, 255);
        f.monitor.bounds = Rect::new(100, 0, 150, 100);
        f.monitor.scale = 2.0;
        fill(&mut f, Rect::new(40, 120, 100, 18), 0);
        let s = segment(
            &f,
            &[Rect::new(100, 0, 150, 100)],
            &SegmentOptions::default(),
        );
        let panels: Vec<Rect> = s.panels().map(|(_, p)| p.bounds).collect();
        assert_eq!(panels, vec![Rect::new(100, 0, 150, 100)]);
        let words: Vec<Rect> = s.controls().map(|(_, c)| c.bounds).collect();
        assert_eq!(words, vec![Rect::new(120, 60, 50, 9)]);
        // An area in desktop coordinates selects the same word.
        let part = segment_in(
            &f,
            &[],
            &[Rect::new(110, 50, 80, 30)],
            &SegmentOptions::default(),
        );
        let words: Vec<Rect> = part.controls().map(|(_, c)| c.bounds).collect();
        assert_eq!(words, vec![Rect::new(120, 60, 50, 9)]);
    }

    #[test]
    fn what_a_higher_window_covers_is_dropped() {
        let mut f = canvas(300, 200, 255);
        fill(&mut f, Rect::new(20, 20, 50, 9), 0);
        fill(&mut f, Rect::new(20, 120, 50, 9), 0);
        // Two "windows": the whole frame below, the lower half above it (its pixels are the
        // same frame; what matters is the stacking).
        let below = Rect::new(100, 0, 300, 200);
        let above = Rect::new(100, 100, 300, 100);
        let s = segment(&f, &[below, above], &SegmentOptions::default());
        let words: Vec<Rect> = s.controls().map(|(_, c)| c.bounds).collect();
        assert_eq!(
            words,
            vec![Rect::new(120, 20, 50, 9), Rect::new(120, 120, 50, 9)],
            "the lower word once, from the window above: {s:?}"
        );
        for (i, c) in s.controls() {
            let p = &s.segments[c.parent.unwrap()];
            assert!(p.bounds.intersection(&c.bounds) == Some(c.bounds), "{i}");
        }
    }

    #[test]
    fn empty_and_tiny_frames_give_nothing() {
        let o = SegmentOptions::default();
        assert!(segment(&canvas(0, 0, 0), &[], &o).is_empty());
        assert!(segment(&canvas(1, 1, 0), &[], &o).is_empty());
        let mut short = canvas(50, 50, 0);
        short.rgba.truncate(7);
        assert!(segment(&short, &[], &o).is_empty());
        assert!(segment(&canvas(50, 50, 0), &[Rect::new(-500, -500, 10, 10)], &o).is_empty());
    }
}
