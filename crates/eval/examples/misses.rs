//! Lists what a grounder misses on the cached grounding set, with the reason:
//! `cargo run --release -p deskhand-eval --example misses -- tol-fused [app]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use deskhand_core::grounding::{ground_description, Description};
use deskhand_eval::dataset::parse_instruction;
use deskhand_eval::grounders::{create, GrounderContext, Mode, Sample};
use deskhand_eval::grounding::{default_data_dir, load_or_build, GroundingOptions};
use deskhand_inference::{default_cache_dir, ModelPaths};
use deskhand_perception::perceiver::{Perceiver, PerceiverOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("tol-fused", String::as_str);
    let models = ModelPaths::from_cache_dir(default_cache_dir());
    let mut options = GroundingOptions::new(default_data_dir(), models.clone());
    if let Some(app) = args.get(1) {
        options.apps = vec![app.clone()];
    }
    let states = load_or_build(&options).unwrap();
    let grounder = create(
        name,
        &GrounderContext {
            models: models.clone(),
        },
    )
    .unwrap();
    let ocr = std::sync::Arc::new(
        deskhand_inference::OcrEngine::new(&models, deskhand_inference::OcrOptions::default())
            .unwrap(),
    );
    for loaded in &states {
        let s = &loaded.state;
        let frame = s.load_frame(&loaded.dir).unwrap();
        let sample = Sample {
            app: &s.app,
            state: &s.state,
            resolution: s.resolution,
            frame: &frame,
            tree: (grounder.mode() == Mode::Fused).then_some(&s.tree),
        };
        let mut perceiver = Perceiver::new(
            PerceiverOptions {
                ocr: true,
                accessibility: grounder.mode() == Mode::Fused,
                ..PerceiverOptions::default()
            },
            Some(ocr.clone() as std::sync::Arc<dyn deskhand_core::ports::Ocr>),
        );
        let fused = perceiver
            .perceive_frames(std::slice::from_ref(&frame), &[], sample.tree.cloned())
            .tree;
        for e in &s.elements {
            let p = grounder.locate(&sample, &e.instruction).ok().flatten();
            if p.is_some_and(|p| e.bounds.contains(p)) {
                continue;
            }
            let why = match parse_instruction(&e.instruction) {
                Some((n, k)) => {
                    let d = Description {
                        name: Some(n.into()),
                        kind: Some(k.into()),
                        ..Description::default()
                    };
                    match ground_description(&fused, &d) {
                        Ok(node) => format!(
                            "(tree) -> {} {:?} {:?}",
                            node.describe(),
                            node.bounds,
                            fused.action_point(&node.id)
                        ),
                        Err(err) => format!("(tree) {err}"),
                    }
                }
                None => "unparsed".into(),
            };
            println!(
                "{}/{}/{} {:?} {:?} truth {:?} got {:?} :: {}",
                s.app, s.resolution, s.state, e.instruction, e.kind, e.bounds, p, why
            );
        }
    }
}
