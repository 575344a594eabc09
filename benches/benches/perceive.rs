//! Full perception on the committed 1920x1080 fixture (mousepad, galculator, xterm): fusion
//! alone, cold (empty caches), warm (OCR cache filled, new perceiver), incremental after a
//! word is typed, and an unchanged frame. `DESKHAND_OCR_THREADS` sets the OCR threads
//! (default 1; the host uses the machine's cores, up to 4): detection uses them inside one
//! call, recognition runs one single-threaded session per thread on different batches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use deskhand_core::ports::Ocr;
use deskhand_core::Frame;
use deskhand_inference::{default_cache_dir, init_runtime, ModelPaths, OcrEngine, OcrOptions};
use deskhand_perception::fusion::{Fuser, FusionInput, Proposal, ProposalKind};
use deskhand_perception::perceiver::{Perceiver, PerceiverOptions};
use deskhand_perception::segment::{segment, SegmentKind, SegmentOptions};
use deskhand_testkit::fixture;

/// The frame with the word "Meeting" copied onto mousepad's empty fourth line, as if typed.
fn typed(frame: &Frame) -> Frame {
    let mut out = frame.clone();
    let w = frame.width as usize;
    for dy in 0..18usize {
        for dx in 0..72usize {
            let src = ((114 + dy) * w + 44 + dx) * 4;
            let dst = ((168 + dy) * w + 44 + dx) * 4;
            let px: [u8; 4] = [
                frame.rgba[src],
                frame.rgba[src + 1],
                frame.rgba[src + 2],
                frame.rgba[src + 3],
            ];
            out.rgba[dst..dst + 4].copy_from_slice(&px);
        }
    }
    out
}

fn perceive(c: &mut Criterion) {
    let fx = fixture("desktop_3apps").unwrap();
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let threads: usize = std::env::var("DESKHAND_OCR_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let engine = Arc::new(
        OcrEngine::new(
            &paths,
            OcrOptions {
                intra_threads: threads,
                ..OcrOptions::default()
            },
        )
        .unwrap(),
    );
    let ocr = || Some(engine.clone() as Arc<dyn Ocr>);
    let frames = std::slice::from_ref(&fx.frame);
    let mut group = c.benchmark_group("perceive");
    group.sample_size(10);

    // Fusion alone, with the fixture's real OCR lines and segments.
    let lines = engine.read_text(&fx.frame, &[]).unwrap();
    let rects: Vec<_> = fx.windows.iter().map(|w| w.bounds).collect();
    let segments: Vec<Proposal> = segment(&fx.frame, &rects, &SegmentOptions::default())
        .segments
        .iter()
        .map(|s| Proposal {
            bounds: s.bounds,
            kind: match s.kind {
                SegmentKind::Panel => ProposalKind::Panel,
                SegmentKind::Control => ProposalKind::Control,
            },
        })
        .collect();
    let mut fuser = Fuser::new();
    group.bench_function("fusion_1080p", |b| {
        b.iter(|| {
            fuser.fuse(&FusionInput {
                screen: fx.frame.monitor.bounds,
                windows: &fx.windows,
                accessibility: Some(&fx.tree),
                text: &lines,
                segments: &segments,
            })
        })
    });

    group.bench_function("cold_1080p", |b| {
        b.iter_batched(
            || {
                engine.clear_cache();
                Perceiver::new(PerceiverOptions::default(), ocr())
            },
            |mut p| p.perceive_frames(frames, &fx.windows, Some(fx.tree.clone())),
            BatchSize::PerIteration,
        )
    });

    // As before lines named by accessibility were left unread: every line is read (the
    // tree is still fused).
    let read_all = || PerceiverOptions {
        accessibility: false,
        ..PerceiverOptions::default()
    };
    group.bench_function("cold_1080p_read_all", |b| {
        b.iter_batched(
            || {
                engine.clear_cache();
                Perceiver::new(read_all(), ocr())
            },
            |mut p| p.perceive_frames(frames, &fx.windows, Some(fx.tree.clone())),
            BatchSize::PerIteration,
        )
    });

    // OCR cache filled: a new perceiver (no frame history) over text read before.
    engine.read_text(&fx.frame, &[]).unwrap();
    group.bench_function("warm_1080p", |b| {
        b.iter_batched(
            || Perceiver::new(PerceiverOptions::default(), ocr()),
            |mut p| p.perceive_frames(frames, &fx.windows, Some(fx.tree.clone())),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("warm_1080p_read_all", |b| {
        b.iter_batched(
            || Perceiver::new(read_all(), ocr()),
            |mut p| p.perceive_frames(frames, &fx.windows, Some(fx.tree.clone())),
            BatchSize::PerIteration,
        )
    });

    let after = typed(&fx.frame);
    group.bench_function("incremental_typed_word", |b| {
        b.iter_batched(
            || {
                let mut p = Perceiver::new(PerceiverOptions::default(), ocr());
                p.perceive_frames(frames, &fx.windows, Some(fx.tree.clone()));
                p
            },
            |mut p| {
                let r = p.perceive_frames(
                    std::slice::from_ref(&after),
                    &fx.windows,
                    Some(fx.tree.clone()),
                );
                assert!(!r.unchanged);
                r
            },
            BatchSize::PerIteration,
        )
    });

    let mut steady = Perceiver::new(PerceiverOptions::default(), ocr());
    steady.perceive_frames(frames, &fx.windows, Some(fx.tree.clone()));
    group.bench_function("unchanged_1080p", |b| {
        b.iter(|| {
            let r = steady.perceive_frames(frames, &fx.windows, Some(fx.tree.clone()));
            assert!(r.unchanged);
            r
        })
    });
    group.finish();
}

criterion_group!(benches, perceive);
criterion_main!(benches);
