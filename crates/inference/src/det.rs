//! PP-OCRv6 text detection (DBNet): a probability map of "text here" per pixel, turned into
//! text-line boxes by the DB post-processing (threshold, connected components, minimum-area
//! rectangle, box score, unclip).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use image::imageops::{self, FilterType};
use image::RgbImage;
use ort::session::Session;

use crate::error::InferenceError;
use crate::runtime;

/// The detector's input sides must be multiples of this.
const ALIGN: u32 = 32;
/// ImageNet mean and std, applied to the B, G, R planes in that order (as PaddleOCR does on
/// OpenCV's BGR images).
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// How the detector runs and filters.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorOptions {
    /// Threads ONNX Runtime may use inside one call (default 1).
    pub intra_threads: usize,
    /// Images whose longer side exceeds this are scaled down first (default 1920, so a
    /// 1080p frame keeps every pixel and small UI fonts survive).
    pub max_side: u32,
    /// Probability above which a pixel counts as text (default 0.3).
    pub threshold: f32,
    /// Boxes whose mean probability is lower are dropped (default 0.6).
    pub box_threshold: f32,
    /// How far boxes grow back after thresholding shrank them: distance = area * ratio /
    /// perimeter (default 1.5).
    pub unclip_ratio: f32,
    /// Boxes whose shorter side (in map pixels) is below this are dropped (default 3).
    pub min_size: f32,
    /// At most this many components are turned into boxes (default 1000).
    pub max_candidates: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            max_side: 1920,
            threshold: 0.3,
            box_threshold: 0.6,
            unclip_ratio: 1.5,
            min_size: 3.0,
            max_candidates: 1000,
        }
    }
}

/// One detected text box, in the pixel coordinates of the image given to the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    /// The rotated rectangle's corners, clockwise from the top-left.
    pub corners: [(f32, f32); 4],
    /// Left edge of the axis-aligned box around the corners.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (at least 1).
    pub width: u32,
    /// Height (at least 1).
    pub height: u32,
    /// Mean text probability inside the box before unclipping.
    pub score: f32,
}

/// The PP-OCRv6 DBNet text detector.
pub struct TextDetector {
    session: Mutex<Session>,
    model: PathBuf,
    options: DetectorOptions,
}

impl std::fmt::Debug for TextDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextDetector")
            .field("model", &self.model)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TextDetector {
    /// Loads the detector from a model file; [`crate::init_runtime`] must have succeeded.
    pub fn from_file(model: &Path, options: DetectorOptions) -> Result<Self, InferenceError> {
        if !model.is_file() {
            return Err(InferenceError::ModelMissing {
                path: model.to_path_buf(),
            });
        }
        let session = runtime::open_session(model, options.intra_threads)?;
        if session.inputs().len() != 1 || session.outputs().is_empty() {
            return Err(InferenceError::BadModel {
                path: model.to_path_buf(),
                reason: "not a text detector (expects one image input and a map output)".into(),
            });
        }
        Ok(Self {
            session: Mutex::new(session),
            model: model.to_path_buf(),
            options,
        })
    }

    /// The options it runs with.
    pub fn options(&self) -> &DetectorOptions {
        &self.options
    }

    /// Finds the text lines of an RGB image; boxes are in the image's pixel coordinates,
    /// sorted top to bottom, then left to right. An image smaller than 4x4 has no text.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<TextBox>, InferenceError> {
        let (w, h) = image.dimensions();
        if w < 4 || h < 4 {
            return Ok(Vec::new());
        }
        let input = DetInput::new(image, self.options.max_side);
        let map = self.run(&input)?;
        Ok(boxes_from_map(&map, &input, &self.options))
    }

    /// The raw text probability of every pixel of the (possibly scaled-down) image, row-major,
    /// with its width and height: for inspecting what the detector sees.
    pub fn probability_map(
        &self,
        image: &RgbImage,
    ) -> Result<(u32, u32, Vec<f32>), InferenceError> {
        let input = DetInput::new(image, self.options.max_side);
        let map = self.run(&input)?;
        let (w, h) = (input.scaled_w as usize, input.scaled_h as usize);
        let data = map
            .data
            .chunks_exact(map.width)
            .take(h)
            .flat_map(|row| row[..w.min(row.len())].iter().copied())
            .collect();
        Ok((input.scaled_w, input.scaled_h, data))
    }

    fn run(&self, input: &DetInput) -> Result<ProbMap, InferenceError> {
        let (tw, th) = (input.tensor_w as usize, input.tensor_h as usize);
        crate::runtime::run_f32(
            &self.session,
            [1, 3, th, tw],
            input.data.clone(),
            |dims, probs| {
                let (mh, mw) = match dims[..] {
                    [1, 1, mh, mw] | [1, mh, mw] => (mh, mw),
                    _ => {
                        return Err(InferenceError::Run(format!(
                            "unexpected detector output shape {dims:?}"
                        )))
                    }
                };
                if mh != th || mw != tw || probs.len() != mh * mw {
                    return Err(InferenceError::Run(format!(
                        "detector map {dims:?} does not match the input {tw}x{th}"
                    )));
                }
                Ok(ProbMap {
                    width: mw,
                    height: mh,
                    data: probs.to_vec(),
                })
            },
        )
    }
}

