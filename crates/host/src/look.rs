//! The fused view of the desktop for people and scripts: `deskhand look`, `deskhand read --at`
//! and `deskhand find`. One [`Eyes`] per instance keeps the perceiver's caches, so the
//! second look only reads what changed.

use std::sync::{Arc, Mutex, OnceLock};

use deskhand_core::ports::Ocr;
use deskhand_core::{Frame, LayoutNode, Point};
use deskhand_inference::{init_runtime, ModelPaths, OcrEngine, OcrOptions};
use deskhand_perception::perceiver::{window_boxes, Perceiver, PerceiverOptions, Perception};
use deskhand_perception::tol::{read_at, Reading};
use deskhand_perception::WindowLister;

use crate::config::Config;
use crate::session::{Deskhand, HostError};

/// The perceiver and its OCR engine, loaded on first use.
pub struct Eyes {
    perceiver: Mutex<Option<(LookOptions, Perceiver)>>,
    ocr: OnceLock<Result<Arc<OcrEngine>, String>>,
    paths: ModelPaths,
}

impl std::fmt::Debug for Eyes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eyes").finish_non_exhaustive()
    }
}

impl Eyes {
    /// Eyes for a configuration (models under its cache directory).
    pub fn new(config: &Config) -> Self {
        Self {
            perceiver: Mutex::new(None),
            ocr: OnceLock::new(),
            paths: ModelPaths::from_cache_dir(&config.cache_dir),
        }
    }

    /// The OCR engine, loading ONNX Runtime and the models the first time. A missing model
    /// is an error naming the file and `./x setup`.
    fn ocr(&self) -> Result<Arc<OcrEngine>, String> {
        self.ocr
            .get_or_init(|| {
                init_runtime(&self.paths.onnxruntime).map_err(|e| e.to_string())?;
                // Detection and recognition are the cold path: use the cores (two threads
                // took a cold 1080p perception from 1.87 s to 1.10 s on 2 cores).
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
                let options = OcrOptions {
                    intra_threads: threads,
                    ..OcrOptions::default()
                };
                OcrEngine::new(&self.paths, options)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// What a look should include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookOptions {
    /// Read text on screen with OCR (slower the first time; cached after).
    pub ocr: bool,
    /// Use the accessibility tree.
    pub accessibility: bool,
}

impl Default for LookOptions {
    fn default() -> Self {
        Self {
            ocr: true,
            accessibility: true,
        }
    }
}

impl Deskhand {
    /// Perceives the desktop into the fused Tree-of-Lens layout tree (windows, accessibility,
    /// OCR text, pixel segments), reusing what did not change since the last look.
    pub fn look(&self, options: LookOptions) -> Result<(Perception, Vec<Frame>), HostError> {
        let eyes = self.eyes();
        let mut notes = Vec::new();
        let ocr: Option<Arc<dyn Ocr>> = if options.ocr {
            match eyes.ocr() {
                Ok(engine) => Some(engine as Arc<dyn Ocr>),
                Err(e) => {
                    notes.push(format!("no OCR: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let mut slot = eyes
            .perceiver
            .lock()
            .map_err(|_| HostError::Other("the perceiver was poisoned by a panic".into()))?;
        let wanted = LookOptions {
            ocr: options.ocr && ocr.is_some(),
            accessibility: options.accessibility,
        };
        let reuse = matches!(&*slot, Some((o, _)) if *o == wanted);
        if !reuse {
            let perceiver = Perceiver::new(
                PerceiverOptions {
                    ocr: wanted.ocr,
                    accessibility: wanted.accessibility,
                    ..PerceiverOptions::default()
                },
                ocr,
            );
            *slot = Some((wanted, perceiver));
        }
        let Some((_, perceiver)) = slot.as_mut() else {
            return Err(HostError::Other("no perceiver".into()));
        };
        let lister = WindowLister::connect()?;
        let windows = || lister.list().map(|w| window_boxes(&w));
        let a11y = self.accessibility_port().filter(|_| options.accessibility);
        let (mut perception, frames) = perceiver.perceive(self.screen_port(), &windows, a11y)?;
        if options.accessibility && a11y.is_none() {
            if let Some(why) = self.accessibility_problem() {
                perception
                    .notes
                    .push(format!("accessibility unavailable ({why}): vision only"));
            }
        }
        perception.notes.extend(notes);
        Ok((perception, frames))
    }

    /// Describes what is at a desktop point and where it sits, without any model; also gives
    /// the perception and frames it read (for lens images).
    pub fn read_at(
        &self,
        point: Point,
        options: LookOptions,
    ) -> Result<(Reading, Perception, Vec<Frame>), HostError> {
        let (p, frames) = self.look(options)?;
        if !frames.iter().any(|f| f.monitor.bounds.contains(point)) {
            return Err(HostError::Other(format!(
                "{:.0},{:.0} is not on any monitor (monitors: {})",
                point.x,
                point.y,
                frames
                    .iter()
                    .map(|f| {
                        let b = f.monitor.bounds;
                        format!("{}x{} at {},{}", b.width, b.height, b.x, b.y)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok((read_at(&p.tree, point), p, frames))
    }

    /// Finds the element a description means ("the Save button", "second item in the File
    /// menu") and the point an action would use. Ambiguity and absence are errors.
    pub fn find(
        &self,
        description: &str,
        options: LookOptions,
    ) -> Result<(LayoutNode, Point), HostError> {
        let (p, _) = self.look(options)?;
        let node = deskhand_core::grounding::ground(&p.tree, description)
            .map_err(|e| HostError::Other(e.to_string()))?;
        let point = p
            .tree
            .action_point(&node.id)
            .map_err(|e| HostError::Other(e.to_string()))?;
        Ok((node.clone(), point))
    }
}
