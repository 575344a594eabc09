//! PP-OCRv6 text-line recognition (CTC), behind the [`Ocr`] port.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use deskhand_core::error::PortError;
use deskhand_core::geometry::{Frame, Rect};
use deskhand_core::ports::{Ocr, TextLine};
use image::imageops::{self, FilterType};
use image::RgbImage;
use ort::session::Session;

use crate::error::InferenceError;
use crate::paths::ModelPaths;
use crate::runtime;

/// Height of the recogniser's input.
const INPUT_HEIGHT: u32 = 48;
/// Horizontal downsampling of the recogniser: one CTC step per 8 input columns.
const STRIDE: u32 = 8;

/// How the recogniser runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizerOptions {
    /// Threads ONNX Runtime may use inside one call (default 1).
    pub intra_threads: usize,
    /// Lines run through the model together, padded to the widest (default 1: on one CPU
    /// thread batching measured no faster, as padding costs what batching saves).
    pub batch_size: usize,
    /// Lines are padded on the right to at least this input width (default 320, the width
    /// the model was trained at, as PaddleOCR does). 128 is 2-3x faster on short labels but
    /// misread "a - b" at 11 pt as "a -b"; below 64 more short words go wrong.
    pub min_width: u32,
    /// Lines wider than this (after scaling to height 48) are squeezed (default 3200).
    pub max_width: u32,
    /// Independent model sessions that read batches at the same time, each on its own
    /// thread (default 1). Each session loads its own copy of the model (a 21 MB file).
    pub sessions: usize,
    /// Characters at either end of a line read with a probability below this are dropped
    /// while a letter or digit remains (default 0: keep all). Icons beside a label (a menu's
    /// arrow, a drop-down chevron) come out as such uncertain characters.
    pub trim_uncertain_edges: f32,
    /// Decode to Latin script, digits, punctuation and common symbols only (default false:
    /// the whole dictionary, CJK included). For a desktop in a Latin-script language this
    /// stops lone symbols from reading as look-alike CJK characters ("=" as "二"), as
    /// PaddleOCR's per-language dictionaries do.
    pub latin_only: bool,
}

impl Default for RecognizerOptions {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            batch_size: 1,
            min_width: 320,
            max_width: 3200,
            sessions: 1,
            trim_uncertain_edges: 0.0,
            latin_only: false,
        }
    }
}

/// A line's index among the inputs with what was read.
type Indexed = (usize, Recognized);

/// One recognised line: its text, the mean confidence of its characters, and where each
/// character sits (from the CTC time step that emitted it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recognized {
    /// The text.
    pub text: String,
    /// Mean character confidence in [0,1].
    pub confidence: f32,
    /// The centre of each character of `text`, as a fraction of the input image's width
    /// (one entry per `char`).
    pub char_x: Vec<f32>,
}

/// The PP-OCRv6 small text-line recogniser.
pub struct TextRecognizer {
    /// One or more sessions of the same model; batches are spread over them.
    sessions: Vec<Mutex<Session>>,
    /// Index 0 is the CTC blank, the last index is a space.
    charset: Vec<String>,
    /// Classes decoding may choose (all, or the Latin subset).
    allowed: Option<Vec<bool>>,
    options: RecognizerOptions,
}

