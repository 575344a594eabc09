//! Perception on a real desktop: capture at 1280x800 and 1920x1080, mousepad's accessibility
//! tree, PNG encoding of a frame, and OCR of one text line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_core::ports::{Accessibility, Ocr, Screen, TreeQuery, TreeScope};
use deskhand_inference::{
    default_cache_dir, init_runtime, ModelPaths, RecognizerOptions, TextRecognizer,
};
use deskhand_perception::capture::encode_png;
use deskhand_perception::XcapScreen;
use deskhand_testkit::{DesktopOptions, VirtualDesktop};

fn capture_sizes(c: &mut Criterion) {
    let mut group = c.benchmark_group("capture");
    for (w, h) in [(1280u32, 800u32), (1920, 1080)] {
        let mut d = VirtualDesktop::start(DesktopOptions {
            width: w,
            height: h,
            accessibility: false,
            ..Default::default()
        })
        .unwrap();
        d.export_env();
        let app = d
            .launch(&["xterm", "-T", "bench", "-geometry", "120x40+50+50"])
            .unwrap();
        d.wait_window(Some(&app), "^bench$", Duration::from_secs(10))
            .unwrap();
        let screen = XcapScreen::new();
        group.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| screen.capture_all().unwrap())
        });
        if w == 1920 {
            let frames = screen.capture_all().unwrap();
            group.bench_function("encode_png_1920x1080", |b| {
                b.iter(|| encode_png(&frames[0]).unwrap())
            });
        }
    }
    group.finish();
}

fn accessibility_and_ocr(c: &mut Criterion) {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let mut group = c.benchmark_group("perceive");
    group.sample_size(30);
    let query = TreeQuery::new(TreeScope::App("mousepad".into()));
    let nodes = session.reader.tree(&query).unwrap().len();
    group.bench_function(format!("atspi_tree_mousepad_{nodes}_nodes"), |b| {
        b.iter(|| session.reader.tree(&query).unwrap())
    });
    let focused = TreeQuery::new(TreeScope::FocusedApp);
    group.bench_function("atspi_tree_focused_app", |b| {
        b.iter(|| session.reader.tree(&focused).unwrap())
    });

    // OCR of the "File" menu title, a real text line on a real capture.
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let ocr = TextRecognizer::new(&paths, RecognizerOptions::default()).unwrap();
    let tree = session.reader.tree(&query).unwrap();
    let file = deskhand_testkit::find(&tree, "menu", "File")
        .unwrap()
        .bounds
        .unwrap();
    let frames = XcapScreen::new().capture_all().unwrap();
    group.bench_function("ocr_rec_one_line", |b| {
        b.iter(|| ocr.recognize(&frames[0], &[file]).unwrap())
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    use deskhand_perception::render::{
        compact_text, lens_global, lens_local, set_of_marks, MarkOptions,
    };
    let deskhand_testkit::Fixture { frame, tree, .. } =
        deskhand_testkit::fixture("desktop_3apps").unwrap();
    let mut group = c.benchmark_group("render");
    let opts = MarkOptions::default();
    group.bench_function("set_of_marks_1080p", |b| {
        b.iter(|| set_of_marks(&frame, &tree, &opts).unwrap())
    });
    // Without the occlusion check (core::visible per node), to see what it costs.
    let unchecked = MarkOptions {
        only_visible: false,
        ..MarkOptions::default()
    };
    group.bench_function("set_of_marks_1080p_no_occlusion_check", |b| {
        b.iter(|| set_of_marks(&frame, &tree, &unchecked).unwrap())
    });
    let small = MarkOptions {
        max_side: Some(1280),
        ..MarkOptions::default()
    };
    group.bench_function("set_of_marks_1080p_to_1280", |b| {
        b.iter(|| set_of_marks(&frame, &tree, &small).unwrap())
    });
    group.bench_function("compact_text", |b| {
        b.iter(|| compact_text(&tree, 2000, None))
    });
    let file = deskhand_testkit::find(&tree, "menu", "File").unwrap();
    let local = file.bounds.unwrap();
    let global = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "menu bar" && n.is_on_screen())
        .and_then(|n| n.bounds)
        .unwrap();
    group.bench_function("lens_local", |b| {
        b.iter(|| lens_local(&frame, global, local, local.center()).unwrap())
    });
    group.bench_function("lens_global", |b| {
        b.iter(|| lens_global(&frame, global, local.center()).unwrap())
    });
    group.finish();
}

/// Pixel segmentation and frame diff: the committed 1920x1080 three-app capture, and a live
/// mousepad for the typed-word diff.
fn segment_and_diff(c: &mut Criterion) {
    use deskhand_perception::diff::{diff, FrameSignature, DEFAULT_TILE};
    use deskhand_perception::segment::{segment, segment_in, SegmentOptions};
    let fx = deskhand_testkit::fixture("desktop_3apps").unwrap();
    let windows: Vec<deskhand_core::Rect> = fx.windows.iter().map(|w| w.bounds).collect();
    let opts = SegmentOptions::default();
    let mut group = c.benchmark_group("segment");
    group.bench_function("window_1080p", |b| {
        b.iter(|| segment(&fx.frame, &windows, &opts))
    });
    // No window list: the desktop segmented as a whole, windows found as nested panels.
    group.bench_function("screen_1080p", |b| {
        b.iter(|| segment(&fx.frame, &[], &opts))
    });
    // 400x100 inside the first window's text area.
    let w = windows[0];
    let area = deskhand_core::Rect::new(w.x + 20, w.y + 120, 400, 100);
    group.bench_function("area_400x100", |b| {
        b.iter(|| segment_in(&fx.frame, &windows, &[area], &opts))
    });
    group.finish();

    let mut group = c.benchmark_group("diff");
    let before = FrameSignature::of(&fx.frame, DEFAULT_TILE);
    group.bench_function("unchanged_1080p", |b| {
        b.iter(|| {
            let change = diff(&before, &FrameSignature::of(&fx.frame, DEFAULT_TILE));
            assert!(change.unchanged);
        })
    });
    // One word typed into a live mousepad at 1920x1080.
    let mut d = VirtualDesktop::start(DesktopOptions {
        width: 1920,
        height: 1080,
        ..Default::default()
    })
    .unwrap();
    d.export_env();
    let app = d.launch(&["mousepad"]).unwrap();
    let id = d
        .wait_window(Some(&app), "Mousepad", Duration::from_secs(20))
        .unwrap();
    d.run("xdotool", &["windowactivate", "--sync", &id.to_string()])
        .unwrap();
    let screen = XcapScreen::new();
    let grab = || screen.capture_all().unwrap().remove(0);
    let first = grab();
    d.run("xdotool", &["type", "--delay", "20", "walrus"])
        .unwrap();
    let started = std::time::Instant::now();
    let typed = loop {
        let f = grab();
        if f.rgba != first.rgba || started.elapsed() > Duration::from_secs(10) {
            break f;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let before = FrameSignature::of(&first, DEFAULT_TILE);
    let change = diff(&before, &FrameSignature::of(&typed, DEFAULT_TILE));
    assert!(!change.unchanged, "typing changed nothing on screen");
    group.bench_function("one_word_typed", |b| {
        b.iter(|| diff(&before, &FrameSignature::of(&typed, DEFAULT_TILE)))
    });
    group.finish();
}

criterion_group!(
    benches,
    capture_sizes,
    accessibility_and_ocr,
    render,
    segment_and_diff
);
criterion_main!(benches);
