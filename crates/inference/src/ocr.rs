//! The OCR pipeline: PP-OCRv6 detection finds the text lines of a frame (or of changed
//! areas only), recognition reads them in batches of similar width, and a bounded cache keyed
//! by the crop's pixels skips lines that were read before.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use deskhand_core::error::PortError;
use deskhand_core::geometry::{Frame, Rect};
use deskhand_core::ports::{Ocr, TextLine};
use deskhand_core::WordBox;
use image::RgbImage;

use crate::det::{DetectorOptions, TextDetector};
use crate::error::InferenceError;
use crate::paths::ModelPaths;
use crate::rec::{Recognized, RecognizerOptions, TextRecognizer};
use crate::runtime;

/// Which detection model to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetectorModel {
    /// PP-OCRv6 det tiny: about 2.5x faster than small.
    #[default]
    Tiny,
    /// PP-OCRv6 det small.
    Small,
}

/// How the OCR engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrOptions {
    /// The detection model (default tiny).
    pub detector: DetectorModel,
    /// Threads ONNX Runtime may use inside one call, for each model (default 1). With
    /// several recognition sessions they share these threads.
    pub intra_threads: usize,
    /// Recognition sessions reading batches in parallel, each on its own thread with
    /// `intra_threads / rec_sessions` ONNX Runtime threads (at least one). Default 0: one
    /// single-threaded session per thread of `intra_threads`. On 2 idle cores both ways read
    /// the 1080p fixture cold in the same time (1.04 s vs 1.02 s); on a busy machine two
    /// sessions used a third less CPU than one session with two intra-op threads (whose
    /// threads spin while waiting) and finished sooner, for the same text.
    pub rec_sessions: usize,
    /// Frames or areas whose longer side exceeds this are scaled down for detection
    /// (default 1920: full resolution for 1080p, so small UI fonts survive).
    pub max_side: u32,
    /// Lines recognised per model call (default 8); lines are sorted by aspect ratio first so
    /// a batch shares one padded width.
    pub rec_batch: usize,
    /// Lines are padded to at least this width for recognition (default 320, the width the
    /// model was trained at; see [`RecognizerOptions::min_width`]).
    pub rec_min_width: u32,
    /// Pixels added around each changed area before detecting in it (default 12), so a line
    /// that the area cuts is still seen whole.
    pub area_padding: u32,
    /// Recognised lines kept in the cache (default 4096).
    pub cache_capacity: usize,
    /// Lines read with a lower mean confidence are dropped (default 0.5, as PaddleOCR).
    pub min_confidence: f32,
    /// A detected line is cut in two where its ink has a horizontal gap of at least this many
    /// times the ink's height (default 1.0; 0 never cuts). The detector joins neighbouring
    /// menu titles and buttons ("File Edit View") whose gaps are wider than a word space.
    pub split_gap: f32,
    /// Symbols at the ends of a line read with a probability below this are dropped
    /// (default 0.6): they are mostly icons (arrows, chevrons) beside a label.
    pub trim_uncertain_edges: f32,
    /// Read Latin script, digits, punctuation and common symbols only (default false); see
    /// [`RecognizerOptions::latin_only`].
    pub latin_only: bool,
}

impl Default for OcrOptions {
    fn default() -> Self {
        Self {
            detector: DetectorModel::Tiny,
            intra_threads: 1,
            rec_sessions: 0,
            max_side: 1920,
            rec_batch: 8,
            rec_min_width: 320,
            area_padding: 12,
            cache_capacity: 4096,
            min_confidence: 0.5,
            split_gap: 1.0,
            trim_uncertain_edges: 0.6,
            latin_only: false,
        }
    }
}

/// Counters since the engine was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OcrStats {
    /// Detector runs (one per frame or padded area).
    pub detections: u64,
    /// Lines run through the recogniser.
    pub recognitions: u64,
    /// Lines answered from the cache.
    pub cache_hits: u64,
    /// Lines in the cache now.
    pub cached: usize,
}