impl std::fmt::Debug for TextRecognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextRecognizer")
            .field("classes", &self.charset.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TextRecognizer {
    /// Loads the runtime library (if not loaded yet) and the recogniser from the cache.
    pub fn new(paths: &ModelPaths, options: RecognizerOptions) -> Result<Self, InferenceError> {
        runtime::init_runtime(&paths.onnxruntime)?;
        Self::from_file(&paths.ocr_rec, options)
    }

    /// Loads the recogniser from a model file; [`crate::init_runtime`] must have succeeded.
    pub fn from_file(model: &Path, options: RecognizerOptions) -> Result<Self, InferenceError> {
        if !model.is_file() {
            return Err(InferenceError::ModelMissing {
                path: model.to_path_buf(),
            });
        }
        let bad = |reason: String| InferenceError::BadModel {
            path: model.to_path_buf(),
            reason,
        };
        let open = || runtime::open_session(model, options.intra_threads);
        let session = open()?;
        let dictionary = session
            .metadata()
            .map_err(|e| bad(e.to_string()))?
            .custom("character")
            .ok_or_else(|| bad("no `character` dictionary in the model metadata".into()))?;
        let mut charset = vec![String::new()];
        charset.extend(dictionary.lines().map(str::to_string));
        charset.push(" ".to_string());
        let classes = session
            .outputs()
            .first()
            .and_then(|o| o.dtype().tensor_shape())
            .and_then(|s| s.last().copied())
            .ok_or_else(|| bad("the model has no tensor output".into()))?;
        if classes >= 0 && classes as usize != charset.len() {
            return Err(bad(format!(
                "the dictionary has {} entries but the model predicts {classes} classes",
                charset.len()
            )));
        }
        let allowed = options
            .latin_only
            .then(|| charset.iter().map(|c| c.chars().all(is_latin)).collect());
        let mut sessions = vec![Mutex::new(session)];
        for _ in 1..options.sessions.max(1) {
            sessions.push(Mutex::new(open()?));
        }
        Ok(Self {
            sessions,
            charset,
            allowed,
            options,
        })
    }

    /// Number of output classes (blank + dictionary + space).
    pub fn classes(&self) -> usize {
        self.charset.len()
    }

    /// Recognises the single text line in an RGBA8 image; returns the text and the mean
    /// confidence of its characters.
    pub fn recognize_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: &[u8],
    ) -> Result<(String, f32), InferenceError> {
        let image = rgb_from_rgba(width, height, rgba)?;
        let mut out = self.recognize_images(&[image])?;
        out.pop()
            .ok_or_else(|| InferenceError::Run("no result".into()))
    }

    /// Recognises one text line per RGB image, in order: text and confidence.
    pub fn recognize_images(
        &self,
        images: &[RgbImage],
    ) -> Result<Vec<(String, f32)>, InferenceError> {
        Ok(self
            .recognize_positioned(images)?
            .into_iter()
            .map(|r| (r.text, r.confidence))
            .collect())
    }

    /// Recognises one text line per RGB image, in order, with where each character is.
    pub fn recognize_positioned(
        &self,
        images: &[RgbImage],
    ) -> Result<Vec<Recognized>, InferenceError> {
        let mut results = vec![Recognized::default(); images.len()];
        // Similar widths together, so little of each batch is padding.
        let mut order: Vec<usize> = (0..images.len()).collect();
        order.sort_by_key(|&i| self.scaled_width(&images[i]));
        let batches = self.batches(&order, images);
        let workers = self.sessions.len().min(batches.len());
        if workers <= 1 {
            for chunk in batches {
                let batch: Vec<&RgbImage> = chunk.iter().map(|&i| &images[i]).collect();
                for (&i, r) in chunk.iter().zip(self.run_batch(0, &batch)?) {
                    results[i] = r;
                }
            }
            return Ok(results);
        }
        // Widest batches first, each taken by whichever session is free next.
        let next = AtomicUsize::new(0);
        let read: Vec<Result<Vec<Indexed>, InferenceError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let (next, batches) = (&next, &batches);
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(chunk) = k
                                .checked_add(1)
                                .and_then(|k1| batches.len().checked_sub(k1))
                                .and_then(|j| batches.get(j))
                            else {
                                return Ok(out);
                            };
                            let batch: Vec<&RgbImage> = chunk.iter().map(|&i| &images[i]).collect();
                            out.extend(chunk.iter().copied().zip(self.run_batch(w, &batch)?));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(InferenceError::Run("a recognition thread panicked".into()))
                    })
                })
                .collect()
        });
        for part in read {
            for (i, r) in part? {
                results[i] = r;
            }
        }
        Ok(results)
    }

    /// Splits lines sorted by width into batches of at most `batch_size` whose padded
    /// widths differ by at most a quarter, so one long line does not pad a whole batch.
    fn batches<'a>(&self, order: &'a [usize], images: &[RgbImage]) -> Vec<&'a [usize]> {
        let padded = |i: usize| {
            images
                .get(i)
                .map_or(0, |im| self.scaled_width(im))
                .max(self.options.min_width)
        };
        let size = self.options.batch_size.max(1);
        let mut batches = Vec::new();
        let mut start = 0;
        for end in 1..=order.len() {
            let full = end - start >= size;
            let last = end == order.len();
            let too_wide = !last && padded(order[end]) * 4 > padded(order[start]) * 5;
            if full || last || too_wide {
                batches.push(&order[start..end]);
                start = end;
            }
        }
        batches
    }

    /// Width of an image scaled to the input height, clamped to the allowed range.
    fn scaled_width(&self, image: &RgbImage) -> u32 {
        let (w, h) = (image.width().max(1), image.height().max(1));
        let scaled = (f64::from(INPUT_HEIGHT) * f64::from(w) / f64::from(h)).ceil() as u32;
        scaled.clamp(1, self.options.max_width.max(STRIDE))
    }

    /// Reads one batch on session `session`.
    fn run_batch(
        &self,
        session: usize,
        images: &[&RgbImage],
    ) -> Result<Vec<Recognized>, InferenceError> {
        let session = self
            .sessions
            .get(session)
            .ok_or_else(|| InferenceError::Run(format!("no recognition session {session}")))?;
        let widths: Vec<u32> = images.iter().map(|im| self.scaled_width(im)).collect();
        let max = widths
            .iter()
            .copied()
            .max()
            .unwrap_or(STRIDE)
            .max(self.options.min_width);
        let input_w = max.div_ceil(STRIDE) * STRIDE;
        let (n, h, w) = (images.len(), INPUT_HEIGHT as usize, input_w as usize);
        // Padding is 0 after normalisation (mid grey), as in PaddleOCR.
        let mut data = vec![0f32; n * 3 * h * w];
        for (b, (image, &rw)) in images.iter().zip(&widths).enumerate() {
            let resized = imageops::resize(*image, rw, INPUT_HEIGHT, FilterType::Triangle);
            let base = b * 3 * h * w;
            for (x, y, px) in resized.enumerate_pixels() {
                let (x, y) = (x as usize, y as usize);
                // BGR channel order, (v/255 - 0.5) / 0.5.
                for (c, &v) in [px[2], px[1], px[0]].iter().enumerate() {
                    data[base + c * h * w + y * w + x] = f32::from(v) / 127.5 - 1.0;
                }
            }
        }
        crate::runtime::run_f32(session, [n, 3, h, w], data, |dims, probs| {
            let [bn, steps, classes] = dims[..] else {
                return Err(InferenceError::Run(format!(
                    "unexpected output shape {dims:?}"
                )));
            };
            if bn != n || classes != self.charset.len() || probs.len() != bn * steps * classes {
                return Err(InferenceError::Run(format!(
                    "unexpected output shape {dims:?} for {n} lines and {} classes",
                    self.charset.len()
                )));
            }
            // Each time step covers `input_w / steps` pixels of the padded input; a line's
            // own width is its scaled width.
            let step_px = f64::from(input_w) / steps.max(1) as f64;
            Ok(probs
                .chunks_exact(steps * classes)
                .zip(&widths)
                .map(|(p, &rw)| self.decode(p, classes, step_px / f64::from(rw.max(1))))
                .collect())
        })
    }

    /// CTC decoding of one line, uncertain symbols at the ends trimmed as the options say.
    /// `step_width` is one time step as a fraction of the line's width.
    fn decode(&self, probs: &[f32], classes: usize, step_width: f64) -> Recognized {
        let mut chars: Vec<(&str, f32, usize)> =
            decode_positioned(probs, classes, self.allowed.as_deref())
                .into_iter()
                .filter_map(|(i, p, step)| self.charset.get(i).map(|c| (c.as_str(), p, step)))
                .collect();
        let limit = self.options.trim_uncertain_edges;
        let uncertain = |c: &(&str, f32, usize)| c.1 < limit;
        let has_word = |chars: &[(&str, f32, usize)]| {
            chars
                .iter()
                .filter(|c| c.0.chars().any(char::is_alphanumeric))
                .count()
                >= 1
        };
        // Only where a label remains: a lone uncertain symbol may be the text itself.
        while chars.len() > 1
            && chars.last().is_some_and(uncertain)
            && has_word(&chars[..chars.len() - 1])
        {
            chars.pop();
        }
        while chars.len() > 1 && chars.first().is_some_and(uncertain) && has_word(&chars[1..]) {
            chars.remove(0);
        }
        // Spaces left at an end after trimming are not text.
        while chars.last().is_some_and(|c| c.0.trim().is_empty()) {
            chars.pop();
        }
        let lead = chars.iter().take_while(|c| c.0.trim().is_empty()).count();
        chars.drain(..lead);
        let confidence = if chars.is_empty() {
            0.0
        } else {
            chars.iter().map(|c| c.1).sum::<f32>() / chars.len() as f32
        };
        let char_x = chars
            .iter()
            .flat_map(|(c, _, step)| {
                let x = ((*step as f64 + 0.5) * step_width).clamp(0.0, 1.0) as f32;
                std::iter::repeat_n(x, c.chars().count())
            })
            .collect();
        Recognized {
            text: chars.iter().map(|c| c.0).collect(),
            confidence,
            char_x,
        }
    }
}

