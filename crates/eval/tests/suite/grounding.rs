//! The grounding set built live from mousepad and galculator (1280x800, main window and first
//! menu open), its ground truth checked against what is known of these apps, and the scoring
//! checked with grounders whose accuracy is known in advance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use deskhand_core::{Frame, Point};
use deskhand_eval::grounders::AccessibilityCentre;
use deskhand_eval::{
    AppSpec, BuildOptions, ElementKind, EvalError, Grounder, GroundingOptions, LoadedState, Mode,
    Resolution, Sample, ScreenState, TextClassifier,
};
use deskhand_inference::{default_cache_dir, ModelPaths};

fn models() -> ModelPaths {
    ModelPaths::from_cache_dir(default_cache_dir())
}

fn options(dir: &std::path::Path, apps: &[&str]) -> GroundingOptions {
    let mut o = GroundingOptions::new(dir.to_path_buf(), models());
    o.apps = apps.iter().map(|a| a.to_string()).collect();
    o.resolutions = vec![Resolution::DEFAULTS[0]];
    o.dialogs = false;
    o
}

fn state<'a>(set: &'a [LoadedState], app: &str, name: &str) -> &'a ScreenState {
    &set.iter()
        .find(|s| s.state.app == app && s.state.state == name)
        .unwrap_or_else(|| panic!("no {app} {name} state"))
        .state
}

fn element<'a>(s: &'a ScreenState, instruction: &str) -> &'a deskhand_eval::Element {
    s.elements
        .iter()
        .find(|e| e.instruction == instruction)
        .unwrap_or_else(|| {
            let all: Vec<&str> = s.elements.iter().map(|e| e.instruction.as_str()).collect();
            panic!("{instruction} not in {} {}: {all:?}", s.app, s.state)
        })
}

/// The a11y-centre answer moved 500 px right and down: always wrong.
struct OffBy500;

impl Grounder for OffBy500 {
    fn name(&self) -> &str {
        "off-by-500"
    }
    fn mode(&self) -> Mode {
        Mode::Fused
    }
    fn locate(&self, sample: &Sample<'_>, instruction: &str) -> Result<Option<Point>, EvalError> {
        Ok(AccessibilityCentre
            .locate(sample, instruction)?
            .map(|p| Point::new(p.x + 500.0, p.y + 500.0)))
    }
}

