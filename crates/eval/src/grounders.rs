//! Grounders: given a screenshot (and, when fused, the accessibility tree) and an instruction
//! ("the 'Save' button"), say where to click.
//!
//! To add one, write a type implementing [`Grounder`] and add one line to [`REGISTRY`].

use std::sync::Mutex;

use deskhand_core::ports::TextLine;
use deskhand_core::{Frame, LayoutTree, Point};
use deskhand_inference::{ModelPaths, OcrEngine, OcrOptions};

use crate::classify::{label_visible, normalise, similarity};
use crate::dataset::{noun, parse_instruction, Resolution};
use crate::error::EvalError;

/// What a grounder may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The screenshot only.
    Vision,
    /// The screenshot and the application's accessibility tree.
    Fused,
}

impl Mode {
    /// "vision" or "fused".
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Vision => "vision",
            Mode::Fused => "fused",
        }
    }
}

/// One screen state as a grounder sees it. Desktop coordinates equal screenshot pixels
/// (one monitor at the origin, scale 1).
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The application ("mousepad").
    pub app: &'a str,
    /// The state ("main", "menu", "dialog-open", ...).
    pub state: &'a str,
    /// The screen size.
    pub resolution: Resolution,
    /// The screenshot.
    pub frame: &'a Frame,
    /// The application's accessibility tree at that moment; `None` in vision mode.
    pub tree: Option<&'a LayoutTree>,
}

/// Finds the element an instruction describes.
pub trait Grounder {
    /// Its name in reports ("a11y-centre").
    fn name(&self) -> &str;
    /// What it may see; the harness withholds the tree from vision grounders.
    fn mode(&self) -> Mode;
    /// The point to click for the instruction, or `None` when it finds nothing.
    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError>;
}

/// What constructors may need.
#[derive(Debug, Clone)]
pub struct GrounderContext {
    /// Where the ONNX Runtime library and the models are.
    pub models: ModelPaths,
}

/// Makes a grounder.
pub type Constructor = fn(&GrounderContext) -> Result<Box<dyn Grounder>, EvalError>;

/// Every grounder by name, in report order. Plug a new one in here with one line.
pub const REGISTRY: &[(&str, Constructor)] = &[
    ("random", |_| Ok(Box::new(Random))),
    ("ocr-only", |c| Ok(Box::new(OcrOnly::new(&c.models)?))),
    ("a11y-centre", |_| Ok(Box::new(AccessibilityCentre))),
    ("tol-vision", |c| {
        Ok(Box::new(crate::tol::TreeOfLens::new(
            &c.models,
            Mode::Vision,
        )?))
    }),
    ("tol-fused", |c| {
        Ok(Box::new(crate::tol::TreeOfLens::new(
            &c.models,
            Mode::Fused,
        )?))
    }),
];

/// The registered names.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
}

/// Makes the grounder with this name.
pub fn create(name: &str, context: &GrounderContext) -> Result<Box<dyn Grounder>, EvalError> {
    let (_, make) = REGISTRY
        .iter()
        .find(|(n, _)| *n == name.trim())
        .ok_or_else(|| EvalError::UnknownGrounder {
            name: name.to_string(),
            known: names().join(", "),
        })?;
    make(context)
}

/// A uniformly random point, the same for the same sample and instruction (sanity baseline).
#[derive(Debug, Clone, Copy)]
pub struct Random;

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Grounder for Random {
    fn name(&self) -> &str {
        "random"
    }
    fn mode(&self) -> Mode {
        Mode::Vision
    }
    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError> {
        let res = sample.resolution.to_string();
        let mut state = fnv1a(&[sample.app, sample.state, &res, instruction]);
        let x = splitmix(&mut state) % u64::from(sample.resolution.width.max(1));
        let y = splitmix(&mut state) % u64::from(sample.resolution.height.max(1));
        Ok(Some(Point::new(x as f64 + 0.5, y as f64 + 0.5)))
    }
}

/// The centre of the accessibility box of the node the instruction names (the fused upper
/// bound: it reads the answer from the tree).
#[derive(Debug, Clone, Copy)]
pub struct AccessibilityCentre;

