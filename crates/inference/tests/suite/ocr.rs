//! The OCR pipeline (PP-OCRv6 det + rec) on committed screenshots of real apps and on a live
//! virtual desktop.

use std::path::PathBuf;

use std::time::Duration;

use deskhand_core::geometry::{Frame, Monitor, Rect};
use deskhand_core::ports::{Ocr, TextLine};
use deskhand_inference::{default_cache_dir, InferenceError, ModelPaths, OcrEngine, OcrOptions};
use deskhand_xsession::{DesktopOptions, VirtualDesktop};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/fixtures")
}

fn load_frame(name: &str) -> Frame {
    load_frame_at(name, 0, 0)
}

/// A fixture shown on a monitor whose top-left corner is at (x, y) on the desktop.
fn load_frame_at(name: &str, x: i32, y: i32) -> Frame {
    let img = image::open(fixtures().join(format!("{name}.png")))
        .unwrap()
        .to_rgba8();
    Frame {
        monitor: Monitor {
            index: 0,
            name: "fixture".into(),
            bounds: Rect::new(x, y, img.width(), img.height()),
            scale: 1.0,
            primary: true,
        },
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    }
}

/// The engine as configured for an English desktop (the fixtures' language).
fn engine() -> OcrEngine {
    OcrEngine::new(
        &ModelPaths::from_cache_dir(default_cache_dir()),
        OcrOptions {
            latin_only: true,
            ..OcrOptions::default()
        },
    )
    .unwrap()
}

#[derive(serde::Deserialize)]
struct Truth {
    name: String,
    role: String,
    bounds: Rect,
}

