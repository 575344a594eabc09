//! The main job: `deskhand demo` with no display starts its own desktop, writes a note in
//! mousepad and saves it.

use super::{deskhand, text};
use deskhand_host::demo::DEMO_TEXT;

#[test]
fn demo_without_a_display_saves_a_real_file_through_mousepad() {
    std::env::remove_var("DISPLAY");
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(data.path(), &["--json", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap()).expect("last line is the report");
    assert_eq!(report["virtual_desktop"], true);
    let saved = report["saved_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(saved).unwrap(), DEMO_TEXT);
    assert!(saved.starts_with(data.path().to_str().unwrap()));
    // Every step streamed as a JSON event before the report.
    let finished = stdout
        .lines()
        .filter(|l| l.contains("\"event\":\"step_finished\""))
        .count();
    // Seven scripted steps, and one more if the Save dialog needed a second press.
    assert!(finished == 7 || finished == 8, "{stdout}");
    let shot = report["screenshot"].as_str().unwrap();
    assert!(std::fs::metadata(shot).unwrap().len() > 1000);
}
