//! Change-driven perception: one call turns the desktop into the fused Tree-of-Lens layout
//! tree, re-reading text and re-segmenting only where the pixels changed.
//!
//! Per monitor the perceiver keeps the last frame's tile signature, its text lines and its
//! segments. On the next frame:
//! - nothing changed, same windows, same accessibility tree: the last tree is returned as it
//!   is (`unchanged`);
//! - some tiles changed: cached lines and segments that touch a changed rectangle are
//!   dropped, the changed rectangles (grown to the lines they cut) are read and segmented
//!   again, and everything is fused anew (ids stay stable through the [`Fuser`]);
//! - first frame, a new size or monitor: everything is read.
//!
//! The accessibility tree is read on its own thread while the pixels are analysed. Text
//! lines are found meanwhile but read only once the tree is there: a line inside a named,
//! visible accessible node would only repeat its name (fusion drops it), so it is kept as an
//! unread box and read later only if accessibility stops naming it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use deskhand_core::ports::{Accessibility, Ocr, TextLine, TreeQuery, TreeScope};
use deskhand_core::{Frame, LayoutTree, PortError, PortErrorKind, Rect};
use serde::{Deserialize, Serialize};

use crate::diff::{Change, FrameDiff};
use crate::fusion::{
    named_by_accessibility, Fuser, FusionInput, Proposal, ProposalKind, WindowBox,
};
use crate::segment::{segment, segment_in, SegmentKind, SegmentOptions};

/// What perception uses and how.
#[derive(Debug, Clone)]
pub struct PerceiverOptions {
    /// Read the accessibility tree.
    pub accessibility: bool,
    /// Which applications' trees to read, with limits.
    pub tree_query: TreeQuery,
    /// Read text with OCR (needs an engine).
    pub ocr: bool,
    /// Segment pixels.
    pub segmentation: bool,
    /// Segmentation thresholds.
    pub segment: SegmentOptions,
    /// Tile size of the frame diff, in pixels.
    pub tile: u32,
    /// Pixels added around a changed rectangle before it is read again.
    pub margin: u32,
    /// Read lone glyphs the text detector misses: a small control (a calculator key) with
    /// no text line in it but one small blot of ink ("." "-") has that ink recognised as a
    /// line of its own (default true; needs OCR and segmentation).
    pub lone_glyphs: bool,
}

impl Default for PerceiverOptions {
    fn default() -> Self {
        Self {
            accessibility: true,
            tree_query: TreeQuery::new(TreeScope::AllApps),
            ocr: true,
            segmentation: true,
            segment: SegmentOptions::default(),
            tile: 32,
            margin: 6,
            lone_glyphs: true,
        }
    }
}

/// Milliseconds spent in each stage of one perception.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Frame capture (0 when the frame was given).
    pub capture_ms: f64,
    /// Window list.
    pub windows_ms: f64,
    /// Accessibility tree read (runs in parallel with the pixel stages).
    pub accessibility_ms: f64,
    /// Frame diff.
    pub diff_ms: f64,
    /// OCR of the changed areas.
    pub ocr_ms: f64,
    /// Segmentation of the changed areas.
    pub segment_ms: f64,
    /// Fusion.
    pub fuse_ms: f64,
    /// Wall time of the whole call.
    pub total_ms: f64,
}

/// The result of one perception.
#[derive(Debug, Clone, Serialize)]
pub struct Perception {
    /// The fused layout tree.
    pub tree: LayoutTree,
    /// True when nothing changed since the last call and the tree is the cached one.
    pub unchanged: bool,
    /// Rectangles (desktop coordinates) whose pixels changed since the last call.
    pub changed: Vec<Rect>,
    /// Text lines known on screen (cached and new).
    pub text_lines: usize,
    /// Text lines recognised in this call.
    pub text_lines_read: usize,
    /// Text lines found but left unread because accessibility names them.
    pub text_lines_named: usize,
    /// Segments known on screen.
    pub segments: usize,
    /// What perception could not do and fell back from ("accessibility unavailable: ...").
    pub notes: Vec<String>,
    /// Time per stage.
    pub timings: Timings,
}

