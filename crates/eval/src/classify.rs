//! Text or icon: is the element's name printed in its box? The OCR recogniser reads the box
//! and the reading is matched loosely against the name.

use deskhand_core::ports::Ocr;
use deskhand_core::{Frame, Rect};
use deskhand_inference::{ModelPaths, RecognizerOptions, TextRecognizer};

use crate::dataset::ElementKind;
use crate::error::EvalError;

/// Share of the name's characters that must be read right (1 - edit distance / length).
const MIN_SIMILARITY: f64 = 0.8;
/// Boxes taller than this are not one text line; their top band is read instead.
const MAX_LINE_HEIGHT: u32 = 64;

/// Classifies elements as text or icon with the PP-OCRv6 recogniser.
#[derive(Debug)]
pub struct TextClassifier {
    recognizer: TextRecognizer,
}

impl TextClassifier {
    /// Loads the recogniser from the model cache.
    pub fn new(paths: &ModelPaths) -> Result<Self, EvalError> {
        Ok(Self {
            recognizer: TextRecognizer::new(paths, RecognizerOptions::default())?,
        })
    }

    /// Reads each box and says whether its name is visible there; returns the kind and the
    /// reading, in order.
    pub fn classify(
        &self,
        frame: &Frame,
        elements: &[(&str, Rect)],
    ) -> Result<Vec<(ElementKind, String)>, EvalError> {
        let regions: Vec<Rect> = elements
            .iter()
            .map(|(_, b)| line_region(ink_box(frame, *b).unwrap_or(*b)))
            .collect();
        let lines = self
            .recognizer
            .recognize(frame, &regions)
            .map_err(EvalError::port("read element boxes with OCR"))?;
        Ok(elements
            .iter()
            .zip(lines)
            .map(|((name, _), line)| {
                let kind = if label_visible(name, &line.text) {
                    ElementKind::Text
                } else {
                    ElementKind::Icon
                };
                (kind, line.text)
            })
            .collect())
    }
}

/// Pixels whose channels all lie within this of the background are background.
const INK_CONTRAST: u8 = 48;

/// The tight box around what is drawn inside `b` (on its most common colour), padded by a
/// few pixels: the recogniser reads small labels in big buttons only from a tight crop.
/// `None` when the box is outside the frame or holds nothing but background.
fn ink_box(frame: &Frame, b: Rect) -> Option<Rect> {
    let inset: u32 = if b.width >= 12 && b.height >= 12 {
        2
    } else {
        0
    };
    let x0 = u32::try_from(b.x).ok()? + inset;
    let y0 = u32::try_from(b.y).ok()? + inset;
    let x1 = u32::try_from(b.right())
        .ok()?
        .saturating_sub(inset)
        .min(frame.width);
    let y1 = u32::try_from(b.bottom())
        .ok()?
        .saturating_sub(inset)
        .min(frame.height);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let mut counts: std::collections::HashMap<[u8; 3], usize> = std::collections::HashMap::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = frame.pixel(x, y)?;
            *counts.entry([p[0] >> 4, p[1] >> 4, p[2] >> 4]).or_default() += 1;
        }
    }
    let (bg, _) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    let bg = bg.map(|c| (c << 4) | 8);
    let (mut ix0, mut iy0, mut ix1, mut iy1) = (u32::MAX, u32::MAX, 0, 0);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = frame.pixel(x, y)?;
            if (0..3).any(|c| p[c].abs_diff(bg[c]) > INK_CONTRAST) {
                ix0 = ix0.min(x);
                iy0 = iy0.min(y);
                ix1 = ix1.max(x + 1);
                iy1 = iy1.max(y + 1);
            }
        }
    }
    if ix1 <= ix0 || iy1 <= iy0 {
        return None;
    }
    const PAD: u32 = 4;
    let (px0, py0) = (
        ix0.saturating_sub(PAD).max(x0),
        iy0.saturating_sub(PAD).max(y0),
    );
    let (px1, py1) = ((ix1 + PAD).min(x1), (iy1 + PAD).min(y1));
    Some(Rect::new(px0 as i32, py0 as i32, px1 - px0, py1 - py0))
}

/// The part of a box read as one line: all of it, or the top band of a tall box (a text
/// area's label or first line).
fn line_region(b: Rect) -> Rect {
    if b.height <= MAX_LINE_HEIGHT {
        b
    } else {
        Rect::new(b.x, b.y, b.width, MAX_LINE_HEIGHT)
    }
}

/// Lower case, no white space, no mnemonic underscores, no trailing ellipsis.
pub(crate) fn normalise(s: &str) -> String {
    let s = s.trim().trim_end_matches('…').trim_end_matches("...");
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// How well `name` appears somewhere in `text`, in [0,1]: 1 for a substring, else the best
/// similarity against any window of the text of the name's length (±1).
pub(crate) fn similarity(name: &str, text: &str) -> f64 {
    let name: Vec<char> = normalise(name).chars().collect();
    let text: Vec<char> = normalise(text).chars().collect();
    if name.is_empty() || text.is_empty() {
        return 0.0;
    }
    if text.windows(name.len()).any(|w| w == name.as_slice()) {
        return 1.0;
    }
    let mut best = 0usize;
    for len in name.len().saturating_sub(1)..=name.len() + 1 {
        let len = len.clamp(1, text.len());
        for w in text.windows(len) {
            let d = edit_distance(&name, w);
            best = best.max(name.len().saturating_sub(d));
        }
    }
    best as f64 / name.len() as f64
}

/// True when `read` shows `name` (loosely: OCR may drop a character of a long label, but a
/// one- or two-character label must be read exactly).
pub fn label_visible(name: &str, read: &str) -> bool {
    let n = normalise(name).chars().count();
    let s = similarity(name, read);
    if n <= 4 {
        s >= 1.0
    } else {
        s >= MIN_SIMILARITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_loosely() {
        assert!(label_visible("Save As…", "Save As... Shift+Ctrl+S"));
        assert!(label_visible("New", "New Ctrl+N"));
        assert!(label_visible("7", "7"));
        assert!(!label_visible("7", "1"));
        assert!(label_visible("Preferences", "Preferenccs"));
        assert!(!label_visible("Preferences", ""));
        assert!(!label_visible("Open Parent", "->"));
        assert!(!label_visible("Back", "Bock"));
    }

    #[test]
    fn edit_distance_counts() {
        let a: Vec<char> = "kitten".chars().collect();
        let b: Vec<char> = "sitting".chars().collect();
        assert_eq!(edit_distance(&a, &b), 3);
    }
}