fn truth(name: &str) -> Vec<Truth> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.lines.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// What OCR read inside a ground-truth box: the lines whose centre lies in it (with a few
/// pixels of slack), left to right, joined by spaces.
fn read_inside(lines: &[TextLine], b: &Rect) -> String {
    let slack = Rect::new(b.x - 3, b.y - 3, b.width + 6, b.height + 6);
    let mut inside: Vec<&TextLine> = lines
        .iter()
        .filter(|l| slack.contains(l.bounds.center()))
        .collect();
    inside.sort_by_key(|l| l.bounds.x);
    inside
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The UI strings of the committed fixtures (AT-SPI ground truth: menus, menu items,
/// buttons, labels) are read back exactly, each inside its box.
///
/// Target (issue 3): exact-match >= 0.95 on all of them. The engine alone measured 0.911
/// (112/123): every label with a letter or digit reads exactly except one ("MR" beside its
/// chevron reads "MRV"); galculator's lone-symbol keys are the gap: the detector does not
/// see "." and "-" at all, and "/" may read as "1". Perception reads the missed glyphs in
/// their keys and reaches the target (see the perception crate's
/// `fixture_ui_strings_are_read_back_exactly_by_vision_perception`, 0.976). So this asserts
/// >= 0.95 on the labels with a letter or digit and guards the overall rate.
#[test]
fn fixture_ui_strings_are_read_back_exactly() {
    let (rate, word_rate, report) = exact_match(&engine(), TUNED);
    eprintln!("{report}");
    assert!(word_rate >= 0.95, "{report}");
    assert!(rate >= 0.9, "{report}");
}

/// What the held-out exact-match must stay above. Measured 0.900 (36/40) against 0.989 on
/// the tuned scenes; the misses are status-bar cells a 1-px separator apart, read as one
/// line (abiword's "Insert default en-US", gnumeric's "Sum = 0").
const HELD_OUT_FLOOR: f64 = 0.85;

/// The scenes the OCR settings were tuned on.
const TUNED: &[&str] = &["desktop_3apps", "mousepad_file_menu", "galculator"];

/// Scenes no tuning looked at: a spreadsheet, a word processor, a file manager and a dark
/// theme (`ocr_fixtures held-out`).
const HELD_OUT: &[&str] = &[
    "held_gnumeric",
    "held_abiword",
    "held_thunar",
    "held_mousepad_dark",
];

/// The same exact-match on held-out screens, reported beside the tuned number so a fix
/// tuned to the first set shows whether it carries over.
#[test]
fn held_out_ui_strings_are_read_back_exactly() {
    let ocr = engine();
    let (_, tuned, _) = exact_match(&ocr, TUNED);
    let (rate, word_rate, report) = exact_match(&ocr, HELD_OUT);
    eprintln!(
        "tuned {tuned:.3} / held-out {word_rate:.3} (labels with a letter or digit)\n{report}"
    );
    assert!(word_rate >= HELD_OUT_FLOOR, "{report}");
    assert!(rate >= HELD_OUT_FLOOR - 0.05, "{report}");
}

/// Exact-match over the fixtures' UI strings: (all, labels with a letter or digit, report).
fn exact_match(ocr: &OcrEngine, scenes: &[&str]) -> (f64, f64, String) {
    let (mut total, mut exact, mut words, mut words_exact) = (0usize, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for &name in scenes {
        let frame = load_frame(name);
        let lines = ocr.read(&frame, &[]).unwrap();
        for t in truth(name) {
            let word = t.name.chars().any(char::is_alphanumeric);
            let got = read_inside(&lines, &t.bounds);
            let ok = got.split(" | ").any(|l| l == t.name);
            total += 1;
            exact += usize::from(ok);
            words += usize::from(word);
            words_exact += usize::from(word && ok);
            if !ok {
                misses.push(format!("{name}: {} {:?} read {got:?}", t.role, t.name));
            }
        }
    }
    let rate = exact as f64 / total as f64;
    let word_rate = words_exact as f64 / words as f64;
    let report = format!(
        "OCR exact-match: all {rate:.3} ({exact}/{total}), labels with a letter or digit \
         {word_rate:.3} ({words_exact}/{words}); misses:\n{}",
        misses.join("\n")
    );
    (rate, word_rate, report)
}

/// Exact-match of other engine configurations, for tuning:
/// `DESKHAND_OCR_CONFIGS="sessions:batch:min_width,..."`.
#[test]
#[ignore = "a tuning aid, run by hand"]
fn exact_match_of_configurations() {
    let configs = std::env::var("DESKHAND_OCR_CONFIGS").unwrap_or_else(|_| "1:8:320".into());
    for c in configs.split(',') {
        let v: Vec<u32> = c.split(':').map(|x| x.parse().unwrap()).collect();
        let ocr = OcrEngine::new(
            &ModelPaths::from_cache_dir(default_cache_dir()),
            OcrOptions {
                latin_only: true,
                rec_sessions: v[0] as usize,
                rec_batch: v[1] as usize,
                rec_min_width: v[2],
                ..OcrOptions::default()
            },
        )
        .unwrap();
        eprintln!("{c}: {}", exact_match(&ocr, TUNED).2);
        eprintln!("{c} held out: {}", exact_match(&ocr, HELD_OUT).2);
    }
}

/// Bounds are desktop coordinates: the same screenshot on a monitor at (1920, 200) gives
/// the same lines moved by that offset.
#[test]
fn lines_are_placed_by_the_monitor_offset() {
    let ocr = engine();
    let here = ocr.read(&load_frame("galculator"), &[]).unwrap();
    let there = ocr
        .read(&load_frame_at("galculator", 1920, 200), &[])
        .unwrap();
    assert!(here.len() > 20, "{here:?}");
    assert_eq!(here.len(), there.len());
    for (a, b) in here.iter().zip(&there) {
        assert_eq!(a.text, b.text);
        assert_eq!(
            (b.bounds.x, b.bounds.y, b.bounds.width, b.bounds.height),
            (
                a.bounds.x + 1920,
                a.bounds.y + 200,
                a.bounds.width,
                a.bounds.height
            )
        );
    }
}

/// A second read of an unchanged frame recognises nothing again: every line comes from the
/// crop cache. Reading one changed area runs the detector there only.
#[test]
fn unchanged_text_is_not_recognised_twice() {
    let ocr = engine();
    let frame = load_frame("desktop_3apps");
    let first = ocr.read(&frame, &[]).unwrap();
    let after_first = ocr.stats();
    assert_eq!(after_first.detections, 1);
    assert!(after_first.recognitions > 30, "{after_first:?}");

    let second = ocr.read(&frame, &[]).unwrap();
    let after_second = ocr.stats();
    assert_eq!(second, first);
    assert_eq!(after_second.recognitions, after_first.recognitions);
    assert!(
        after_second.cache_hits >= first.len() as u64,
        "{after_second:?}"
    );

    // One area around mousepad's first text line: detection on that area only, its lines
    // answered from the cache.
    let line = first
        .iter()
        .find(|l| l.text == "Meeting notes for Tuesday")
        .expect("the typed line is read");
    let area = Rect::new(line.bounds.x, line.bounds.y, 400, line.bounds.height);
    let inside = ocr.read(&frame, &[area]).unwrap();
    let after_area = ocr.stats();
    assert_eq!(after_area.detections, 3);
    // Detection on the area alone may place a box a pixel differently (less context), and a
    // different crop is a different cache key: at most the area's own lines are read again.
    assert!(
        after_area.recognitions - after_second.recognitions <= inside.len() as u64,
        "{after_area:?}"
    );
    assert!(inside.iter().any(|l| l.text == line.text), "{inside:?}");
    assert!(inside.len() < 4, "only lines near the area: {inside:?}");

    ocr.clear_cache();
    ocr.read(&frame, &[area]).unwrap();
    assert!(ocr.stats().recognitions > after_area.recognitions);
}

/// The port answers like the engine; an empty or 1x1 frame has no text; a buffer that does
/// not match the frame size is invalid input; areas off the frame are ignored.
#[test]
fn bad_frames_give_empty_results_or_clear_errors() {
    let ocr = engine();
    let port: &dyn Ocr = &ocr;
    let frame = load_frame("galculator");
    assert_eq!(
        port.read_text(&frame, &[]).unwrap(),
        ocr.read(&frame, &[]).unwrap()
    );
    let monitor = frame.monitor.clone();
    for (w, h) in [(0, 0), (1, 1), (3, 200)] {
        let tiny = Frame {
            monitor: monitor.clone(),
            width: w,
            height: h,
            rgba: vec![255; (w * h * 4) as usize],
        };
        assert_eq!(ocr.read(&tiny, &[]).unwrap(), vec![]);
        assert_eq!(
            port.read_text(&tiny, &[Rect::new(0, 0, 10, 10)]).unwrap(),
            vec![]
        );
    }
    let broken = Frame {
        monitor,
        width: 100,
        height: 100,
        rgba: vec![0; 10],
    };
    let err = ocr.read(&broken, &[]).unwrap_err();
    assert!(matches!(err, InferenceError::InvalidInput(_)), "{err:?}");
    let off = ocr
        .read(&frame, &[Rect::new(5000, 5000, 100, 100)])
        .unwrap();
    assert!(off.is_empty(), "{off:?}");
}

/// A missing or corrupt detection model is an error that names the file and `./x setup`.
#[test]
fn missing_or_corrupt_models_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let real = ModelPaths::from_cache_dir(default_cache_dir());
    let mut paths = real.clone();
    paths.ocr_det_tiny = dir.path().join("PP-OCRv6_det_tiny.onnx");
    let err = OcrEngine::new(&paths, OcrOptions::default()).unwrap_err();
    assert!(
        matches!(err, InferenceError::ModelMissing { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("PP-OCRv6_det_tiny.onnx") && text.contains("./x setup"),
        "{text}"
    );

    std::fs::write(&paths.ocr_det_tiny, b"\x08\x07 truncated download").unwrap();
    let err = OcrEngine::new(&paths, OcrOptions::default()).unwrap_err();
    assert!(matches!(err, InferenceError::BadModel { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("PP-OCRv6_det_tiny.onnx") && text.contains("./x setup"),
        "{text}"
    );

    let mut paths = real;
    paths.ocr_rec = dir.path().join("PP-OCRv6_rec_small.onnx");
    std::fs::write(&paths.ocr_rec, b"").unwrap();
    let err = OcrEngine::new(&paths, OcrOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("PP-OCRv6_rec_small.onnx") && text.contains("./x setup"),
        "{text}"
    );
    let port: deskhand_core::PortError = err.into();
    assert_eq!(port.kind, deskhand_core::PortErrorKind::Unavailable);
}

/// Text echoed in an xterm (which has no accessibility tree) is found by OCR alone, each line
/// inside the xterm window, in order, at the window's left edge.
#[test]
fn xterm_text_is_found_by_ocr_alone() {
    let mut desktop = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..DesktopOptions::default()
    })
    .unwrap();
    desktop.export_env();
    let lines = ["deskhand probe 4711", "second line: ocr only"];
    let script = format!("printf '{}\\n{}\\n'; exec sleep 100000", lines[0], lines[1]);
    let xterm = desktop
        .launch(&[
            "xterm",
            "-T",
            "probe",
            "-fa",
            "DejaVu Sans Mono",
            "-fs",
            "12",
            "-geometry",
            "70x12+150+120",
            "-e",
            "sh",
            "-c",
            &script,
        ])
        .unwrap();
    let window = desktop
        .wait_window(Some(&xterm), "^probe$", Duration::from_secs(20))
        .unwrap();
    // xwininfo gives the client area's absolute position (xdotool's is off by the frame).
    let info = desktop
        .run("xwininfo", &["-id", &window.to_string()])
        .unwrap();
    let field = |k: &str| -> i32 {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .unwrap_or_else(|| panic!("no {k} in {info}"))
            .trim()
            .parse()
            .unwrap()
    };
    let win = Rect::new(
        field("Absolute upper-left X:"),
        field("Absolute upper-left Y:"),
        field("Width:") as u32,
        field("Height:") as u32,
    );

    let ocr = engine();
    // The text is drawn shortly after the window maps: poll a bounded number of captures.
    let mut found = Vec::new();
    for _ in 0..50 {
        let frame = capture();
        found = ocr.read(&frame, &[]).unwrap();
        if lines.iter().all(|t| found.iter().any(|l| l.text == *t)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let boxes: Vec<Rect> = lines
        .iter()
        .map(|t| {
            found
                .iter()
                .find(|l| l.text == *t)
                .unwrap_or_else(|| panic!("{t:?} not read; read {found:?}"))
                .bounds
        })
        .collect();
    for b in &boxes {
        let c = b.center();
        assert!(win.contains(c), "{b:?} outside the xterm window {win:?}");
        assert!(
            (b.x - win.x).abs() <= 12,
            "{b:?} not at the left edge of {win:?}"
        );
        assert!(b.height >= 12 && b.height <= 40, "{b:?}");
    }
    // The first line is the top text row; the second right below it.
    assert!(boxes[0].y - win.y <= 30, "{boxes:?} vs {win:?}");
    let step = boxes[1].y - boxes[0].y;
    assert!((12..=30).contains(&step), "{boxes:?}");
}

/// The main monitor of the current display, captured with xcap.
fn capture() -> Frame {
    let monitor = xcap::Monitor::all().unwrap().into_iter().next().unwrap();
    let image = monitor.capture_image().unwrap();
    Frame {
        monitor: Monitor {
            index: 0,
            name: "screen".into(),
            bounds: Rect::new(
                monitor.x().unwrap(),
                monitor.y().unwrap(),
                monitor.width().unwrap(),
                monitor.height().unwrap(),
            ),
            scale: 1.0,
            primary: true,
        },
        width: image.width(),
        height: image.height(),
        rgba: image.into_raw(),
    }
}
