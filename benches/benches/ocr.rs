//! OCR on the committed 1920x1080 screenshot of mousepad, galculator and an xterm
//! (`benches/fixtures/desktop_3apps.png`): detection (tiny and small), batched recognition,
//! the whole pipeline cold and warm, and one changed area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_core::geometry::{Frame, Monitor, Rect};
use deskhand_inference::{
    default_cache_dir, init_runtime, DetectorOptions, ModelPaths, OcrEngine, OcrOptions,
    RecognizerOptions, TextDetector, TextRecognizer,
};

fn fixture() -> Frame {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/desktop_3apps.png");
    let img = image::open(path).unwrap().to_rgba8();
    Frame {
        monitor: Monitor {
            index: 0,
            name: "fixture".into(),
            bounds: Rect::new(0, 0, img.width(), img.height()),
            scale: 1.0,
            primary: true,
        },
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    }
}

fn rgb(frame: &Frame) -> image::RgbImage {
    image::DynamicImage::ImageRgba8(
        image::RgbaImage::from_raw(frame.width, frame.height, frame.rgba.clone()).unwrap(),
    )
    .to_rgb8()
}

fn ocr(c: &mut Criterion) {
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let frame = fixture();
    let image = rgb(&frame);
    let mut group = c.benchmark_group("ocr");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));

    for (name, model) in [
        ("det_tiny_1080p", &paths.ocr_det_tiny),
        ("det_small_1080p", &paths.ocr_det_small),
    ] {
        let det = TextDetector::from_file(model, DetectorOptions::default()).unwrap();
        group.bench_function(name, |b| b.iter(|| det.detect(&image).unwrap()));
    }

    // Recognition of the frame's detected lines, in batches of 8 (the engine's default).
    let det = TextDetector::from_file(&paths.ocr_det_tiny, DetectorOptions::default()).unwrap();
    let crops: Vec<image::RgbImage> = det
        .detect(&image)
        .unwrap()
        .iter()
        .map(|b| image::imageops::crop_imm(&image, b.x, b.y, b.width, b.height).to_image())
        .collect();
    for batch in [1usize, 8] {
        let rec = TextRecognizer::from_file(
            &paths.ocr_rec,
            RecognizerOptions {
                batch_size: batch,
                ..RecognizerOptions::default()
            },
        )
        .unwrap();
        for n in [8usize, crops.len()] {
            group.bench_function(format!("rec_batch_{batch}_{n}_lines"), |b| {
                b.iter(|| rec.recognize_images(&crops[..n]).unwrap())
            });
        }
    }

    // Two threads: one recognition session per thread (the default) and, for comparison,
    // one session using both threads inside each call.
    for (threads, sessions) in [(1usize, 0usize), (2, 0), (2, 1)] {
        let engine = OcrEngine::new(
            &paths,
            OcrOptions {
                intra_threads: threads,
                rec_sessions: sessions,
                ..OcrOptions::default()
            },
        )
        .unwrap();
        let suffix = match (threads, sessions) {
            (1, _) => String::new(),
            (t, 1) => format!("_{t}threads_1session"),
            (t, _) => format!("_{t}threads"),
        };
        group.bench_function(format!("full_cold_1080p{suffix}"), |b| {
            b.iter(|| {
                engine.clear_cache();
                engine.read(&frame, &[]).unwrap()
            })
        });
        engine.read(&frame, &[]).unwrap();
        group.bench_function(format!("full_warm_1080p{suffix}"), |b| {
            b.iter(|| engine.read(&frame, &[]).unwrap())
        });
        // One 400x100 changed area over mousepad's typed lines.
        let area = [Rect::new(40, 105, 400, 100)];
        engine.read(&frame, &area).unwrap();
        group.bench_function(format!("area_only{suffix}"), |b| {
            b.iter(|| engine.read(&frame, &area).unwrap())
        });
        group.bench_function(format!("area_only_cold{suffix}"), |b| {
            b.iter(|| {
                engine.clear_cache();
                engine.read(&frame, &area).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ocr);
criterion_main!(benches);