/// The normalised input tensor and how it maps back to the image.
struct DetInput {
    /// CHW, BGR planes.
    data: Vec<f32>,
    tensor_w: u32,
    tensor_h: u32,
    /// The image occupies the top-left `scaled_w x scaled_h` of the tensor; the rest is padding.
    scaled_w: u32,
    scaled_h: u32,
    /// scaled / original.
    scale: f32,
    orig_w: u32,
    orig_h: u32,
}

impl DetInput {
    /// Scales down only when the longer side exceeds `max_side`, then pads right and bottom
    /// to multiples of 32. Padding instead of stretching keeps 1-pixel strokes of small UI
    /// fonts intact (1080 -> 1088 by resizing blurs every row).
    fn new(image: &RgbImage, max_side: u32) -> Self {
        let (w, h) = image.dimensions();
        let longer = w.max(h);
        let scale = if longer > max_side.max(ALIGN) {
            max_side.max(ALIGN) as f32 / longer as f32
        } else {
            1.0
        };
        let scaled_w = ((w as f32 * scale).round() as u32).max(1);
        let scaled_h = ((h as f32 * scale).round() as u32).max(1);
        let resized;
        let source = if scaled_w == w && scaled_h == h {
            image
        } else {
            resized = imageops::resize(image, scaled_w, scaled_h, FilterType::Triangle);
            &resized
        };
        let tensor_w = scaled_w.div_ceil(ALIGN).max(1) * ALIGN;
        let tensor_h = scaled_h.div_ceil(ALIGN).max(1) * ALIGN;
        let plane = tensor_w as usize * tensor_h as usize;
        // Padding is 0 after normalisation: the mean colour.
        let mut data = vec![0f32; 3 * plane];
        let lut: [[f32; 256]; 3] =
            std::array::from_fn(|c| std::array::from_fn(|v| (v as f32 / 255.0 - MEAN[c]) / STD[c]));
        for (y, row) in source.rows().enumerate() {
            let base = y * tensor_w as usize;
            for (x, px) in row.enumerate() {
                let i = base + x;
                data[i] = lut[0][px[2] as usize];
                data[plane + i] = lut[1][px[1] as usize];
                data[2 * plane + i] = lut[2][px[0] as usize];
            }
        }
        Self {
            data,
            tensor_w,
            tensor_h,
            scaled_w,
            scaled_h,
            scale,
            orig_w: w,
            orig_h: h,
        }
    }
}

/// The detector's output: probability of text per input pixel.
struct ProbMap {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

/// A rotated rectangle: centre, unit axes and half extents along them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RotatedRect {
    cx: f64,
    cy: f64,
    /// Unit vector of the first axis.
    ux: f64,
    uy: f64,
    half_u: f64,
    half_v: f64,
}

impl RotatedRect {
    fn short_side(&self) -> f64 {
        2.0 * self.half_u.min(self.half_v)
    }

    fn grown(&self, by: f64) -> RotatedRect {
        RotatedRect {
            half_u: self.half_u + by,
            half_v: self.half_v + by,
            ..*self
        }
    }

    fn corners(&self) -> [(f64, f64); 4] {
        let (vx, vy) = (-self.uy, self.ux);
        let (au, av) = (self.half_u, self.half_v);
        let p = |su: f64, sv: f64| {
            (
                self.cx + su * au * self.ux + sv * av * vx,
                self.cy + su * au * self.uy + sv * av * vy,
            )
        };
        let mut pts = [p(-1.0, -1.0), p(1.0, -1.0), p(1.0, 1.0), p(-1.0, 1.0)];
        order_clockwise(&mut pts);
        pts
    }
}