/// Cached pixel analysis of one monitor.
#[derive(Debug, Default, Serialize, Deserialize)]
struct MonitorState {
    diff: FrameDiff,
    lines: Vec<TextLine>,
    /// Line boxes found but not read: accessibility named them when they were found.
    unread: Vec<Found>,
    segments: Vec<Proposal>,
}

/// The line boxes one detection found, and which of them are still unread. Kept whole: a
/// line is cropped among the lines found with it, so read later it reads as it would have.
#[derive(Debug, Serialize, Deserialize)]
struct Found {
    boxes: Vec<Rect>,
    unread: Vec<bool>,
}

impl Found {
    fn unread_boxes(&self) -> impl Iterator<Item = Rect> + '_ {
        self.boxes
            .iter()
            .zip(&self.unread)
            .filter(|(_, u)| **u)
            .map(|(b, _)| *b)
    }
}

/// What the last call saw, to answer "unchanged" cheaply.
#[derive(Debug, Serialize, Deserialize)]
struct Last {
    windows: Vec<WindowBox>,
    accessibility: Option<LayoutTree>,
    tree: LayoutTree,
}

/// Perceives frames incrementally. Keep one per session: its caches and id book make the
/// second call cheap and the ids stable.
pub struct Perceiver {
    options: PerceiverOptions,
    ocr: Option<Arc<dyn Ocr>>,
    fuser: Fuser,
    monitors: HashMap<usize, MonitorState>,
    last: Option<Last>,
}

impl std::fmt::Debug for Perceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Perceiver")
            .field("options", &self.options)
            .field("ocr", &self.ocr.is_some())
            .finish_non_exhaustive()
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Grows a rectangle by `m` pixels on every side, clipped to `bounds`.
fn grow(r: Rect, m: u32, bounds: &Rect) -> Option<Rect> {
    let m = i64::from(m);
    let x0 = i64::from(r.x) - m;
    let y0 = i64::from(r.y) - m;
    let x1 = r.right() + m;
    let y1 = r.bottom() + m;
    let g = Rect::new(
        x0 as i32,
        y0 as i32,
        (x1 - x0).max(0) as u32,
        (y1 - y0).max(0) as u32,
    );
    g.intersection(bounds)
}

