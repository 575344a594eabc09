//! Text-line recognition with PP-OCRv6 small on text rendered by ImageMagick.

use deskhand_core::geometry::{Frame, Monitor, Rect};
use deskhand_core::ports::Ocr;
use deskhand_inference::{default_cache_dir, ModelPaths, RecognizerOptions, TextRecognizer};

use super::{render, render_label};

const LINES: &[&str] = &[
    "Hello World 42",
    "File Edit Search View",
    "7 + 8 = 15",
    "a - b",
    "Save As...",
    "Document Properties",
    "(x) = 3.14159; y != z",
    "user@example.com",
];

fn recognizer() -> TextRecognizer {
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    TextRecognizer::new(&paths, RecognizerOptions::default()).unwrap()
}

#[test]
fn dictionary_matches_the_model_output() {
    let rec = recognizer();
    // blank + dictionary + space
    assert!(rec.classes() > 1000, "{} classes", rec.classes());
}

/// Tight boxes (a few pixels of margin, as a detector gives) at common UI font sizes read
/// exactly. (With loose boxes, where the text is small inside the crop, the model starts to
/// drop the narrow spaces around operators: "7 + 8 = 15" becomes "7+8=15".)
#[test]
fn reads_rendered_lines_exactly() {
    let rec = recognizer();
    let dir = tempfile::tempdir().unwrap();
    for points in [11, 13, 16, 20, 24] {
        for (i, text) in LINES.iter().enumerate() {
            let img = render_label(dir.path(), &format!("l{points}-{i}"), text, points, 4);
            let (got, conf) = rec
                .recognize_rgba(img.width(), img.height(), img.as_raw())
                .unwrap();
            assert_eq!(got, *text, "{points}pt, confidence {conf}");
            assert!(
                conf > 0.8 && conf <= 1.0,
                "{text} at {points}pt: confidence {conf}"
            );
        }
    }
}

#[test]
fn reads_regions_of_a_frame_in_desktop_coordinates() {
    let rec = recognizer();
    let dir = tempfile::tempdir().unwrap();
    let img = render(
        dir.path(),
        "frame",
        (640, 160),
        &[
            (10, 40, "File Edit Search View"),
            (300, 120, "7 + 8 = 15"),
            (10, 120, "Cancel"),
        ],
    );
    // The frame shows a second monitor whose left edge is at desktop x = 1920.
    let monitor = Monitor {
        index: 1,
        name: "right".into(),
        bounds: Rect::new(1920, 0, 640, 160),
        scale: 1.0,
        primary: false,
    };
    let frame = Frame {
        monitor,
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    };
    let regions = [
        Rect::new(1920 + 4, 14, 320, 36),
        Rect::new(1920 + 294, 94, 160, 36),
        Rect::new(1920 + 4, 94, 120, 36),
        Rect::new(0, 0, 100, 30), // on the other monitor: not in this frame
    ];
    let lines = rec.recognize(&frame, &regions).unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["File Edit Search View", "7 + 8 = 15", "Cancel", ""]);
    assert_eq!(lines[1].bounds, regions[1]);
    assert_eq!(lines[3].confidence, 0.0);
}

#[test]
fn bad_buffers_are_invalid_input() {
    let rec = recognizer();
    let err = rec.recognize_rgba(10, 10, &[0; 12]).unwrap_err();
    let port: deskhand_core::PortError = err.into();
    assert_eq!(port.kind, deskhand_core::PortErrorKind::InvalidInput);
}
