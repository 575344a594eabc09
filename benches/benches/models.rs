//! One model call through the client stack (request building, JSON, HTTP on loopback, reply
//! parsing) against the scripted server, which answers at once: the per-call overhead a step
//! pays beyond the model's own time. Inputs: an Operator-sized prompt (the compact tree of the
//! 3-app desktop fixture) with and without its Set-of-Marks-sized screenshot (1280x720 PNG).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_core::ports::{Message, MessagePart, MessageRole, ModelBackend, ModelRequest};
use deskhand_models::{Endpoint, EndpointKind, EndpointSettings, OpenAiBackend};
use deskhand_testkit::{Reply, ScriptedModelServer};

fn request(tree: &str, png: Option<&str>) -> ModelRequest {
    let mut parts = vec![MessagePart::Text {
        text: format!("Instruction: save the file as notes.txt\n\nScreen:\n{tree}"),
    }];
    if let Some(png) = png {
        parts.push(MessagePart::Png {
            base64: png.to_string(),
            width: 1280,
            height: 720,
        });
    }
    ModelRequest {
        agent_role: deskhand_core::Role::Operator,
        messages: vec![
            Message {
                role: MessageRole::System,
                parts: vec![MessagePart::Text {
                    text: "You are the Operator. Answer with one action as JSON.".into(),
                }],
            },
            Message {
                role: MessageRole::User,
                parts,
            },
        ],
        json_schema: Some(
            serde_json::json!({"type": "object", "properties": {"action": {"type": "object"}}}),
        ),
        max_tokens: 300,
        memory_used: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let fixture = deskhand_testkit::fixture("desktop_3apps").unwrap();
    let tree = deskhand_perception::render::compact_text(&fixture.tree, 3_000, None);
    let image = image::RgbaImage::from_raw(
        fixture.frame.width,
        fixture.frame.height,
        fixture.frame.rgba,
    )
    .unwrap();
    let small = image::imageops::resize(&image, 1280, 720, image::imageops::FilterType::Triangle);
    let mut png = Vec::new();
    small
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(&png);
    eprintln!(
        "prompt: {} chars of tree, image {} KB base64",
        tree.len(),
        png.len() / 1024
    );

    let server = ScriptedModelServer::start().unwrap();
    server.responder(
        "operator",
        Box::new(|_, _| Reply::text(r#"{"action":{"kind":"click","target":{"node":"n12"}}}"#)),
    );
    let endpoint = Endpoint::from_settings(
        &EndpointSettings {
            kind: Some(EndpointKind::OpenAi),
            base_url: Some(server.url()),
            model: Some("operator".into()),
            ..EndpointSettings::default()
        },
        "bench",
    )
    .unwrap();
    let backend = OpenAiBackend::new(endpoint, None).unwrap();
    let text_only = request(&tree, None);
    let with_image = request(&tree, Some(&png));

    let mut group = c.benchmark_group("model_call");
    for (name, req) in [
        ("tree_text", &text_only),
        ("tree_text_and_1280x720_png", &with_image),
    ] {
        group.bench_function(name, |b| {
            // The server records every request; forget them after each batch so memory stays flat.
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    backend.complete(req).unwrap();
                }
                let elapsed = start.elapsed();
                server.clear_requests();
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
