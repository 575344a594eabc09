//! Direct commands as `deskhand do` runs them: one click on a file name in Thunar's icon view,
//! a target only OCR sees, resolved against the warm fused perception (the screen unchanged
//! since the last command); and the saved perceiver (ids and caches) that carries ids from one
//! `deskhand` process to the next, written and read back for the 1920x1080 fixture desktop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_core::ports::Ocr;
use deskhand_core::Op;
use deskhand_host::{Config, Deskhand, Overrides};
use deskhand_inference::{default_cache_dir, init_runtime, ModelPaths, OcrEngine, OcrOptions};
use deskhand_perception::perceiver::{Perceiver, PerceiverOptions};
use deskhand_testkit::fixture;

fn do_click(c: &mut Criterion) {
    let files = tempfile::tempdir().unwrap();
    for name in ["report.txt", "notes.txt", "cats.txt"] {
        std::fs::write(files.path().join(name), "text\n").unwrap();
    }
    let dir = files.path().to_str().unwrap().to_string();
    let _session = deskhand_testkit::start_app(&["thunar", &dir], " - Thunar", "thunar", |t| {
        t.walk().iter().any(|(_, n)| n.role == "directory pane")
    })
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = Config::load(&Overrides {
        data_dir: Some(data.path().to_path_buf()),
        ..Overrides::default()
    })
    .unwrap();
    let deskhand = Deskhand::open(config).unwrap();
    let click = || {
        let outcome = deskhand
            .submit(
                Op::Do {
                    commands: vec!["click 'report.txt'".into()],
                },
                &mut |_| {},
            )
            .unwrap()
            .unwrap();
        assert!(outcome.failure.is_none(), "{:?}", outcome.steps);
    };
    // The first click reads the screen cold and selects the file; later ones see it unchanged.
    click();
    click();
    // Where one warm command's time goes, from its events.
    let t0 = std::time::Instant::now();
    let mut marks = Vec::new();
    deskhand
        .submit(
            Op::Do {
                commands: vec!["click 'report.txt'".into()],
            },
            &mut |e| {
                marks.push((
                    t0.elapsed().as_millis(),
                    format!("{e:?}").chars().take(60).collect::<String>(),
                ))
            },
        )
        .unwrap();
    for (ms, e) in marks {
        eprintln!("{ms:>5} ms  {e}");
    }
    let mut group = c.benchmark_group("direct");
    group.sample_size(10);
    // Clicks closer together than the double-click time would open the file: each timed
    // click comes after an untimed pause.
    group.bench_function("do_click_ocr_target_warm", |b| {
        b.iter_custom(|n| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..n {
                std::thread::sleep(std::time::Duration::from_millis(600));
                let t = std::time::Instant::now();
                click();
                total += t.elapsed();
            }
            total
        })
    });
    group.finish();
}

fn saved_perceiver(c: &mut Criterion) {
    let fx = fixture("desktop_3apps").unwrap();
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let engine: Arc<dyn Ocr> = Arc::new(OcrEngine::new(&paths, OcrOptions::default()).unwrap());
    let mut perceiver = Perceiver::new(PerceiverOptions::default(), Some(engine.clone()));
    perceiver.perceive_frames(
        std::slice::from_ref(&fx.frame),
        &fx.windows,
        Some(fx.tree.clone()),
    );
    let bytes = perceiver.save().unwrap();
    eprintln!("saved perceiver: {} bytes", bytes.len());
    let mut group = c.benchmark_group("direct");
    group.bench_function("perceiver_save_1080p", |b| {
        b.iter(|| perceiver.save().unwrap())
    });
    group.bench_function("perceiver_restore_1080p", |b| {
        b.iter(|| {
            let mut p = Perceiver::new(PerceiverOptions::default(), Some(engine.clone()));
            p.restore(&bytes).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, saved_perceiver, do_click);
criterion_main!(benches);
