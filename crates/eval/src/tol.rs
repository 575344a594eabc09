//! The Tree-of-Lens grounders: Deskhand's own perception (pixel segmentation + OCR, fused
//! with the accessibility tree when allowed) and grounding by description.
//!
//! `tol-vision` sees the screenshot only: the fused tree is built from OCR lines and pixel
//! segments. `tol-fused` adds the application's accessibility tree.

use std::sync::{Arc, Mutex};

use deskhand_core::grounding::{ground_description, Description};
use deskhand_core::ports::Ocr;
use deskhand_core::{LayoutNode, LayoutTree, NodeSource, Point};
use deskhand_inference::{init_runtime, ModelPaths, OcrEngine, OcrOptions};
use deskhand_perception::perceiver::{Perceiver, PerceiverOptions};

use crate::classify::normalise;
use crate::dataset::parse_instruction;
use crate::error::EvalError;
use crate::grounders::{Grounder, Mode, Sample};

/// Perception + grounding by description.
pub struct TreeOfLens {
    mode: Mode,
    ocr: Arc<OcrEngine>,
    /// The fused tree of the last screen state (the elements of one state come in a row).
    last: Mutex<Option<(String, LayoutTree)>>,
}

impl std::fmt::Debug for TreeOfLens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeOfLens")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl TreeOfLens {
    /// Loads the OCR models; `mode` says whether the accessibility tree may be used.
    pub fn new(models: &ModelPaths, mode: Mode) -> Result<Self, EvalError> {
        init_runtime(&models.onnxruntime)?;
        Ok(Self {
            mode,
            ocr: Arc::new(OcrEngine::new(models, OcrOptions::default())?),
            last: Mutex::new(None),
        })
    }

    fn tree(&self, sample: &Sample<'_>) -> LayoutTree {
        let key = format!("{}/{}/{}", sample.app, sample.resolution, sample.state);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, tree)) = last.as_ref() {
            if *k == key {
                return tree.clone();
            }
        }
        let options = PerceiverOptions {
            accessibility: self.mode == Mode::Fused,
            ..PerceiverOptions::default()
        };
        let mut perceiver = Perceiver::new(options, Some(self.ocr.clone() as Arc<dyn Ocr>));
        let accessibility = match self.mode {
            Mode::Fused => sample.tree.cloned(),
            Mode::Vision => None,
        };
        let tree = perceiver
            .perceive_frames(std::slice::from_ref(sample.frame), &[], accessibility)
            .tree;
        *last = Some((key, tree.clone()));
        tree
    }
}

/// Where to click on a node for a name: inside an OCR line that holds several labels
/// ("File Edit View"), the centre of the name's characters; otherwise the node's action
/// point.
fn point_for(tree: &LayoutTree, node: &LayoutNode, name: &str) -> Option<Point> {
    let point = tree.action_point(&node.id).ok()?;
    if node.source != NodeSource::Ocr {
        return Some(point);
    }
    let b = node.bounds?;
    let text: Vec<char> = normalise(&node.name).chars().collect();
    let want: Vec<char> = normalise(name).chars().collect();
    if want.is_empty() || text.len() <= want.len() {
        return Some(point);
    }
    let start = text
        .windows(want.len())
        .position(|w| w == want.as_slice())?;
    let mid = (start as f64 + want.len() as f64 / 2.0) / text.len() as f64;
    Some(Point::new(
        f64::from(b.x) + mid * f64::from(b.width),
        point.y,
    ))
}

impl Grounder for TreeOfLens {
    fn name(&self) -> &str {
        match self.mode {
            Mode::Vision => "tol-vision",
            Mode::Fused => "tol-fused",
        }
    }

    fn mode(&self) -> Mode {
        self.mode
    }

    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError> {
        let Some((name, noun)) = parse_instruction(instruction) else {
            return Ok(None);
        };
        let tree = self.tree(sample);
        let description = Description {
            name: Some(name.to_string()),
            kind: Some(noun.to_string()),
            ..Description::default()
        };
        // Ambiguity and absence are misses: grounding never guesses.
        Ok(ground_description(&tree, &description)
            .ok()
            .and_then(|node| point_for(&tree, node, name)))
    }
}
