//! `deskhand look`, `read --at` and `find` on a live desktop with mousepad and an xterm: the
//! fused tree names accessible elements, finds the xterm's text by OCR alone, and says what
//! is at a point.

use std::time::Duration;

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};

use super::{deskhand, text};

#[test]
fn read_find_and_look_describe_a_real_desktop() {
    let mut session = deskhand_testkit::start_mousepad().unwrap();
    let xterm = session
        .desktop
        .launch(&[
            "xterm",
            "-geometry",
            "60x8+700+420",
            "-T",
            "scratch terminal",
            "-e",
            "sh",
            "-c",
            "echo PINEAPPLE 4711; sleep 600",
        ])
        .unwrap();
    session
        .desktop
        .wait_window(Some(&xterm), "scratch terminal", Duration::from_secs(20))
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    let file = deskhand_testkit::find(&tree, "menu", "File").unwrap();
    let fb = file.bounds.unwrap();
    let c = fb.center();

    // Point-and-read on mousepad's File menu, with the two lens images.
    let lens = data.path().join("lens");
    let out = deskhand(
        data.path(),
        &[
            "read",
            "--at",
            &format!("{:.0},{:.0}", c.x, c.y),
            "--lens",
            lens.to_str().unwrap(),
        ],
    );
    for name in ["lens-local.png", "lens-global.png"] {
        let png = std::fs::read(lens.join(name)).unwrap();
        assert!(png.len() > 500, "{name} is a real image");
    }
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("menu \"File\""), "{said}");
    assert!(said.contains("Mousepad"), "{said}");

    // Grounding by description lands inside the File menu's box.
    let out = deskhand(data.path(), &["--json", "find", "the File menu"]);
    assert!(out.status.success(), "{}", text(&out));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (x, y) = (
        found["point"]["x"].as_f64().unwrap(),
        found["point"]["y"].as_f64().unwrap(),
    );
    assert!(
        fb.contains(deskhand_core::Point::new(x, y)),
        "{found} vs {fb:?}"
    );

    // The xterm has no accessibility tree: its text is found by OCR alone, inside its window.
    let out = deskhand(data.path(), &["--json", "find", "PINEAPPLE 4711"]);
    assert!(out.status.success(), "{}", text(&out));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        found["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "ocr"),
        "{found}"
    );
    let (x, y) = (
        found["point"]["x"].as_f64().unwrap(),
        found["point"]["y"].as_f64().unwrap(),
    );
    assert!(
        (700.0..1300.0).contains(&x) && (420.0..600.0).contains(&y),
        "{found}"
    );
    let out = deskhand(data.path(), &["read", "--at", &format!("{x:.0},{y:.0}")]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("PINEAPPLE"), "{said}{}", text(&out));
    assert!(said.contains("scratch terminal"), "{said}");

    // Absence and ambiguity are errors, not guesses.
    let out = deskhand(data.path(), &["find", "the Launch Rocket button"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not found") || text(&out).contains("no "),
        "{}",
        text(&out)
    );

    // The whole tree, with a Set-of-Marks image.
    let som = data.path().join("som.png");
    let out = deskhand(data.path(), &["look", "--som", som.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("\"File\""), "{listing}");
    assert!(listing.contains("scratch terminal"), "{listing}");
    let png = std::fs::read(&som).unwrap();
    assert!(png.len() > 10_000, "a real image, not a blank one");

    // A point off every monitor is a clear error.
    let out = deskhand(data.path(), &["read", "--at", "99999,5"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not on any monitor"), "{}", text(&out));
    if std::env::var_os("DESKHAND_KEEP_IMAGES").is_some() {
        std::fs::copy(&som, "/tmp/deskhand-look-som.png").unwrap();
    }
}