/// Orders four corners as top-left, top-right, bottom-right, bottom-left (PaddleOCR's order).
fn order_clockwise(pts: &mut [(f64, f64); 4]) {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut left, mut right) = ([pts[0], pts[1]], [pts[2], pts[3]]);
    left.sort_by(|a, b| a.1.total_cmp(&b.1));
    right.sort_by(|a, b| a.1.total_cmp(&b.1));
    *pts = [left[0], right[0], right[1], left[1]];
}

/// The DB post-processing on a probability map.
fn boxes_from_map(map: &ProbMap, input: &DetInput, opts: &DetectorOptions) -> Vec<TextBox> {
    // Only the part of the map that covers the image; the padding has no text.
    let (vw, vh) = (
        (input.scaled_w as usize).min(map.width),
        (input.scaled_h as usize).min(map.height),
    );
    let components = components(map, vw, vh, opts.threshold, opts.max_candidates);
    let mut boxes = Vec::new();
    for rows in components {
        let hull = convex_hull(&rows);
        let Some(rect) = min_area_rect(&hull) else {
            continue;
        };
        if rect.short_side() < f64::from(opts.min_size) {
            continue;
        }
        let score = box_score(map, vw, vh, &rect);
        if score < opts.box_threshold {
            continue;
        }
        let (w, h) = (2.0 * rect.half_u, 2.0 * rect.half_v);
        let distance = w * h * f64::from(opts.unclip_ratio) / (2.0 * (w + h));
        let grown = rect.grown(distance);
        if grown.short_side() < f64::from(opts.min_size) + 2.0 {
            continue;
        }
        boxes.push(to_image_box(&grown, score, input));
    }
    reading_order(boxes)
}

/// Reading order: rows of lines whose vertical centres are close, each left to right. Rows
/// are grouped first (a pairwise "same row" test is not transitive, so it cannot be a sort
/// comparator).
fn reading_order(mut boxes: Vec<TextBox>) -> Vec<TextBox> {
    let centre = |b: &TextBox| b.y * 2 + b.height;
    boxes.sort_by_key(|b| (centre(b), b.x));
    let mut out = Vec::with_capacity(boxes.len());
    let mut row: Vec<TextBox> = Vec::new();
    for b in boxes {
        if let Some(first) = row.first() {
            if centre(&b).abs_diff(centre(first)) >= first.height.min(b.height) {
                row.sort_by_key(|r| r.x);
                out.append(&mut row);
            }
        }
        row.push(b);
    }
    row.sort_by_key(|r| r.x);
    out.append(&mut row);
    out
}

fn to_image_box(rect: &RotatedRect, score: f32, input: &DetInput) -> TextBox {
    let s = f64::from(input.scale);
    let (ow, oh) = (f64::from(input.orig_w), f64::from(input.orig_h));
    let corners = rect
        .corners()
        .map(|(x, y)| ((x / s).clamp(0.0, ow), (y / s).clamp(0.0, oh)));
    let min_x = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let max_x = corners.iter().map(|c| c.0).fold(0.0, f64::max);
    let min_y = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let max_y = corners.iter().map(|c| c.1).fold(0.0, f64::max);
    let x = min_x.floor().max(0.0) as u32;
    let y = min_y.floor().max(0.0) as u32;
    let right = (max_x.ceil() as u32).clamp(x + 1, input.orig_w.max(x + 1));
    let bottom = (max_y.ceil() as u32).clamp(y + 1, input.orig_h.max(y + 1));
    TextBox {
        corners: corners.map(|(x, y)| (x as f32, y as f32)),
        x,
        y,
        width: right - x,
        height: bottom - y,
        score,
    }
}

/// One connected component of the thresholded map, as its leftmost and rightmost pixel per
/// row: `(y, min_x, max_x)`. The convex hull depends only on these.
type RowSpans = Vec<(i64, i64, i64)>;

