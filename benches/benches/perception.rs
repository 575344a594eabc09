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

criterion_group!(benches, capture_sizes, accessibility_and_ocr);
criterion_main!(benches);