/// Greedy CTC decoding of `[steps, classes]` probabilities (row-major): the best class per
/// step, repeats collapsed, blanks (class 0) dropped. Returns the kept class indices and the
/// mean probability of the kept steps (0 when nothing is kept).
pub fn ctc_greedy_decode(probs: &[f32], classes: usize) -> (Vec<usize>, f32) {
    let kept = ctc_greedy_decode_chars(probs, classes);
    let conf = if kept.is_empty() {
        0.0
    } else {
        kept.iter().map(|k| k.1).sum::<f32>() / kept.len() as f32
    };
    (kept.into_iter().map(|k| k.0).collect(), conf)
}

/// Greedy CTC decoding like [`ctc_greedy_decode`], with the probability of each kept class.
pub fn ctc_greedy_decode_chars(probs: &[f32], classes: usize) -> Vec<(usize, f32)> {
    decode_masked(probs, classes, None)
}

/// Latin script (with extensions), digits, punctuation and common symbols: what an English
/// or European desktop shows.
fn is_latin(c: char) -> bool {
    let u = u32::from(c);
    u < 0x250 || (0x2000..=0x22FF).contains(&u) || (0x2500..=0x25FF).contains(&u)
}

/// Greedy CTC decoding over the classes `allowed` permits (all when `None`; the blank
/// always).
fn decode_masked(probs: &[f32], classes: usize, allowed: Option<&[bool]>) -> Vec<(usize, f32)> {
    decode_positioned(probs, classes, allowed)
        .into_iter()
        .map(|(c, p, _)| (c, p))
        .collect()
}