/// 8-connected components of `prob > threshold` inside the `vw x vh` top-left of the map.
fn components(map: &ProbMap, vw: usize, vh: usize, threshold: f32, max: usize) -> Vec<RowSpans> {
    let mut seen = vec![false; vw * vh];
    let on = |x: usize, y: usize| map.data[y * map.width + x] > threshold;
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut pixels: Vec<(usize, usize)> = Vec::new();
    for y0 in 0..vh {
        for x0 in 0..vw {
            if seen[y0 * vw + x0] || !on(x0, y0) {
                continue;
            }
            if out.len() >= max {
                return out;
            }
            seen[y0 * vw + x0] = true;
            stack.push((x0, y0));
            pixels.clear();
            while let Some((x, y)) = stack.pop() {
                pixels.push((x, y));
                for ny in y.saturating_sub(1)..=(y + 1).min(vh - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(vw - 1) {
                        let i = ny * vw + nx;
                        if !seen[i] && on(nx, ny) {
                            seen[i] = true;
                            stack.push((nx, ny));
                        }
                    }
                }
            }
            let y_min = pixels.iter().map(|p| p.1).min().unwrap_or(y0);
            let y_max = pixels.iter().map(|p| p.1).max().unwrap_or(y0);
            let mut spans = vec![(i64::MAX, i64::MIN); y_max - y_min + 1];
            for &(x, y) in &pixels {
                let s = &mut spans[y - y_min];
                s.0 = s.0.min(x as i64);
                s.1 = s.1.max(x as i64);
            }
            out.push(
                spans
                    .into_iter()
                    .enumerate()
                    .filter(|(_, s)| s.0 <= s.1)
                    .map(|(dy, s)| ((y_min + dy) as i64, s.0, s.1))
                    .collect(),
            );
        }
    }
    out
}