impl Grounder for AccessibilityCentre {
    fn name(&self) -> &str {
        "a11y-centre"
    }
    fn mode(&self) -> Mode {
        Mode::Fused
    }
    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError> {
        let (Some(tree), Some((name, wanted))) = (sample.tree, parse_instruction(instruction))
        else {
            return Ok(None);
        };
        Ok(tree
            .walk()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| n.is_on_screen() && n.name.trim() == name && noun(&n.role) == wanted)
            .filter_map(|n| n.bounds)
            .map(|b| b.center())
            .find(|c| {
                c.x < f64::from(sample.resolution.width)
                    && c.y < f64::from(sample.resolution.height)
            }))
    }
}

/// Matches the instruction's quoted name against the text lines OCR reads on the whole
/// screenshot (PP-OCRv6 detection + recognition) and clicks where the name sits in the best
/// line. Knows nothing of icons: the baseline a vision grounder must beat.
pub struct OcrOnly {
    engine: OcrEngine,
    /// The lines of the last screenshot read (elements of one state come one after another).
    last: Mutex<Option<(String, Vec<TextLine>)>>,
}

impl std::fmt::Debug for OcrOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrOnly").finish_non_exhaustive()
    }
}

impl OcrOnly {
    /// Loads the OCR models.
    pub fn new(models: &ModelPaths) -> Result<Self, EvalError> {
        Ok(Self {
            engine: OcrEngine::new(models, OcrOptions::default())?,
            last: Mutex::new(None),
        })
    }

    fn lines(&self, sample: &Sample<'_>) -> Result<Vec<TextLine>, EvalError> {
        let key = format!("{}/{}/{}", sample.app, sample.resolution, sample.state);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, lines)) = last.as_ref() {
            if *k == key {
                return Ok(lines.clone());
            }
        }
        let lines = self.engine.read(sample.frame, &[])?;
        *last = Some((key, lines.clone()));
        Ok(lines)
    }
}

/// Where in a line the name is: the centre of its characters when it is a substring (the
/// detector often joins neighbouring labels into one line), else the line's centre.
fn point_in_line(line: &TextLine, name: &str) -> Point {
    let text: Vec<char> = normalise(&line.text).chars().collect();
    let name: Vec<char> = normalise(name).chars().collect();
    let b = line.bounds;
    let centre = b.center();
    if text.is_empty() || name.is_empty() {
        return centre;
    }
    match text.windows(name.len()).position(|w| w == name.as_slice()) {
        Some(start) => {
            let mid = (start as f64 + name.len() as f64 / 2.0) / text.len() as f64;
            Point::new(f64::from(b.x) + mid * f64::from(b.width), centre.y)
        }
        None => centre,
    }
}

impl Grounder for OcrOnly {
    fn name(&self) -> &str {
        "ocr-only"
    }
    fn mode(&self) -> Mode {
        Mode::Vision
    }
    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError> {
        let Some((name, _)) = parse_instruction(instruction) else {
            return Ok(None);
        };
        let wanted = normalise(name);
        let lines = self.lines(sample)?;
        // Best: the line that is the name; then the closest reading; then the shortest line.
        let best = lines
            .iter()
            .filter(|l| label_visible(name, &l.text))
            .map(|l| {
                let exact = normalise(&l.text) == wanted;
                (exact, similarity(name, &l.text), l)
            })
            .max_by(|a, b| {
                (a.0, a.1)
                    .partial_cmp(&(b.0, b.1))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(b.2.text.len().cmp(&a.2.text.len()))
            });
        Ok(best.map(|(_, _, l)| point_in_line(l, name)))
    }
}

#[cfg(test)]
mod tests {
    use deskhand_core::Rect;

    use super::*;

    #[test]
    fn the_name_is_found_inside_a_joined_line() {
        let line = TextLine {
            text: "File Edit View".into(),
            confidence: 0.9,
            bounds: Rect::new(0, 0, 120, 20),
            words: Vec::new(),
        };
        let p = point_in_line(&line, "Edit");
        assert!((50.0..=65.0).contains(&p.x), "{p:?}");
        assert_eq!(point_in_line(&line, "Hlp"), line.bounds.center());
    }

    #[test]
    fn registry_names_are_unique_and_known() {
        let mut n = names();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), REGISTRY.len());
        let context = GrounderContext {
            models: ModelPaths::from_cache_dir("/nonexistent"),
        };
        assert!(matches!(
            create("nope", &context),
            Err(EvalError::UnknownGrounder { .. })
        ));
        assert!(create("random", &context).is_ok());
        // A missing model is an error naming the file, not a panic.
        let err = create("ocr-only", &context).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("/nonexistent")));
    }
}