#[test]
fn small_set_has_true_boxes_and_scores_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let o = options(dir.path(), &["mousepad", "galculator"]);
    let set = deskhand_eval::load_or_build(&o).unwrap();
    let states: Vec<&str> = set.iter().map(|s| s.state.state.as_str()).collect();
    assert_eq!(states, ["main", "menu", "main", "menu"]);

    // mousepad: the File menu in the menu bar at the top left, its label readable.
    let main = state(&set, "mousepad", "main");
    let file = element(main, "the 'File' menu");
    assert!(
        file.bounds.x < 40 && file.bounds.y < 80,
        "{:?}",
        file.bounds
    );
    assert!((15..=40).contains(&file.bounds.height), "{:?}", file.bounds);
    assert_eq!(file.kind, ElementKind::Text, "read {:?}", file.read);
    // With File open its items are there too, below it.
    let menu = state(&set, "mousepad", "menu");
    let quit = element(menu, "the 'Quit' menu item");
    assert!(quit.bounds.y > file.bounds.bottom() as i32);
    assert_eq!(quit.kind, ElementKind::Text, "read {:?}", quit.read);

    // galculator: the 7 key inside the calculator window, readable.
    let calc = state(&set, "galculator", "main");
    let seven = element(calc, "the '7' button");
    let window = calc.tree.root.children[0].bounds.unwrap();
    assert!(
        window.contains_rect(&seven.bounds),
        "{:?} in {window:?}",
        seven.bounds
    );
    assert!(seven.bounds.width >= 20 && seven.bounds.height >= 15);
    assert_eq!(seven.kind, ElementKind::Text, "read {:?}", seven.read);

    // With its first menu open, what the popup covers is gone and the rest stays.
    let mut excluded = 0;
    for app in ["mousepad", "galculator"] {
        let (main, menu) = (state(&set, app, "main"), state(&set, app, "menu"));
        let popup = menu
            .elements
            .iter()
            .filter(|e| e.role.contains("menu item"))
            .map(|e| e.bounds)
            .reduce(|a, b| a.union(&b))
            .unwrap_or_else(|| panic!("{app}: no menu items in the menu state"));
        for e in &main.elements {
            let covered = e.bounds.intersection(&popup).is_some();
            let kept = menu.elements.iter().any(|m| m.instruction == e.instruction);
            if covered {
                assert!(
                    !kept,
                    "{app}: {} is under the open menu {popup:?}",
                    e.instruction
                );
                excluded += 1;
            } else {
                assert!(
                    kept,
                    "{app}: {} went missing with the menu open",
                    e.instruction
                );
            }
        }
    }
    assert!(excluded > 0, "the open menus covered nothing");

    // Scoring: the answer key scores 1, random near 0, a shifted answer key 0.
    let loaded: Vec<(ScreenState, Frame)> = set
        .iter()
        .map(|s| (s.state.clone(), s.state.load_frame(&s.dir).unwrap()))
        .collect();
    let total: usize = loaded.iter().map(|(s, _)| s.elements.len()).sum();
    assert!(total >= 40, "only {total} elements");
    let exact = deskhand_eval::score(&AccessibilityCentre, &loaded).unwrap();
    assert_eq!(exact.overall.total, total);
    assert_eq!(exact.overall.accuracy(), 1.0, "{exact:?}");
    let random = deskhand_eval::score(&deskhand_eval::grounders::Random, &loaded).unwrap();
    assert!(random.overall.accuracy() < 0.2, "{random:?}");
    let wrong = deskhand_eval::score(&OffBy500, &loaded).unwrap();
    assert!(wrong.overall.accuracy() <= 0.02, "{wrong:?}");

    // A second run reads the cache instead of building again.
    let manifest = dir.path().join("mousepad-1280x800/manifest.json");
    let before = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    let report = deskhand_eval::run(&{
        let mut o = o.clone();
        o.grounders = vec!["a11y-centre".into(), "random".into()];
        o
    })
    .unwrap();
    assert_eq!(
        std::fs::metadata(&manifest).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(report.rows[0].overall.accuracy(), 1.0);
    assert_eq!(report.set.len(), 4);
    assert!(report.table().contains("a11y-centre"));
}

#[test]
fn unknown_and_missing_apps_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = deskhand_eval::load_or_build(&options(dir.path(), &["notepad"])).unwrap_err();
    assert!(matches!(err, EvalError::UnknownApp { .. }), "{err}");
    assert!(err.to_string().contains("mousepad, galculator"), "{err}");

    let ghost = AppSpec {
        name: "ghostwriter",
        argv: &["deskhand-no-such-app"],
        package: "ghostwriter",
        title: "Ghost",
        maximize: false,
        menu: None,
        dialogs: &[],
    };
    let classifier = TextClassifier::new(&models()).unwrap();
    let build = BuildOptions {
        data_dir: dir.path().to_path_buf(),
        dialogs: false,
    };
    let err =
        deskhand_eval::build_app(&ghost, Resolution::DEFAULTS[0], &classifier, &build).unwrap_err();
    assert!(matches!(err, EvalError::AppMissing { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("deskhand-no-such-app")
            && text.contains("./x setup")
            && text.contains("package ghostwriter"),
        "{text}"
    );
    assert!(!dir.path().join("ghostwriter-1280x800").exists());
}

#[test]
fn unknown_resolution_and_grounder_are_refused() {
    assert!(matches!(
        Resolution::parse("big"),
        Err(EvalError::BadResolution(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), &["mousepad"]);
    o.grounders = vec!["oracle".into()];
    let err = deskhand_eval::run(&o).unwrap_err();
    assert!(matches!(err, EvalError::UnknownGrounder { .. }), "{err}");
    assert!(err.to_string().contains("a11y-centre"), "{err}");
}