/// Convex hull (Andrew's monotone chain) of the component's extreme pixels, counter-clockwise
/// in image coordinates, without collinear points.
fn convex_hull(rows: &RowSpans) -> Vec<(i64, i64)> {
    let mut pts: Vec<(i64, i64)> = rows
        .iter()
        .flat_map(|&(y, a, b)| [(a, y), (b, y)])
        .collect();
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(i64, i64)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area enclosing rectangle of a convex polygon (rotating calipers: one side of
/// the optimum lies on a hull edge, so each edge direction is tried).
fn min_area_rect(hull: &[(i64, i64)]) -> Option<RotatedRect> {
    let pts: Vec<(f64, f64)> = hull.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    match pts.len() {
        0 => return None,
        1 => {
            return Some(RotatedRect {
                cx: pts[0].0,
                cy: pts[0].1,
                ux: 1.0,
                uy: 0.0,
                half_u: 0.0,
                half_v: 0.0,
            })
        }
        _ => {}
    }
    let mut best: Option<(f64, RotatedRect)> = None;
    for i in 0..pts.len() {
        let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let (vx, vy) = (-uy, ux);
        let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &pts {
            let u = p.0 * ux + p.1 * uy;
            let v = p.0 * vx + p.1 * vy;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|(a, _)| area < *a - 1e-9) {
            let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
            best = Some((
                area,
                RotatedRect {
                    cx: cu * ux + cv * vx,
                    cy: cu * uy + cv * vy,
                    ux,
                    uy,
                    half_u: (u1 - u0) / 2.0,
                    half_v: (v1 - v0) / 2.0,
                },
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// Mean probability of the map pixels whose centres lie inside the rectangle (or on its
/// edge): PaddleOCR's "fast" box score.
fn box_score(map: &ProbMap, vw: usize, vh: usize, rect: &RotatedRect) -> f32 {
    let corners = rect.corners();
    let lo = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::INFINITY, f64::min);
    let hi = |f: fn(&(f64, f64)) -> f64| corners.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
    let x0 = lo(|c| c.0).floor().max(0.0) as usize;
    let y0 = lo(|c| c.1).floor().max(0.0) as usize;
    let x1 = (hi(|c| c.0).ceil().max(0.0) as usize).min(vw.saturating_sub(1));
    let y1 = (hi(|c| c.1).ceil().max(0.0) as usize).min(vh.saturating_sub(1));
    let (vx, vy) = (-rect.uy, rect.ux);
    let (mut sum, mut n) = (0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (dx, dy) = (x as f64 - rect.cx, y as f64 - rect.cy);
            let u = dx * rect.ux + dy * rect.uy;
            let v = dx * vx + dy * vy;
            if u.abs() <= rect.half_u + 0.5 && v.abs() <= rect.half_v + 0.5 {
                sum += f64::from(map.data[y * map.width + x]);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map_with(
        width: usize,
        height: usize,
        blobs: &[(usize, usize, usize, usize, f32)],
    ) -> ProbMap {
        let mut data = vec![0.0; width * height];
        for &(x, y, w, h, p) in blobs {
            for yy in y..y + h {
                for xx in x..x + w {
                    data[yy * width + xx] = p;
                }
            }
        }
        ProbMap {
            width,
            height,
            data,
        }
    }

    fn input_for(w: u32, h: u32, scale: f32) -> DetInput {
        DetInput {
            data: Vec::new(),
            tensor_w: w,
            tensor_h: h,
            scaled_w: w,
            scaled_h: h,
            scale,
            orig_w: (w as f32 / scale) as u32,
            orig_h: (h as f32 / scale) as u32,
        }
    }

    #[test]
    fn hull_and_min_rect_of_an_axis_aligned_block() {
        let rows: RowSpans = (10..20).map(|y| (y, 5, 44)).collect();
        let hull = convex_hull(&rows);
        assert_eq!(hull.len(), 4);
        let r = min_area_rect(&hull).unwrap();
        assert!((r.cx - 24.5).abs() < 1e-9 && (r.cy - 14.5).abs() < 1e-9);
        let (w, h) = (2.0 * r.half_u, 2.0 * r.half_v);
        let (long, short) = (w.max(h), w.min(h));
        assert!((long - 39.0).abs() < 1e-9 && (short - 9.0).abs() < 1e-9);
    }

    #[test]
    fn min_rect_follows_a_rotated_line() {
        // A diagonal band: each row shifted by one pixel.
        let rows: RowSpans = (0..30).map(|y| (y, y, y + 4)).collect();
        let r = min_area_rect(&convex_hull(&rows)).unwrap();
        let angle = r.uy.atan2(r.ux).to_degrees().rem_euclid(180.0);
        assert!(
            (angle - 45.0).abs() < 1.0 || (angle - 135.0).abs() < 1.0,
            "{angle}"
        );
        // Smaller than the axis-aligned box of the band.
        assert!(4.0 * r.half_u * r.half_v < 34.0 * 29.0);
    }

    #[test]
    fn db_postprocess_keeps_confident_boxes_and_unclips_them() {
        // Confident line 40x10 at (20, 30); a faint blob; a 2-pixel speck.
        let map = map_with(
            128,
            64,
            &[
                (20, 30, 40, 10, 0.9),
                (80, 5, 30, 10, 0.4),
                (100, 50, 2, 2, 0.95),
            ],
        );
        let boxes = boxes_from_map(&map, &input_for(128, 64, 1.0), &DetectorOptions::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        // distance = 39*9*1.5/(2*48) = 5.48
        assert!((b.score - 0.9).abs() < 0.01);
        assert_eq!((b.x, b.y), (14, 24));
        assert_eq!((b.width, b.height), (51, 21));
    }

    #[test]
    fn boxes_map_back_through_the_scale_and_sort_in_reading_order() {
        let map = map_with(
            128,
            64,
            &[
                (70, 10, 40, 10, 0.9),
                (10, 12, 40, 10, 0.9),
                (10, 40, 40, 10, 0.9),
            ],
        );
        let boxes = boxes_from_map(&map, &input_for(128, 64, 0.5), &DetectorOptions::default());
        let xy: Vec<(u32, u32)> = boxes.iter().map(|b| (b.x, b.y)).collect();
        assert_eq!(xy.len(), 3);
        assert!(
            xy[0].0 < xy[1].0 && xy[0].1 < 40 && xy[1].1 < 40 && xy[2].1 > 60,
            "{xy:?}"
        );
        assert!(boxes
            .iter()
            .all(|b| b.x + b.width <= 256 && b.y + b.height <= 128));
    }

    #[test]
    fn input_is_padded_to_multiples_of_32_and_scaled_only_when_too_big() {
        let img = RgbImage::from_pixel(100, 40, image::Rgb([255, 0, 0]));
        let inp = DetInput::new(&img, 1920);
        assert_eq!((inp.tensor_w, inp.tensor_h, inp.scale), (128, 64, 1.0));
        let plane = 128 * 64;
        // Red lands in the third (R) plane.
        assert!((inp.data[2 * plane] - (1.0 - 0.406) / 0.225).abs() < 1e-5);
        assert!((inp.data[0] - (0.0 - 0.485) / 0.229).abs() < 1e-5);
        assert_eq!(inp.data[127], 0.0);
        let big = RgbImage::new(4000, 100);
        let inp = DetInput::new(&big, 1920);
        assert_eq!(
            (inp.scaled_w, inp.scaled_h, inp.tensor_w, inp.tensor_h),
            (1920, 48, 1920, 64)
        );
    }
}
