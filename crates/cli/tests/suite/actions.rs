//! Each pointer and keyboard action kind proven by its effect on a real mousepad, through the
//! real runner: drag selects text (read back from the clipboard), scroll moves the view (a
//! click at the top of the view lands on another line), hold/release selects with shift
//! (typing replaces the selection), and dialogs opened by a menu item or a chord are found
//! on the very next step.

use deskhand_core::ports::{
    Accessibility, MemoryStore, RunStatus, StepRecord, TreeQuery, TreeScope,
};
use deskhand_core::{Action, KeyChord, NodeState, Op, Rect};
use deskhand_host::{Config, Deskhand, Overrides};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::AppSession;

use super::{deskhand, text};

/// The editor's text area: its box and its text.
fn editor(session: &AppSession) -> (Rect, String) {
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    let (_, node) = tree
        .walk()
        .into_iter()
        .find(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
        .expect("mousepad's text area");
    (node.bounds.unwrap(), node.text.clone().unwrap_or_default())
}

fn do_ok(data: &std::path::Path, commands: &[&str]) {
    let mut args = vec!["do"];
    args.extend_from_slice(commands);
    let out = deskhand(data, &args);
    assert!(out.status.success(), "{commands:?}: {}", text(&out));
}

fn last_run_steps(data: &std::path::Path) -> Vec<StepRecord> {
    let db = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let runs = db.recent_runs(20).unwrap();
    let run = runs.iter().max_by_key(|r| r.id).unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{}", run.summary);
    db.steps(run.id).unwrap()
}

#[test]
fn drag_across_the_first_line_selects_it() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    do_ok(
        data.path(),
        &["click text ''", "type 'first line\\nsecond line'"],
    );
    // Something else on the clipboard: if the drag selected nothing, ctrl+c leaves it there.
    set_clipboard("nothing copied");
    let (area, _) = editor(&session);
    // From past the end of the first line back to its start (the first line is at the top).
    let y = area.y + 8;
    let (right, left) = (area.x + area.width as i32 - 30, area.x + 2);
    do_ok(
        data.path(),
        &[&format!("drag {right},{y} to {left},{y}"), "key ctrl+c"],
    );
    let clip = session
        .desktop
        .run("xclip", &["-o", "-selection", "clipboard"])
        .unwrap();
    assert_eq!(clip, "first line");
    let steps = last_run_steps(data.path());
    let drag = steps[0].effect.as_ref().unwrap();
    assert!(drag.changed.is_some(), "the selection is drawn: {drag:?}");
    assert!(!drag.focus_moved, "{drag:?}");
    assert_eq!(drag.target_in_front, Some(true), "{drag:?}");
}

/// Puts text on the clipboard with xclip (which stays in the background to serve it).
fn set_clipboard(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut xclip = Command::new("xclip")
        .args(["-selection", "clipboard", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    xclip
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    xclip.wait().unwrap();
}

/// The line (0-based) of the first occurrence of `mark` in the text.
fn line_of(text: &str, mark: char) -> usize {
    text.lines()
        .position(|l| l.contains(mark))
        .unwrap_or_else(|| panic!("{mark:?} not in the text:\n{text}"))
}

#[test]
fn scrolling_moves_the_view_down_and_back_up() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=200).map(|i| format!("n{i}")).collect();
    do_ok(
        data.path(),
        &[
            "click text ''",
            &format!("type '{}'", lines.join("\\n")),
            // GTK leaves the view anywhere after a large paste: start from the top.
            "key ctrl+Home",
        ],
    );
    let (area, typed) = editor(&session);
    assert_eq!(typed.lines().count(), 200, "all lines typed");
    // A click at the top of the view puts the caret on the first visible line: mark it.
    let (x, y) = (area.x + 40, area.y + 8);
    let at = format!("{x},{y}");
    let mark = |scroll: &str, mark: char| {
        do_ok(
            data.path(),
            &[
                &format!("scroll {scroll} {at}"),
                &format!("click {at}"),
                &format!("type '{mark}'"),
            ],
        );
        let (_, text) = editor(&session);
        line_of(&text, mark)
    };
    do_ok(data.path(), &[&format!("click {at}"), "type 'A'"]);
    assert_eq!(
        line_of(&editor(&session).1, 'A'),
        0,
        "the view starts at the top"
    );
    let down = mark("down 10", 'B');
    let up = mark("up 5", 'C');
    eprintln!("top line: 0, after scrolling down 10: {down}, after scrolling up 5: {up}");
    assert!(
        down >= 10,
        "scrolling down 10 notches: the top line is {down}"
    );
    assert!(
        up + 5 <= down && up > 0,
        "scrolling back up 5 notches: the top line went from {down} to {up}"
    );
    let steps = last_run_steps(data.path());
    assert!(steps[0].effect.as_ref().unwrap().changed.is_some());
}

#[test]
fn holding_shift_while_pressing_end_selects_and_typing_replaces_the_selection() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    do_ok(
        data.path(),
        &["click text ''", "type 'hello world'", "key Home"],
    );
    // Held keys live as long as the input connection: one host instance, several runs.
    let config = Config::load(&Overrides {
        data_dir: Some(data.path().to_path_buf()),
        ..Overrides::default()
    })
    .unwrap();
    let dh = Deskhand::open(config).unwrap();
    let chord = |c: &str| KeyChord::parse(c).unwrap();
    for action in [
        Action::Hold {
            chord: chord("shift"),
        },
        Action::Key {
            chord: chord("End"),
        },
        Action::Release {
            chord: chord("shift"),
        },
        Action::Type { text: "Xy".into() },
    ] {
        let outcome = dh.submit(Op::Act { action }, &mut |_| {}).unwrap().unwrap();
        assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.steps);
    }
    drop(dh);
    // Without the hold, End only moves the caret ("hello worldXy"); without the release,
    // the y comes out upper case.
    let (_, text) = editor(&session);
    assert_eq!(text, "Xy");
}

#[test]
fn dialogs_opened_by_a_menu_item_or_a_chord_are_there_on_the_next_step() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Each run looks for the dialog's Cancel button right after the opening step settled,
    // once, without retries.
    do_ok(
        data.path(),
        &[
            "click text ''",
            "type 'note'",
            "click 'File'",
            "click 'Save As…'",
            "click button 'Cancel'",
        ],
    );
    let steps = last_run_steps(data.path());
    let opened = steps[3].effect.as_ref().unwrap();
    eprintln!("Save As… settled in {} ms: {opened:?}", opened.settle_ms);
    assert!(opened.focus_moved, "{opened:?}");
    assert_eq!(opened.target_in_front, Some(false), "{opened:?}");
    let typed = steps[1].effect.as_ref().unwrap();
    assert!(!typed.focus_moved, "{typed:?}");
    assert_eq!(typed.target_in_front, Some(true), "{typed:?}");

    do_ok(data.path(), &["key ctrl+s", "click button 'Cancel'"]);
    let steps = last_run_steps(data.path());
    let opened = steps[0].effect.as_ref().unwrap();
    eprintln!("ctrl+s settled in {} ms: {opened:?}", opened.settle_ms);
    assert!(opened.focus_moved, "{opened:?}");
    assert_eq!(opened.target_in_front, Some(false), "{opened:?}");
    // Cancel closed the dialog: the editor is in front again.
    let back = steps[1].effect.as_ref().unwrap();
    assert!(back.focus_moved, "{back:?}");
    drop(session);
}