/// Grows each changed rectangle to cover the cached text lines and controls it cuts, so a
/// changed word is read again as part of its whole line.
fn areas_to_read(change: &Change, lines: &[Rect], margin: u32, screen: &Rect) -> Vec<Rect> {
    let mut areas: Vec<Rect> = change
        .rects
        .iter()
        .filter_map(|r| {
            let mut a = *r;
            for l in lines {
                if l.intersection(r).is_some() {
                    a = a.union(l);
                }
            }
            grow(a, margin, screen)
        })
        .collect();
    // Merge overlapping areas so nothing is read twice.
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..areas.len() {
            for j in (i + 1)..areas.len() {
                if areas[i].intersection(&areas[j]).is_some() {
                    let u = areas[i].union(&areas[j]);
                    areas[i] = u;
                    areas.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    areas
}

/// Recognised glyphs below this mean confidence are not kept.
const GLYPH_CONFIDENCE: f32 = 0.5;

/// Reads the lone glyph of each small control that holds no text line: the detector misses
/// a lone "." or "-" (too small for its probability map), but on a calculator key it is the
/// whole label. The glyph's ink is cropped with a line's height and half of it as margin on
/// each side, and kept when read with confidence as a short text.
fn read_lone_glyphs(
    ocr: &dyn Ocr,
    frame: &Frame,
    controls: &[Rect],
    lines: &[Rect],
) -> Result<Vec<TextLine>, PortError> {
    let mut heights: Vec<u32> = lines.iter().map(|l| l.height).collect();
    heights.sort_unstable();
    let line_height = heights.get(heights.len() / 2).copied().unwrap_or(18);
    let regions: Vec<Rect> = controls
        .iter()
        .filter(|c| !lines.iter().any(|l| l.intersection(c).is_some()))
        .filter_map(|c| glyph_region(frame, c, line_height))
        .collect();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ocr
        .recognize(frame, &regions)?
        .into_iter()
        .filter(|l| {
            let n = l.text.trim().chars().count();
            l.confidence >= GLYPH_CONFIDENCE && (1..=3).contains(&n) && l.text.trim() == l.text
        })
        .collect())
}

/// The line-like box around the one small blot of ink inside a button-sized control (a
/// line's height about the control's middle row, half of it as margin each side), or `None`
/// (no ink, ink at the control's edge, more than a glyph's worth, or off the middle row).
fn glyph_region(frame: &Frame, control: &Rect, line_height: u32) -> Option<Rect> {
    const INSET: u32 = 3;
    if control.width > 200 || control.height > 80 || control.width < 12 || control.height < 12 {
        return None;
    }
    let inner = Rect::new(
        control.x + INSET as i32,
        control.y + INSET as i32,
        control.width - 2 * INSET,
        control.height - 2 * INSET,
    );
    let crop = frame.crop_desktop(inner)?;
    let (w, h) = (crop.width as usize, crop.height as usize);
    if w < 4 || h < 4 {
        return None;
    }
    let luma: Vec<i32> = crop
        .rgba
        .chunks_exact(4)
        .map(|p| (i32::from(p[0]) * 299 + i32::from(p[1]) * 587 + i32::from(p[2]) * 114) / 1000)
        .collect();
    let mut histogram = [0u32; 256];
    for &v in &luma {
        histogram[v.clamp(0, 255) as usize] += 1;
    }
    let background = (0..256).max_by_key(|&v| histogram[v]).unwrap_or(0) as i32;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
    for (i, &v) in luma.iter().enumerate() {
        if (v - background).abs() > 40 {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    if x0 == usize::MAX || x0 == 0 || y0 == 0 || x1 + 1 >= w || y1 + 1 >= h {
        return None;
    }
    let scale = if frame.monitor.scale > 0.0 {
        frame.monitor.scale
    } else {
        1.0
    };
    let to_desktop = |v: usize| (v as f64 / scale).round() as i32;
    let (ink_w, ink_h) = (to_desktop(x1 + 1 - x0), to_desktop(y1 + 1 - y0));
    let height = i64::from(line_height).max(i64::from(ink_h) + 4) as i32;
    if ink_w > height * 3 / 2 || ink_h > height {
        return None;
    }
    // Centred on the control's middle row, as its label's line box is: a "." centred in
    // the crop itself would read as a middle dot.
    let cx = inner.x + to_desktop(x0) + ink_w / 2;
    let cy = inner.y + inner.height as i32 / 2;
    if to_desktop(y0) + inner.y < cy - height / 2 || to_desktop(y1 + 1) + inner.y > cy + height / 2
    {
        return None;
    }
    let width = ink_w + height;
    Rect::new(cx - width / 2, cy - height / 2, width as u32, height as u32).intersection(&inner)
}

/// Version of the saved form of a perceiver; a file of another version is not restored.
const MEMO_VERSION: u32 = 1;

/// What a perceiver knows, saved between processes: its id book always, its caches for the
/// options they were made with.
#[derive(Serialize)]
struct MemoRef<'a> {
    version: u32,
    made_with: (bool, bool, u32),
    fuser: &'a Fuser,
    monitors: Vec<(&'a usize, &'a MonitorState)>,
    last: &'a Option<Last>,
}

#[derive(Deserialize)]
struct Memo {
    version: u32,
    made_with: (bool, bool, u32),
    fuser: Fuser,
    monitors: Vec<(usize, MonitorState)>,
    last: Option<Last>,
}

/// How a saved perceiver was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// Ids and caches: an unchanged screen is answered without reading anything.
    Everything,
    /// Only the ids: the caches were made with other options (e.g. without OCR).
    IdsOnly,
}

/// Accessibility read with its time, or the reason it is missing.
type TreeRead = (Result<Option<LayoutTree>, PortError>, f64);

impl Perceiver {
    /// A perceiver with the options and, when given, an OCR engine that can find text
    /// (`Ocr::read_text`).
    pub fn new(options: PerceiverOptions, ocr: Option<Arc<dyn Ocr>>) -> Self {
        Self {
            options,
            ocr,
            fuser: Fuser::new(),
            monitors: HashMap::new(),
            last: None,
        }
    }

    /// The options.
    pub fn options(&self) -> &PerceiverOptions {
        &self.options
    }

    /// The text lines known on screen after the last call (read or kept), every monitor.
    pub fn text_lines(&self) -> Vec<TextLine> {
        let mut monitors: Vec<_> = self.monitors.iter().collect();
        monitors.sort_by_key(|(index, _)| **index);
        monitors
            .into_iter()
            .flat_map(|(_, s)| s.lines.iter().cloned())
            .collect()
    }

    /// The perceiver's ids and caches as bytes, for [`Perceiver::restore`] in a later
    /// process: an id printed by one `deskhand look` then means the same element in the next
    /// `deskhand do`, and the screen is read again only where it changed in between.
    pub fn save(&self) -> Result<Vec<u8>, PortError> {
        let mut monitors: Vec<_> = self.monitors.iter().collect();
        monitors.sort_by_key(|(i, _)| **i);
        serde_json::to_vec(&MemoRef {
            version: MEMO_VERSION,
            made_with: self.made_with(),
            fuser: &self.fuser,
            monitors,
            last: &self.last,
        })
        .map_err(|e| PortError::failed(format!("save the perceiver: {e}")))
    }

    /// Takes back what [`Perceiver::save`] wrote. Ids always come back; the caches only when
    /// they were made with the same options. Bytes of another version or damaged bytes are an
    /// `Invalid` error and change nothing.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<Restored, PortError> {
        let memo: Memo = serde_json::from_slice(bytes)
            .map_err(|e| PortError::invalid(format!("saved perceiver is damaged: {e}")))?;
        if memo.version != MEMO_VERSION {
            return Err(PortError::invalid(format!(
                "saved perceiver has version {}, this build reads {MEMO_VERSION}",
                memo.version
            )));
        }
        self.fuser = memo.fuser;
        if memo.made_with != self.made_with() {
            self.reset();
            return Ok(Restored::IdsOnly);
        }
        self.monitors = memo.monitors.into_iter().collect();
        self.last = memo.last;
        Ok(Restored::Everything)
    }

    fn made_with(&self) -> (bool, bool, u32) {
        let o = &self.options;
        (o.ocr && self.ocr.is_some(), o.accessibility, o.tile)
    }

    /// Forgets every cache (the next call reads everything); ids stay stable.
    pub fn reset(&mut self) {
        self.monitors.clear();
        self.last = None;
    }

    /// Perceives the live desktop: captures every monitor, lists windows, reads the
    /// accessibility tree on its own thread while the pixels are analysed, and fuses.
    pub fn perceive(
        &mut self,
        screen: &dyn deskhand_core::ports::Screen,
        windows: &dyn Fn() -> Result<Vec<WindowBox>, PortError>,
        accessibility: Option<&dyn Accessibility>,
    ) -> Result<(Perception, Vec<Frame>), PortError> {
        let start = Instant::now();
        let t = Instant::now();
        let frames = screen.capture_all()?;
        let capture_ms = ms(t);
        let t = Instant::now();
        let wins = windows()?;
        let windows_ms = ms(t);
        let query = self.options.tree_query.clone();
        let want_tree = self.options.accessibility;
        let mut perception = std::thread::scope(|scope| {
            let reader = accessibility.filter(|_| want_tree).map(|a11y| {
                scope.spawn(move || {
                    let t = Instant::now();
                    let tree = a11y.tree(&query).map(Some);
                    (tree, ms(t))
                })
            });
            let mut pixels = self.analyse_pixels(&frames, &wins);
            let tree: TreeRead = match reader {
                Some(handle) => handle.join().unwrap_or_else(|_| {
                    (
                        Err(PortError::new(
                            PortErrorKind::Failed,
                            "the accessibility reader thread panicked",
                        )),
                        0.0,
                    )
                }),
                None => (Ok(None), 0.0),
            };
            let known = tree.0.as_ref().ok().and_then(Option::as_ref);
            self.read_found_text(&frames, &wins, known, &mut pixels);
            self.finish(&frames, wins, pixels, tree)
        });
        perception.timings.capture_ms = capture_ms;
        perception.timings.windows_ms = windows_ms;
        perception.timings.total_ms = ms(start);
        Ok((perception, frames))
    }

    /// Perceives given frames with a given window list and accessibility tree (`None`: no
    /// accessibility, vision only). Used by tests, benches and callers that captured already.
    pub fn perceive_frames(
        &mut self,
        frames: &[Frame],
        windows: &[WindowBox],
        accessibility: Option<LayoutTree>,
    ) -> Perception {
        let start = Instant::now();
        let mut pixels = self.analyse_pixels(frames, windows);
        self.read_found_text(frames, windows, accessibility.as_ref(), &mut pixels);
        let mut p = self.finish(frames, windows.to_vec(), pixels, (Ok(accessibility), 0.0));
        p.timings.total_ms = ms(start);
        p
    }

    fn analyse_pixels(&mut self, frames: &[Frame], windows: &[WindowBox]) -> PixelPass {
        let mut pass = PixelPass::default();
        let window_rects: Vec<Rect> = windows.iter().map(|w| w.bounds).collect();
        for frame in frames {
            let screen = frame.monitor.bounds;
            let state = self.monitors.entry(frame.monitor.index).or_default();
            if state.diff.tile() != self.options.tile {
                state.diff = FrameDiff::new(self.options.tile);
            }
            let t = Instant::now();
            let change = state.diff.update(frame);
            pass.timings.diff_ms += ms(t);
            if change.unchanged {
                continue;
            }
            pass.all_unchanged = false;
            pass.changed.extend(change.rects.iter().copied());
            let areas = if change.everything {
                state.lines.clear();
                state.unread.clear();
                state.segments.clear();
                Vec::new()
            } else {
                let known: Vec<Rect> = state
                    .lines
                    .iter()
                    .map(|l| l.bounds)
                    .chain(state.unread.iter().flat_map(Found::unread_boxes))
                    .collect();
                let areas = areas_to_read(&change, &known, self.options.margin, &screen);
                state
                    .lines
                    .retain(|l| !areas.iter().any(|a| a.intersection(&l.bounds).is_some()));
                for found in &mut state.unread {
                    for (b, u) in found.boxes.iter().zip(found.unread.iter_mut()) {
                        *u = *u && !areas.iter().any(|a| a.intersection(b).is_some());
                    }
                }
                state.unread.retain(|f| f.unread.contains(&true));
                state
                    .segments
                    .retain(|s| !areas.iter().any(|a| a.intersection(&s.bounds).is_some()));
                areas
            };
            if self.options.ocr {
                if let Some(ocr) = &self.ocr {
                    let t = Instant::now();
                    // Found now, read once the accessibility tree says which lines it names.
                    let found = if self.options.accessibility {
                        match ocr.find_text(frame, &areas) {
                            Ok(found) => Some(found),
                            Err(e) if e.kind == PortErrorKind::Unavailable => None,
                            Err(e) => {
                                pass.notes.push(format!("text not read: {e}"));
                                Some(Vec::new())
                            }
                        }
                    } else {
                        None
                    };
                    match found {
                        Some(found) => pass.found.push((frame.monitor.index, found)),
                        None => match ocr.read_text(frame, &areas) {
                            Ok(lines) => {
                                pass.lines_read += lines.len();
                                state.lines.extend(lines);
                            }
                            Err(e) => pass.notes.push(format!("text not read: {e}")),
                        },
                    }
                    pass.timings.ocr_ms += ms(t);
                }
            }
            if self.options.segmentation {
                let t = Instant::now();
                let seg = if change.everything {
                    segment(frame, &window_rects, &self.options.segment)
                } else {
                    segment_in(frame, &window_rects, &areas, &self.options.segment)
                };
                if self.options.lone_glyphs && self.options.ocr && self.ocr.is_some() {
                    // Read with the text lines, which must be known first.
                    let controls: Vec<Rect> = seg
                        .segments
                        .iter()
                        .filter(|s| s.kind == SegmentKind::Control)
                        .map(|s| s.bounds)
                        .collect();
                    pass.controls.push((frame.monitor.index, controls));
                }
                state.segments.extend(seg.segments.iter().map(|s| Proposal {
                    bounds: s.bounds,
                    kind: match s.kind {
                        SegmentKind::Panel => ProposalKind::Panel,
                        SegmentKind::Control => ProposalKind::Control,
                    },
                }));
                pass.timings.segment_ms += ms(t);
            }
        }
        if self.options.ocr && self.ocr.is_none() {
            pass.notes
                .push("no OCR engine: text on screen is read from accessibility only".into());
        }
        pass
    }

    /// Reads the text lines found in this call and those left unread before, except the
    /// ones the accessibility tree (when there is one) names, then the lone glyphs of the
    /// controls segmented in this call.
    fn read_found_text(
        &mut self,
        frames: &[Frame],
        windows: &[WindowBox],
        tree: Option<&LayoutTree>,
        pass: &mut PixelPass,
    ) {
        let Some(ocr) = self.ocr.clone().filter(|_| self.options.ocr) else {
            return;
        };
        let tree = tree.filter(|_| self.options.accessibility);
        let screen = frames
            .iter()
            .map(|f| f.monitor.bounds)
            .reduce(|a, b| a.union(&b))
            .unwrap_or(Rect::new(0, 0, 0, 0));
        let named = |boxes: &[Rect]| match tree {
            Some(t) if !boxes.is_empty() => named_by_accessibility(screen, windows, t, boxes),
            _ => vec![false; boxes.len()],
        };
        for frame in frames {
            let index = frame.monitor.index;
            let Some(state) = self.monitors.get_mut(&index) else {
                continue;
            };
            let t = Instant::now();
            // Left unread before: read now unless accessibility still names them. They are
            // read among the lines around them, as they would have been when found.
            let mut read_unread = false;
            for mut found in std::mem::take(&mut state.unread) {
                let pending: Vec<Rect> = found.unread_boxes().collect();
                let mut still = named(&pending).into_iter();
                let mut wanted = vec![false; found.boxes.len()];
                for (w, u) in wanted.iter_mut().zip(found.unread.iter_mut()) {
                    if *u {
                        *u = still.next().unwrap_or(false);
                        *w = !*u;
                    }
                }
                if wanted.contains(&true) {
                    read_unread = true;
                    match ocr.read_found(frame, &found.boxes, &wanted) {
                        Ok(lines) => {
                            pass.lines_read += lines.len();
                            state.lines.extend(lines);
                        }
                        Err(e) => pass.notes.push(format!("text not read: {e}")),
                    }
                }
                if found.unread.contains(&true) {
                    state.unread.push(found);
                }
            }
            for (_, boxes) in pass.found.iter().filter(|(i, _)| *i == index) {
                let skip = named(boxes);
                let wanted: Vec<bool> = skip.iter().map(|s| !s).collect();
                match ocr.read_found(frame, boxes, &wanted) {
                    Ok(lines) => {
                        pass.lines_read += lines.len();
                        state.lines.extend(lines);
                    }
                    Err(e) => pass.notes.push(format!("text not read: {e}")),
                }
                if skip.contains(&true) {
                    state.unread.push(Found {
                        boxes: boxes.clone(),
                        unread: skip,
                    });
                }
            }
            // A box left unread may read as nothing; once read, a control it was in may hold
            // a lone glyph after all, so every control is looked at again.
            let controls: Vec<Rect> = if read_unread && self.options.lone_glyphs {
                state
                    .segments
                    .iter()
                    .filter(|s| s.kind == ProposalKind::Control)
                    .map(|s| s.bounds)
                    .collect()
            } else {
                pass.controls
                    .iter()
                    .filter(|(i, _)| *i == index)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect()
            };
            if !controls.is_empty() {
                let known: Vec<Rect> = state
                    .lines
                    .iter()
                    .map(|l| l.bounds)
                    .chain(state.unread.iter().flat_map(Found::unread_boxes))
                    .collect();
                match read_lone_glyphs(ocr.as_ref(), frame, &controls, &known) {
                    Ok(glyphs) => {
                        pass.lines_read += glyphs.len();
                        state.lines.extend(glyphs);
                    }
                    Err(e) => pass.notes.push(format!("lone glyphs not read: {e}")),
                }
            }
            pass.timings.ocr_ms += ms(t);
        }
    }

    fn finish(
        &mut self,
        frames: &[Frame],
        windows: Vec<WindowBox>,
        pixels: PixelPass,
        (tree, accessibility_ms): TreeRead,
    ) -> Perception {
        let mut notes = pixels.notes;
        let tree = match tree {
            Ok(t) => t,
            Err(e) => {
                notes.push(format!("accessibility unavailable ({e}): vision only"));
                None
            }
        };
        let mut timings = pixels.timings;
        timings.accessibility_ms = accessibility_ms;
        let lines: Vec<TextLine> = frames
            .iter()
            .filter_map(|f| self.monitors.get(&f.monitor.index))
            .flat_map(|s| s.lines.iter().cloned())
            .collect();
        let segments: Vec<Proposal> = frames
            .iter()
            .filter_map(|f| self.monitors.get(&f.monitor.index))
            .flat_map(|s| s.segments.iter().copied())
            .collect();
        let text_lines_named = frames
            .iter()
            .filter_map(|f| self.monitors.get(&f.monitor.index))
            .flat_map(|s| &s.unread)
            .map(|f| f.unread_boxes().count())
            .sum();
        if let Some(last) = &self.last {
            let same = !frames.is_empty()
                && pixels.all_unchanged
                && last.windows == windows
                && last.accessibility == tree;
            if same {
                return Perception {
                    tree: last.tree.clone(),
                    unchanged: true,
                    changed: Vec::new(),
                    text_lines: lines.len(),
                    text_lines_read: 0,
                    text_lines_named,
                    segments: segments.len(),
                    notes,
                    timings,
                };
            }
        }
        let screen = frames
            .iter()
            .map(|f| f.monitor.bounds)
            .reduce(|a, b| a.union(&b))
            .unwrap_or(Rect::new(0, 0, 0, 0));
        let t = Instant::now();
        let fused = self.fuser.fuse(&FusionInput {
            screen,
            windows: &windows,
            accessibility: tree.as_ref(),
            text: &lines,
            segments: &segments,
        });
        timings.fuse_ms = ms(t);
        self.last = Some(Last {
            windows,
            accessibility: tree,
            tree: fused.clone(),
        });
        Perception {
            tree: fused,
            unchanged: false,
            changed: pixels.changed,
            text_lines: lines.len(),
            text_lines_read: pixels.lines_read,
            text_lines_named,
            segments: segments.len(),
            notes,
            timings,
        }
    }
}

/// The pixel half of one perception.
#[derive(Debug)]
struct PixelPass {
    all_unchanged: bool,
    /// Text line boxes found per monitor index, still to be read.
    found: Vec<(usize, Vec<Rect>)>,
    /// Controls segmented per monitor index, whose lone glyphs are still to be read.
    controls: Vec<(usize, Vec<Rect>)>,
    changed: Vec<Rect>,
    lines_read: usize,
    notes: Vec<String>,
    timings: Timings,
}

impl Default for PixelPass {
    fn default() -> Self {
        Self {
            all_unchanged: true,
            found: Vec::new(),
            controls: Vec::new(),
            changed: Vec::new(),
            lines_read: 0,
            notes: Vec::new(),
            timings: Timings::default(),
        }
    }
}

/// The display server's windows as fusion wants them: mapped, not minimised, bottom first.
pub fn window_boxes(windows: &[crate::windows::WindowInfo]) -> Vec<WindowBox> {
    windows
        .iter()
        .filter(|w| !w.minimized && !w.bounds.is_empty())
        .map(|w| WindowBox {
            title: w.title.clone(),
            app: w.app.clone(),
            pid: w.pid,
            bounds: w.bounds,
            active: w.focused,
        })
        .collect()
}
