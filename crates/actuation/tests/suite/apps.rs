//! Opening apps by name and focusing windows by title or app, on a real desktop with
//! openbox, checked through the window manager's own `_NET_ACTIVE_WINDOW`.

use std::time::Duration;

use deskhand_actuation::apps::{active_window, focus_window, open_app, resolve_app};
use deskhand_core::PortErrorKind;
use deskhand_xsession::{DesktopOptions, VirtualDesktop};

const WAIT: Duration = Duration::from_secs(20);

fn desktop() -> VirtualDesktop {
    let desktop = VirtualDesktop::start(DesktopOptions::default()).unwrap();
    desktop.export_env();
    desktop
}

fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .status();
}

#[test]
fn open_app_starts_galculator_from_its_desktop_entry_and_rejects_unknown_names() {
    let mut desktop = desktop();
    // galculator writes its settings into HOME; keep them in the session's directory.
    std::env::set_var("HOME", desktop.runtime_dir());
    std::env::remove_var("XDG_DATA_HOME");

    let resolved = resolve_app("galculator").unwrap();
    assert!(resolved.desktop_entry.is_some(), "{resolved:?}");
    let pid = open_app("galculator").unwrap();
    let id = desktop.wait_window(None, "(?i)galculator", WAIT).unwrap();
    let window = focus_window("galculator", None).unwrap();
    assert_eq!(u64::from(window.id), id);
    assert_eq!(window.pid, Some(pid));

    let err = open_app("no-such-app-xyz").unwrap_err();
    assert_eq!(err.kind, PortErrorKind::NotFound);
    assert!(err.message.contains("/usr/share/applications"), "{err}");
    assert!(err.message.contains("PATH"), "{err}");
    kill_group(pid);
}

#[test]
fn desktop_entries_resolve_by_name_with_field_codes_dropped() {
    let data = std::env::temp_dir().join(format!("deskhand-apps-{}", std::process::id()));
    let apps = data.join("applications/vendor");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("tool.desktop"),
        "[Desktop Entry]\nType=Application\nName=My Tool\n\
         Exec=xterm -T \"my tool\" %U\n[Desktop Action new]\nExec=wrong\n",
    )
    .unwrap();
    std::env::set_var("XDG_DATA_HOME", &data);

    for name in ["My Tool", "my tool", "vendor-tool"] {
        let app = resolve_app(name).unwrap();
        assert!(app.program.ends_with("xterm"), "{app:?}");
        assert_eq!(app.args, ["-T", "my tool"]);
    }
    // A command line falls back to PATH.
    let app = resolve_app("xterm -T x").unwrap();
    assert_eq!((app.args.len(), app.desktop_entry), (2, None));
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn focus_window_activates_windows_by_title_or_app_and_names_ambiguity() {
    let mut desktop = desktop();
    let pad = desktop.launch(&["mousepad"]).unwrap();
    let pad_id = desktop.wait_window(Some(&pad), "Mousepad", WAIT).unwrap();
    let term = desktop.launch(&["xterm", "-T", "term-one"]).unwrap();
    let term_id = desktop
        .wait_window(Some(&term), "^term-one$", WAIT)
        .unwrap();

    for (query, id) in [
        ("Mousepad", pad_id),
        ("term-one", term_id),
        ("mousepad", pad_id),
    ] {
        let focused = focus_window(query, None).unwrap();
        assert_eq!(u64::from(focused.id), id, "{query}");
        let active = active_window(None).unwrap().unwrap();
        assert_eq!(active, focused, "{query}");
    }
    assert_eq!(active_window(None).unwrap().unwrap().class, "Mousepad");

    let err = focus_window("no such window", None).unwrap_err();
    assert_eq!(err.kind, PortErrorKind::NotFound);
    assert!(err.message.contains("term-one"), "{err}");

    // "t" is in both titles ("term-one", "Untitled 1 - Mousepad").
    let err = focus_window("t", None).unwrap_err();
    assert_eq!(err.kind, PortErrorKind::InvalidInput);
    assert!(err.message.contains("term-one"), "{err}");
    assert!(err.message.contains("Mousepad"), "{err}");
    // Nothing moved.
    assert_eq!(u64::from(active_window(None).unwrap().unwrap().id), pad_id);
}
