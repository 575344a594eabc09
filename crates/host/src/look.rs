//! The fused view of the desktop for people and scripts: `deskhand look`, `deskhand read --at`
//! and `deskhand find`. One [`Eyes`] per instance keeps the perceiver's caches, so the
//! second look only reads what changed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use deskhand_core::ports::{Ocr, TextLine};
use deskhand_core::{Frame, LayoutNode, Point, PortError, Rect};
use deskhand_inference::{init_runtime, ModelPaths, OcrEngine, OcrOptions};
use deskhand_perception::perceiver::{window_boxes, Perceiver, PerceiverOptions, Perception};
use deskhand_perception::tol::{read_at, Reading};
use deskhand_perception::WindowLister;

use crate::config::Config;
use crate::session::{Deskhand, HostError};

/// The perceiver and its OCR engine. The engine is loaded the first time text must be read
/// (an unchanged screen needs none); the perceiver's ids and caches are saved after every
/// look and taken back by the next process, so ids `look` printed hold in a following `do`.
pub struct Eyes {
    perceiver: Mutex<Option<(LookOptions, Perceiver)>>,
    ocr: Arc<LazyOcr>,
    saved: PathBuf,
}

impl std::fmt::Debug for Eyes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eyes")
            .field("saved", &self.saved)
            .finish_non_exhaustive()
    }
}

impl Eyes {
    /// Eyes for a configuration (models under its cache directory, the saved perceiver in
    /// its data directory, one file per display).
    pub fn new(config: &Config) -> Self {
        Self {
            perceiver: Mutex::new(None),
            ocr: Arc::new(LazyOcr {
                paths: ModelPaths::from_cache_dir(&config.cache_dir),
                engine: OnceLock::new(),
            }),
            saved: saved_perceiver_path(config),
        }
    }

    /// Where the perceiver of this display is kept between processes.
    pub fn saved_path(&self) -> &Path {
        &self.saved
    }

    /// A perceiver for `options`, with what an earlier process saved for this display.
    fn perceiver(&self, options: LookOptions, notes: &mut Vec<String>) -> Perceiver {
        let ocr = options.ocr.then(|| self.ocr.clone() as Arc<dyn Ocr>);
        let mut perceiver = Perceiver::new(
            PerceiverOptions {
                ocr: options.ocr,
                accessibility: options.accessibility,
                ..PerceiverOptions::default()
            },
            ocr,
        );
        match std::fs::read(&self.saved) {
            Ok(bytes) => {
                if let Err(e) = perceiver.restore(&bytes) {
                    notes.push(format!(
                        "ids start afresh: {} was not read back ({e})",
                        self.saved.display()
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => notes.push(format!(
                "ids start afresh: cannot read {}: {e}",
                self.saved.display()
            )),
        }
        perceiver
    }

    /// Writes the perceiver for the next process: to a temporary file renamed into place, so
    /// a reader never sees half a file and the last writer wins whole.
    fn save(&self, perceiver: &Perceiver) -> Result<(), String> {
        let bytes = perceiver.save().map_err(|e| e.to_string())?;
        let dir = self.saved.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("write in {}: {e}", dir.display()))?;
        std::io::Write::write_all(&mut tmp, &bytes)
            .map_err(|e| format!("write in {}: {e}", dir.display()))?;
        tmp.persist(&self.saved)
            .map_err(|e| format!("write {}: {e}", self.saved.display()))?;
        Ok(())
    }
}

/// `<data dir>/perception/display-<DISPLAY>.json`: ids and caches belong to one screen.
fn saved_perceiver_path(config: &Config) -> PathBuf {
    let display: String = config
        .display
        .as_deref()
        .unwrap_or("none")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    config
        .data_dir
        .join("perception")
        .join(format!("display-{display}.json"))
}

/// The OCR engine, loaded on first use: ONNX Runtime and the models cost a few hundred
/// milliseconds a process, paid only when something new must be read.
struct LazyOcr {
    paths: ModelPaths,
    engine: OnceLock<Result<Arc<OcrEngine>, String>>,
}

impl LazyOcr {
    /// Why OCR cannot work at all, told before anything is perceived: a missing file names
    /// itself and `./x setup`.
    fn missing(&self) -> Option<String> {
        [
            &self.paths.onnxruntime,
            &self.paths.ocr_rec,
            &self.paths.ocr_det_tiny,
        ]
        .into_iter()
        .find(|p| !p.is_file())
        .map(|p| format!("{} is missing (run ./x setup)", p.display()))
    }

    fn engine(&self) -> Result<Arc<OcrEngine>, PortError> {
        self.engine
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
            .map_err(PortError::failed)
    }
}

impl Ocr for LazyOcr {
    fn recognize(&self, frame: &Frame, regions: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        self.engine()?.recognize(frame, regions)
    }

    fn read_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        self.engine()?.read_text(frame, areas)
    }

    fn find_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<Rect>, PortError> {
        self.engine()?.find_text(frame, areas)
    }

    fn read_found(
        &self,
        frame: &Frame,
        found: &[Rect],
        wanted: &[bool],
    ) -> Result<Vec<TextLine>, PortError> {
        Ocr::read_found(self.engine()?.as_ref(), frame, found, wanted)
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
        let ocr_missing = options.ocr.then(|| eyes.ocr.missing()).flatten();
        if let Some(why) = &ocr_missing {
            notes.push(format!("no OCR: {why}"));
        }
        let wanted = LookOptions {
            ocr: options.ocr && ocr_missing.is_none(),
            accessibility: options.accessibility,
        };
        let mut slot = eyes
            .perceiver
            .lock()
            .map_err(|_| HostError::Other("the perceiver was poisoned by a panic".into()))?;
        let reuse = matches!(&*slot, Some((o, _)) if *o == wanted);
        if !reuse {
            let perceiver = match slot.take() {
                // Same process, other options: keep the ids, drop the caches.
                Some((_, old)) => {
                    let mut p = eyes.perceiver(wanted, &mut Vec::new());
                    if let Ok(bytes) = old.save() {
                        let _ = p.restore(&bytes);
                    }
                    p
                }
                None => eyes.perceiver(wanted, &mut notes),
            };
            *slot = Some((wanted, perceiver));
        }
        let Some((_, perceiver)) = slot.as_mut() else {
            return Err(HostError::Other("no perceiver".into()));
        };
        let lister = WindowLister::connect()?;
        let windows = || lister.list().map(|w| window_boxes(&w));
        let a11y = self.accessibility_port().filter(|_| options.accessibility);
        let (mut perception, frames) = perceiver.perceive(self.screen_port(), &windows, a11y)?;
        if !perception.unchanged {
            if let Err(e) = eyes.save(perceiver) {
                notes.push(format!("ids will not carry over to the next command: {e}"));
            }
        }
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
        let (node, aim) = deskhand_core::grounding::ground_aim(&p.tree, description)
            .map_err(|e| HostError::Other(e.to_string()))?;
        let point = match aim {
            Some(word) => word,
            None => p
                .tree
                .action_point(&node.id)
                .map_err(|e| HostError::Other(e.to_string()))?,
        };
        Ok((node.clone(), point))
    }
}
