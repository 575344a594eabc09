//! 7 + 8 = 15 on galculator, clicked by button name, read back through AT-SPI and checked on
//! the screenshot with real OCR.

use deskhand_core::ports::{Accessibility, Ocr, Screen, TreeQuery, TreeScope};
use deskhand_core::LayoutTree;
use deskhand_inference::{
    default_cache_dir, init_runtime, ModelPaths, RecognizerOptions, TextRecognizer,
};
use deskhand_perception::XcapScreen;
use deskhand_testkit::{find, start_app};

use super::{deskhand, text};

/// galculator's display is a read-only text view: (its text, its box).
fn display_text(tree: &LayoutTree) -> Vec<(String, deskhand_core::Rect)> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.role == "text" && n.is_on_screen())
        .filter_map(|n| n.bounds.map(|b| (n.text.clone().unwrap_or_default(), b)))
        .collect()
}

#[test]
fn seven_plus_eight_shows_fifteen() {
    let session = start_app(&["galculator"], "alculator", "galculator", |t| {
        find(t, "toggle button", "7").is_some()
    })
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(
        data.path(),
        &["do", "click '7'", "click '+'", "click '8'", "click '='"],
    );
    assert!(out.status.success(), "{}", text(&out));

    // Read back through AT-SPI: a label now says 15.
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("galculator".into())))
        .unwrap();
    let labels = display_text(&tree);
    let (_, bounds) = labels
        .iter()
        .find(|(text, _)| text.trim() == "15")
        .unwrap_or_else(|| panic!("the display does not show 15: {labels:?}"));

    // And on the screen: OCR of that label's box on a fresh capture reads 15.
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let ocr = TextRecognizer::new(&paths, RecognizerOptions::default()).unwrap();
    let frames = XcapScreen::new().capture_all().unwrap();
    let lines = ocr.recognize(&frames[0], &[*bounds]).unwrap();
    assert_eq!(
        lines[0].text.trim(),
        "15",
        "OCR read {:?} in {bounds:?}",
        lines[0]
    );
}

/// Repeated digits typed in one go all count: galculator ignores a second press of a key
/// while its button still shows the first one (100 ms), which turned "1000" into "100".
/// Three rounds, to catch a flaky gap.
#[test]
fn typing_1000_times_1001_shows_1001000_every_time() {
    let session = start_app(&["galculator"], "alculator", "galculator", |t| {
        find(t, "toggle button", "7").is_some()
    })
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let out = deskhand(data.path(), &["do", "key Escape", "type '1000*1001='"]);
        assert!(out.status.success(), "round {round}: {}", text(&out));
        let tree = session
            .reader
            .tree(&TreeQuery::new(TreeScope::App("galculator".into())))
            .unwrap();
        let labels = display_text(&tree);
        assert!(
            labels
                .iter()
                .any(|(text, _)| text.trim().replace([',', ' '], "") == "1001000"),
            "round {round}: the display does not show 1001000: {labels:?}"
        );
    }
}