/// Greedy CTC decoding like [`decode_masked`], with the time step each class was first
/// emitted at.
fn decode_positioned(
    probs: &[f32],
    classes: usize,
    allowed: Option<&[bool]>,
) -> Vec<(usize, f32, usize)> {
    let ok = |i: usize| i == 0 || allowed.is_none_or(|a| a.get(i).copied().unwrap_or(false));
    let mut kept = Vec::new();
    let mut previous = 0usize;
    for (step, row) in probs.chunks_exact(classes.max(1)).enumerate() {
        let (best, p) = row
            .iter()
            .copied()
            .enumerate()
            .filter(|&(i, _)| ok(i))
            .fold(
                (0, f32::NEG_INFINITY),
                |acc, (i, v)| if v > acc.1 { (i, v) } else { acc },
            );
        if best != 0 && best != previous {
            kept.push((best, p, step));
        }
        previous = best;
    }
    kept
}

fn rgb_from_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<RgbImage, InferenceError> {
    if width == 0 || height == 0 {
        return Err(InferenceError::InvalidInput(format!(
            "image is empty ({width}x{height})"
        )));
    }
    let expected = width as usize * height as usize * 4;
    if rgba.len() != expected {
        return Err(InferenceError::InvalidInput(format!(
            "RGBA buffer has {} bytes, {width}x{height} needs {expected}",
            rgba.len()
        )));
    }
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| InferenceError::InvalidInput("bad image buffer".into()))
}

impl Ocr for TextRecognizer {
    /// One line per region, in order. A region that is empty or lies outside the frame
    /// yields an empty text with confidence 0. Regions should fit the text closely (a few
    /// pixels of margin): when the text is small inside a loose box the model drops the
    /// narrow spaces around operators ("7 + 8" reads "7+8").
    fn recognize(&self, frame: &Frame, regions: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        let mut images = Vec::with_capacity(regions.len());
        let mut slots = Vec::with_capacity(regions.len());
        for region in regions {
            match frame
                .crop_desktop(*region)
                .filter(|c| c.width > 0 && c.height > 0)
            {
                Some(crop) => {
                    slots.push(Some(images.len()));
                    images.push(rgb_from_rgba(crop.width, crop.height, &crop.rgba)?);
                }
                None => slots.push(None),
            }
        }
        let results = self.recognize_images(&images)?;
        Ok(regions
            .iter()
            .zip(slots)
            .map(|(region, slot)| {
                let (text, confidence) = slot
                    .and_then(|i| results.get(i).cloned())
                    .unwrap_or_default();
                TextLine {
                    text,
                    confidence,
                    bounds: *region,
                    words: Vec::new(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn greedy_decode_collapses_repeats_and_drops_blanks() {
        // classes: 0 blank, 1 'a', 2 'b'; steps: a a blank a b b
        let rows = [
            [0.1, 0.8, 0.1],
            [0.1, 0.6, 0.3],
            [0.9, 0.05, 0.05],
            [0.2, 0.7, 0.1],
            [0.1, 0.1, 0.8],
            [0.1, 0.3, 0.6],
        ];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let (idx, conf) = ctc_greedy_decode(&flat, 3);
        assert_eq!(idx, vec![1, 1, 2]);
        assert!((conf - (0.8 + 0.7 + 0.8) / 3.0).abs() < 1e-6);
        assert_eq!(ctc_greedy_decode(&[0.9, 0.1], 2), (vec![], 0.0));
    }

    #[test]
    fn rgba_buffers_are_checked() {
        assert!(matches!(
            rgb_from_rgba(0, 4, &[]),
            Err(InferenceError::InvalidInput(_))
        ));
        assert!(matches!(
            rgb_from_rgba(2, 2, &[0; 15]),
            Err(InferenceError::InvalidInput(_))
        ));
        let im = rgb_from_rgba(1, 1, &[1, 2, 3, 4]).unwrap();
        assert_eq!(im.get_pixel(0, 0).0, [1, 2, 3]);
    }
}