/// Detection + recognition with a crop cache. Synchronous: callers on an async runtime run
/// it on a blocking thread.
pub struct OcrEngine {
    detector: TextDetector,
    recognizer: TextRecognizer,
    options: OcrOptions,
    cache: Mutex<LineCache>,
    detections: AtomicU64,
    recognitions: AtomicU64,
    cache_hits: AtomicU64,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl OcrEngine {
    /// Loads the runtime library (if not loaded yet), the detector and the recogniser. A
    /// missing or corrupt file is an error that names it and `./x setup`.
    pub fn new(paths: &ModelPaths, options: OcrOptions) -> Result<Self, InferenceError> {
        runtime::init_runtime(&paths.onnxruntime)?;
        let det_model = match options.detector {
            DetectorModel::Tiny => &paths.ocr_det_tiny,
            DetectorModel::Small => &paths.ocr_det_small,
        };
        let detector = TextDetector::from_file(
            det_model,
            DetectorOptions {
                intra_threads: options.intra_threads,
                max_side: options.max_side,
                ..DetectorOptions::default()
            },
        )?;
        let sessions = match options.rec_sessions {
            0 => options.intra_threads.max(1),
            n => n,
        };
        let recognizer = TextRecognizer::from_file(
            &paths.ocr_rec,
            RecognizerOptions {
                intra_threads: (options.intra_threads / sessions).max(1),
                sessions,
                batch_size: options.rec_batch.max(1),
                min_width: options.rec_min_width.max(8),
                trim_uncertain_edges: options.trim_uncertain_edges,
                latin_only: options.latin_only,
                ..RecognizerOptions::default()
            },
        )?;
        Ok(Self {
            detector,
            recognizer,
            cache: Mutex::new(LineCache::new(options.cache_capacity)),
            options,
            detections: AtomicU64::new(0),
            recognitions: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        })
    }

    /// The text detector (for inspecting its probability map).
    pub fn detector(&self) -> &TextDetector {
        &self.detector
    }

    /// The options it runs with.
    pub fn options(&self) -> &OcrOptions {
        &self.options
    }

    /// Counters of detector runs, recognitions and cache hits.
    pub fn stats(&self) -> OcrStats {
        OcrStats {
            detections: self.detections.load(Ordering::Relaxed),
            recognitions: self.recognitions.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cached: self.lock_cache().len(),
        }
    }

    /// Forgets every cached line.
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    /// Finds and reads the text lines of the frame, in reading order, with bounds in desktop
    /// coordinates. With `areas` (desktop coordinates, e.g. the rectangles that changed since
    /// the last frame) detection runs only on those areas, each padded by
    /// [`OcrOptions::area_padding`]; with none it runs on the whole frame. Areas outside the
    /// frame are ignored. A frame smaller than 4x4 has no text; a buffer that does not match
    /// the frame's size is [`InferenceError::InvalidInput`].
    pub fn read(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<TextLine>, InferenceError> {
        let boxes = self.find_boxes(frame, areas)?;
        self.read_boxes(frame, &boxes, &vec![true; boxes.len()])
    }

    /// Finds the text lines of the frame as [`OcrEngine::read`] does, without reading them:
    /// their boxes in desktop coordinates.
    pub fn find(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<Rect>, InferenceError> {
        Ok(self
            .find_boxes(frame, areas)?
            .iter()
            .map(|b| to_desktop(frame, b))
            .collect())
    }

    /// Reads the lines `found` by [`OcrEngine::find`] on this frame whose `wanted` flag is
    /// set, cropped among all of `found` as [`OcrEngine::read`] crops them, in reading order.
    pub fn read_found(
        &self,
        frame: &Frame,
        found: &[Rect],
        wanted: &[bool],
    ) -> Result<Vec<TextLine>, InferenceError> {
        check_frame(frame)?;
        let full = PixelRect::new(0, 0, frame.width, frame.height);
        let mut boxes = Vec::with_capacity(found.len());
        let mut keep = Vec::with_capacity(found.len());
        for (r, w) in found.iter().zip(wanted) {
            if let Some(p) = to_pixels(frame, r).clip(&full) {
                boxes.push(p);
                keep.push(*w);
            }
        }
        self.read_boxes(frame, &boxes, &keep)
    }

    /// Detection: line boxes in frame pixels, split at wide gaps.
    fn find_boxes(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<PixelRect>, InferenceError> {
        check_frame(frame)?;
        if frame.width < 4 || frame.height < 4 {
            return Ok(Vec::new());
        }
        let full = PixelRect::new(0, 0, frame.width, frame.height);
        let regions = if areas.is_empty() {
            vec![full]
        } else {
            let pad = (f64::from(self.options.area_padding) * frame.monitor.scale).round() as i64;
            merge_overlapping(
                areas
                    .iter()
                    .filter_map(|a| to_pixels(frame, a).grow(pad).clip(&full))
                    .collect(),
            )
        };
        let mut boxes = Vec::new();
        for region in regions {
            let mut lines = self.detect_in(frame, &region)?;
            // A line cut by the area's side ("gamm" of "gamma.txt") is read again with the
            // area widened on that side, once: otherwise the cut box is cached and every
            // later read of the area repeats the cut.
            let edge = 2;
            let cut_left = region.x > 0 && lines.iter().any(|l| l.x - region.x <= edge);
            let cut_right = region.x + region.w < full.w
                && lines
                    .iter()
                    .any(|l| region.x + region.w - (l.x + l.w) <= edge);
            if cut_left || cut_right {
                let height = lines.iter().map(|l| l.h).max().unwrap_or(16);
                let more = (height * 5).max(64);
                let x0 = if cut_left { region.x - more } else { region.x };
                let x1 = region.x + region.w + if cut_right { more } else { 0 };
                let wider = PixelRect {
                    x: x0,
                    y: region.y,
                    w: x1 - x0,
                    h: region.h,
                };
                if let Some(wider) = wider.clip(&full) {
                    lines = self.detect_in(frame, &wider)?;
                }
            }
            for line in lines {
                boxes.extend(split_at_gaps(frame, &line, self.options.split_gap));
            }
        }
        Ok(boxes)
    }

    /// Text line boxes the detector finds inside one region, in frame pixels.
    fn detect_in(
        &self,
        frame: &Frame,
        region: &PixelRect,
    ) -> Result<Vec<PixelRect>, InferenceError> {
        let image = crop_rgb(frame, region);
        self.detections.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .detector
            .detect(&image)?
            .into_iter()
            .map(|b| {
                PixelRect::new(
                    region.x + i64::from(b.x),
                    region.y + i64::from(b.y),
                    b.width,
                    b.height,
                )
            })
            .collect())
    }

    /// Recognition of the wanted boxes (frame pixels), each cropped among all of `boxes`
    /// (their side margins and line height depend on the neighbours), in reading order.
    fn read_boxes(
        &self,
        frame: &Frame,
        boxes: &[PixelRect],
        wanted: &[bool],
    ) -> Result<Vec<TextLine>, InferenceError> {
        check_frame(frame)?;
        let full = PixelRect::new(0, 0, frame.width, frame.height);
        let shaped = with_line_height(&with_side_margins(boxes, &full), &full);
        let picked: Vec<(&PixelRect, &PixelRect)> = boxes
            .iter()
            .zip(&shaped)
            .zip(wanted)
            .filter(|(_, w)| **w)
            .map(|(pair, _)| pair)
            .collect();
        let crops: Vec<RgbImage> = picked.iter().map(|(_, c)| crop_rgb(frame, c)).collect();
        let read = self.recognize_cached(&crops)?;
        let mut lines: Vec<TextLine> = picked
            .iter()
            .zip(read)
            .filter(|(_, r)| {
                !r.text.trim().is_empty() && r.confidence >= self.options.min_confidence
            })
            .map(|((b, c), r)| TextLine {
                words: word_boxes(frame, c, b, &r),
                text: r.text,
                confidence: r.confidence,
                bounds: to_desktop(frame, b),
            })
            .collect();
        sort_reading_order(&mut lines);
        Ok(lines)
    }

    /// Reads one line per region (desktop coordinates) without detection, through the cache;
    /// a region outside the frame reads as empty text with confidence 0.
    pub fn read_lines(
        &self,
        frame: &Frame,
        regions: &[Rect],
    ) -> Result<Vec<TextLine>, InferenceError> {
        check_frame(frame)?;
        let full = PixelRect::new(0, 0, frame.width, frame.height);
        let pixel: Vec<Option<PixelRect>> = regions
            .iter()
            .map(|r| to_pixels(frame, r).clip(&full))
            .collect();
        let crops: Vec<RgbImage> = pixel.iter().flatten().map(|p| crop_rgb(frame, p)).collect();
        let mut read = self.recognize_cached(&crops)?.into_iter();
        Ok(regions
            .iter()
            .zip(pixel)
            .map(|(region, p)| {
                let r = p.and_then(|_| read.next()).unwrap_or_default();
                TextLine {
                    words: p.map(|p| word_boxes(frame, &p, &p, &r)).unwrap_or_default(),
                    text: r.text,
                    confidence: r.confidence,
                    bounds: *region,
                }
            })
            .collect())
    }

    /// Recognises the crops, answering repeated ones from the cache.
    fn recognize_cached(&self, crops: &[RgbImage]) -> Result<Vec<Recognized>, InferenceError> {
        let keys: Vec<u64> = crops.iter().map(crop_key).collect();
        let mut results: Vec<Option<Recognized>> = {
            let cache = self.lock_cache();
            keys.iter().map(|k| cache.get(*k).cloned()).collect()
        };
        let misses: Vec<usize> = (0..crops.len()).filter(|&i| results[i].is_none()).collect();
        // The same crop twice in one frame (two "OK" buttons) is read once.
        let mut unique: Vec<usize> = Vec::new();
        let mut first_of: HashMap<u64, usize> = HashMap::new();
        for &i in &misses {
            first_of.entry(keys[i]).or_insert_with(|| {
                unique.push(i);
                unique.len() - 1
            });
        }
        let hits = (crops.len() - misses.len()) as u64;
        self.cache_hits.fetch_add(hits, Ordering::Relaxed);
        if !unique.is_empty() {
            let images: Vec<RgbImage> = unique.iter().map(|&i| crops[i].clone()).collect();
            let read = self.recognizer.recognize_positioned(&images)?;
            self.recognitions
                .fetch_add(images.len() as u64, Ordering::Relaxed);
            let mut cache = self.lock_cache();
            for (&i, r) in unique.iter().zip(&read) {
                cache.insert(keys[i], r.clone());
            }
            for &i in &misses {
                results[i] = first_of.get(&keys[i]).and_then(|&u| read.get(u).cloned());
            }
        }
        Ok(results.into_iter().map(Option::unwrap_or_default).collect())
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, LineCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Ocr for OcrEngine {
    fn recognize(&self, frame: &Frame, regions: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        Ok(self.read_lines(frame, regions)?)
    }

    fn read_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        Ok(self.read(frame, areas)?)
    }

    fn find_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<Rect>, PortError> {
        Ok(self.find(frame, areas)?)
    }

    fn read_found(
        &self,
        frame: &Frame,
        found: &[Rect],
        wanted: &[bool],
    ) -> Result<Vec<TextLine>, PortError> {
        Ok(OcrEngine::read_found(self, frame, found, wanted)?)
    }
}

/// The words of a recognised line with their boxes: the x-range of each word runs from
/// half a character before its first character's centre to half one after its last
/// (centres from the CTC time steps, as fractions of the `crop` that was read); the height
/// is the `line`'s.
fn word_boxes(frame: &Frame, crop: &PixelRect, line: &PixelRect, r: &Recognized) -> Vec<WordBox> {
    let chars: Vec<char> = r.text.chars().collect();
    if chars.len() != r.char_x.len() || chars.is_empty() {
        return Vec::new();
    }
    let xs: Vec<f64> = r
        .char_x
        .iter()
        .map(|f| crop.x as f64 + f64::from(*f) * crop.w as f64)
        .collect();
    // A character's pitch on this line; a one-character line has the line's height as width.
    let pitch = if xs.len() > 1 {
        ((xs[xs.len() - 1] - xs[0]) / (xs.len() - 1) as f64).max(1.0)
    } else {
        line.h as f64 * 0.6
    };
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=chars.len() {
        let space = chars.get(i).is_none_or(|c| c.is_whitespace());
        match (start, space) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                let x0 = (xs[s] - pitch / 2.0).max(line.x as f64);
                let x1 = (xs[i - 1] + pitch / 2.0).min((line.x + line.w) as f64);
                if x1 > x0 {
                    let px = PixelRect {
                        x: x0.floor() as i64,
                        y: line.y,
                        w: (x1.ceil() - x0.floor()) as i64,
                        h: line.h,
                    };
                    out.push(WordBox {
                        text: chars[s..i].iter().collect(),
                        bounds: to_desktop(frame, &px),
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Recognised lines by crop hash, oldest evicted first.
struct LineCache {
    capacity: usize,
    entries: HashMap<u64, Recognized>,
    order: VecDeque<u64>,
}

impl LineCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, key: u64) -> Option<&Recognized> {
        self.entries.get(&key)
    }

    fn insert(&mut self, key: u64, value: Recognized) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key, value).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

/// A rectangle in frame pixels (may be partly outside before clipping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixelRect {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl PixelRect {
    fn new(x: i64, y: i64, w: u32, h: u32) -> Self {
        Self {
            x,
            y,
            w: i64::from(w),
            h: i64::from(h),
        }
    }

    fn grow(&self, by: i64) -> Self {
        Self {
            x: self.x - by,
            y: self.y - by,
            w: self.w + 2 * by,
            h: self.h + 2 * by,
        }
    }

    fn clip(&self, to: &PixelRect) -> Option<PixelRect> {
        let x0 = self.x.max(to.x);
        let y0 = self.y.max(to.y);
        let x1 = (self.x + self.w).min(to.x + to.w);
        let y1 = (self.y + self.h).min(to.y + to.h);
        (x1 > x0 && y1 > y0).then_some(PixelRect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        })
    }

    fn overlaps(&self, o: &PixelRect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn union(&self, o: &PixelRect) -> PixelRect {
        let x0 = self.x.min(o.x);
        let y0 = self.y.min(o.y);
        let x1 = (self.x + self.w).max(o.x + o.w);
        let y1 = (self.y + self.h).max(o.y + o.h);
        PixelRect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }
}

/// Overlapping areas are merged so no text is detected (and reported) twice.
fn merge_overlapping(mut rects: Vec<PixelRect>) -> Vec<PixelRect> {
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if rects[i].overlaps(&rects[j]) {
                    let other = rects.swap_remove(j);
                    rects[i] = rects[i].union(&other);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    rects
}

fn check_frame(frame: &Frame) -> Result<(), InferenceError> {
    let expected = frame.width as usize * frame.height as usize * 4;
    if frame.rgba.len() != expected {
        return Err(InferenceError::InvalidInput(format!(
            "frame buffer has {} bytes, {}x{} needs {expected}",
            frame.rgba.len(),
            frame.width,
            frame.height
        )));
    }
    Ok(())
}

/// Desktop coordinates to frame pixels (monitor offset and scale).
fn to_pixels(frame: &Frame, r: &Rect) -> PixelRect {
    let m = &frame.monitor;
    let s = m.scale;
    let x0 = (f64::from(r.x - m.bounds.x) * s).floor() as i64;
    let y0 = (f64::from(r.y - m.bounds.y) * s).floor() as i64;
    let x1 = ((f64::from(r.x - m.bounds.x) + f64::from(r.width)) * s).ceil() as i64;
    let y1 = ((f64::from(r.y - m.bounds.y) + f64::from(r.height)) * s).ceil() as i64;
    PixelRect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Frame pixels to desktop coordinates.
fn to_desktop(frame: &Frame, p: &PixelRect) -> Rect {
    let m = &frame.monitor;
    let s = if m.scale > 0.0 { m.scale } else { 1.0 };
    let x0 = (p.x as f64 / s).floor();
    let y0 = (p.y as f64 / s).floor();
    let x1 = ((p.x + p.w) as f64 / s).ceil();
    let y1 = ((p.y + p.h) as f64 / s).ceil();
    Rect::new(
        m.bounds.x + x0 as i32,
        m.bounds.y + y0 as i32,
        (x1 - x0).max(1.0) as u32,
        (y1 - y0).max(1.0) as u32,
    )
}

/// The RGB pixels of a clipped pixel rectangle of the frame.
fn crop_rgb(frame: &Frame, r: &PixelRect) -> RgbImage {
    let (w, h) = (r.w.max(0) as u32, r.h.max(0) as u32);
    let stride = frame.width as usize * 4;
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for y in r.y..r.y + r.h {
        let start = y as usize * stride + r.x as usize * 4;
        if let Some(row) = frame.rgba.get(start..start + w as usize * 4) {
            rgb.extend(row.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
        }
    }
    RgbImage::from_raw(w, h, rgb).unwrap_or_else(|| RgbImage::new(w, h))
}

/// Cuts a detected line where the ink (pixels that differ from the commonest colour of the
/// box's border) leaves a column gap of at least `factor` times the ink height (and at least
/// 6 pixels). The pieces keep the line's own margin, at most half the gap.
fn split_at_gaps(frame: &Frame, b: &PixelRect, factor: f32) -> Vec<PixelRect> {
    let (w, h) = (b.w.max(0) as usize, b.h.max(0) as usize);
    if factor <= 0.0 || w < 8 || h < 3 {
        return vec![*b];
    }
    let stride = frame.width as usize;
    let luma = |x: usize, y: usize| -> u8 {
        let i = ((b.y as usize + y) * stride + b.x as usize + x) * 4;
        match frame.rgba.get(i..i + 3) {
            Some(p) => {
                ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                    as u8
            }
            None => 0,
        }
    };
    let mut histogram = [0u32; 256];
    for x in 0..w {
        histogram[luma(x, 0) as usize] += 1;
        histogram[luma(x, h - 1) as usize] += 1;
    }
    for y in 0..h {
        histogram[luma(0, y) as usize] += 1;
        histogram[luma(w - 1, y) as usize] += 1;
    }
    let background = (0..256).max_by_key(|&v| histogram[v]).unwrap_or(0) as i32;
    let mut column_ink = vec![false; w];
    let (mut top, mut bottom) = (usize::MAX, 0usize);
    for y in 0..h {
        for (x, ink) in column_ink.iter_mut().enumerate() {
            if (i32::from(luma(x, y)) - background).abs() > 40 {
                *ink = true;
                top = top.min(y);
                bottom = bottom.max(y);
            }
        }
    }
    let (Some(first), Some(last)) = (
        column_ink.iter().position(|&i| i),
        column_ink.iter().rposition(|&i| i),
    ) else {
        return vec![*b];
    };
    let min_gap = ((bottom + 1 - top.min(bottom)) as f32 * factor).max(6.0);
    let mut pieces = Vec::new();
    let mut start = first;
    let mut x = first;
    let mut smallest_gap = usize::MAX;
    while x <= last {
        if column_ink[x] {
            x += 1;
            continue;
        }
        let gap_start = x;
        while x <= last && !column_ink[x] {
            x += 1;
        }
        let gap = x - gap_start;
        if gap as f32 >= min_gap {
            pieces.push((start, gap_start - 1));
            smallest_gap = smallest_gap.min(gap);
            start = x;
        }
    }
    if pieces.is_empty() {
        return vec![*b];
    }
    pieces.push((start, last));
    let margin = first.min(w - 1 - last).min(smallest_gap / 2) as i64;
    pieces
        .into_iter()
        .map(|(a, z)| PixelRect {
            x: b.x + a as i64 - margin,
            y: b.y,
            w: (z - a + 1) as i64 + 2 * margin,
            h: b.h,
        })
        .collect()
}

/// The boxes to crop for recognition: a box under 3/4 of the median box height is grown
/// vertically about its centre towards the median (at most to 1.6 times its own), so a lone symbol
/// without ascenders ("=", "-") keeps its size relative to the line instead of filling the
/// recogniser's input ("=" then reads as "二").
fn with_line_height(boxes: &[PixelRect], frame: &PixelRect) -> Vec<PixelRect> {
    let mut heights: Vec<i64> = boxes.iter().map(|b| b.h).collect();
    heights.sort_unstable();
    let Some(&median) = heights.get(heights.len() / 2) else {
        return Vec::new();
    };
    boxes
        .iter()
        .map(|b| {
            let target = median.min(b.h * 8 / 5);
            if b.h * 4 >= median * 3 {
                return *b;
            }
            let grow = target - b.h;
            PixelRect {
                y: b.y - grow / 2,
                h: target,
                ..*b
            }
            .clip(frame)
            .unwrap_or(*b)
        })
        .collect()
}

/// The boxes with room at their sides: a short box (narrower than twice its height: one to
/// three glyphs) is widened by a third of its height on each side, at most halfway to the
/// next box on its row, so the recogniser sees the glyphs with the margins it was trained
/// on. Tight around a lone "+/-" it reads "+1-"; with the margins, "+/-".
fn with_side_margins(boxes: &[PixelRect], frame: &PixelRect) -> Vec<PixelRect> {
    boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if b.w >= 2 * b.h {
                return *b;
            }
            let want = b.h / 3;
            let same_row = |o: &PixelRect| o.y < b.y + b.h && b.y < o.y + o.h;
            let (mut left, mut right) = (want, want);
            for (j, o) in boxes.iter().enumerate() {
                if j == i || !same_row(o) {
                    continue;
                }
                if o.x + o.w <= b.x {
                    left = left.min((b.x - (o.x + o.w)) / 2);
                } else if o.x >= b.x + b.w {
                    right = right.min((o.x - (b.x + b.w)) / 2);
                }
            }
            PixelRect {
                x: b.x - left,
                w: b.w + left + right,
                ..*b
            }
            .clip(frame)
            .unwrap_or(*b)
        })
        .collect()
}

/// The cache key of a crop: its size and pixels.
fn crop_key(image: &RgbImage) -> u64 {
    let mut h = DefaultHasher::new();
    image.dimensions().hash(&mut h);
    image.as_raw().hash(&mut h);
    h.finish()
}

/// Top to bottom by line, left to right within a line. Rows are grouped first: a pairwise
/// "same row" test is not transitive, so it cannot serve as a sort comparator (which may
/// panic on an inconsistent order).
fn sort_reading_order(lines: &mut Vec<TextLine>) {
    let centre = |l: &TextLine| 2 * i64::from(l.bounds.y) + i64::from(l.bounds.height);
    lines.sort_by_key(|l| (centre(l), l.bounds.x));
    let mut out = Vec::with_capacity(lines.len());
    let mut row: Vec<TextLine> = Vec::new();
    for l in lines.drain(..) {
        if let Some(first) = row.first() {
            let same = (centre(&l) - centre(first)).abs()
                < i64::from(first.bounds.height.min(l.bounds.height));
            if !same {
                row.sort_by_key(|r| r.bounds.x);
                out.append(&mut row);
            }
        }
        row.push(l);
    }
    row.sort_by_key(|r| r.bounds.x);
    out.append(&mut row);
    *lines = out;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use deskhand_core::geometry::Monitor;

    fn frame(x: i32, y: i32, w: u32, h: u32, scale: f64) -> Frame {
        Frame {
            monitor: Monitor {
                index: 0,
                name: "m".into(),
                bounds: Rect::new(x, y, w, h),
                scale,
                primary: true,
            },
            width: (f64::from(w) * scale) as u32,
            height: (f64::from(h) * scale) as u32,
            rgba: vec![0; (f64::from(w) * scale * f64::from(h) * scale * 4.0) as usize],
        }
    }

    #[test]
    fn desktop_and_pixel_rects_round_trip_with_offset_and_scale() {
        let f = frame(1920, 100, 800, 600, 2.0);
        let r = Rect::new(2000, 150, 40, 20);
        let p = to_pixels(&f, &r);
        assert_eq!(p, PixelRect::new(160, 100, 80, 40));
        assert_eq!(to_desktop(&f, &p), r);
    }

    #[test]
    fn overlapping_areas_merge() {
        let rects = vec![
            PixelRect::new(0, 0, 10, 10),
            PixelRect::new(50, 50, 10, 10),
            PixelRect::new(5, 5, 10, 10),
        ];
        let mut m = merge_overlapping(rects);
        m.sort_by_key(|r| r.x);
        assert_eq!(
            m,
            [PixelRect::new(0, 0, 15, 15), PixelRect::new(50, 50, 10, 10)]
        );
    }

    #[test]
    fn cache_evicts_oldest_first() {
        let mut c = LineCache::new(2);
        let read = |t: &str| Recognized {
            text: t.into(),
            confidence: 1.0,
            char_x: vec![0.5],
        };
        c.insert(1, read("a"));
        c.insert(2, read("b"));
        c.insert(3, read("c"));
        assert!(c.get(1).is_none());
        assert_eq!(c.get(3).unwrap().text, "c");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn crops_of_a_frame_and_their_keys() {
        let mut f = frame(0, 0, 8, 8, 1.0);
        f.rgba[(8 + 1) * 4] = 200; // pixel (1, 1), red
        let a = crop_rgb(&f, &PixelRect::new(1, 1, 2, 2));
        assert_eq!(a.get_pixel(0, 0).0, [200, 0, 0]);
        let b = crop_rgb(&f, &PixelRect::new(4, 4, 2, 2));
        assert_ne!(crop_key(&a), crop_key(&b));
        assert_eq!(
            crop_key(&b),
            crop_key(&crop_rgb(&f, &PixelRect::new(5, 5, 2, 2)))
        );
    }
}
