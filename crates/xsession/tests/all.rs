//! Brings real desktops up and down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::time::{Duration, Instant};

use deskhand_xsession::{DesktopOptions, VirtualDesktop};

#[test]
fn two_desktops_get_distinct_displays_and_run_real_apps_and_tear_down() {
    let started = Instant::now();
    let mut a = VirtualDesktop::start(DesktopOptions::default()).unwrap();
    let b = VirtualDesktop::start(DesktopOptions {
        compositor: true,
        ..Default::default()
    })
    .unwrap();
    assert_ne!(a.display(), b.display());
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server answers with the size we asked for.
    let info = a.run("xdpyinfo", &[]).unwrap();
    assert!(info.contains("1280x800 pixels"), "{info}");
    // The AT-SPI bus is up on the session bus.
    assert!(a.bus_address().unwrap().starts_with("unix:path="));

    let app = a.launch(&["xterm", "-T", "probe-term"]).unwrap();
    let id = a
        .wait_window(Some(&app), "^probe-term$", Duration::from_secs(10))
        .unwrap();
    assert!(id > 0);
    let pid = app.pid;
    let socket_dir = a.runtime_dir().to_path_buf();
    drop(a);
    // Every process we started is gone, and so is the runtime directory.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(!socket_dir.exists());
    drop(b);
}

#[test]
fn an_app_that_never_shows_its_window_is_a_timeout_not_a_hang() {
    let mut d = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    let app = d.launch(&["sleep", "30"]).unwrap();
    let t = Instant::now();
    let err = d
        .wait_window(Some(&app), "^never$", Duration::from_millis(500))
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3));
    // An app that exits at once is reported as exited, with its status.
    let gone = d.launch(&["false"]).unwrap();
    let err = d
        .wait_window(Some(&gone), "^never$", Duration::from_secs(5))
        .unwrap_err();
    assert!(err.to_string().contains("exited early"), "{err}");
    let err = d.launch(&["no-such-program-xyz"]).unwrap_err();
    assert!(err.to_string().contains("./x setup"), "{err}");
}

#[test]
fn a_panicking_test_still_tears_its_desktop_down() {
    let pids = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        let mut d = VirtualDesktop::start(DesktopOptions::default()).unwrap();
        d.launch(&["xterm"]).unwrap();
        *pids.lock().unwrap() = d.pids();
        panic!("test failure while the desktop is up");
    });
    assert!(result.is_err());
    let pids = pids.into_inner().unwrap();
    assert!(pids.len() >= 4, "{pids:?}"); // Xvfb, dbus-daemon, openbox, xterm
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
}

/// Name and modification time of every file in a directory (empty when it does not exist).
fn snapshot(dir: &std::path::Path) -> Vec<(String, std::time::SystemTime, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                meta.modified().unwrap(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn services_the_session_bus_starts_keep_their_settings_in_the_desktop() {
    use std::os::unix::fs::PermissionsExt;
    let xml = "xfce4/xfconf/xfce-perchannel-xml";
    let channel = "deskhand-bus-home-test";
    let real_home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap());
    let real_dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| real_home.join(".config"))
        .join(xml);
    let before = snapshot(&real_dir);

    let d = VirtualDesktop::start(DesktopOptions {
        window_manager: false,
        ..Default::default()
    })
    .unwrap();
    let home = d.bus_home();
    assert!(home.starts_with(d.runtime_dir()));
    let mode = std::fs::metadata(&home).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{home:?}");
    // xfconf-query talks to xfconfd, which the session bus starts on demand.
    d.run(
        "xfconf-query",
        &[
            "-c",
            channel,
            "-p",
            "/test/deskhand",
            "-n",
            "-t",
            "string",
            "-s",
            "x",
        ],
    )
    .unwrap();
    assert_eq!(
        d.run("xfconf-query", &["-c", channel, "-p", "/test/deskhand"])
            .unwrap()
            .trim(),
        "x"
    );
    let owner = d
        .run(
            "dbus-send",
            &[
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.xfce.Xfconf",
            ],
        )
        .unwrap();
    let xfconfd: u32 = owner
        .split_whitespace()
        .last()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{owner}"));
    let environ = std::fs::read(format!("/proc/{xfconfd}/environ")).unwrap();
    let home_var = format!("HOME={}", home.display());
    assert!(
        environ.split(|b| *b == 0).any(|v| v == home_var.as_bytes()),
        "xfconfd runs without the bus's HOME"
    );
    // xfconfd writes its file a moment after a change: wait for it while the desktop is up
    // (the file goes with the desktop).
    let file = home
        .join(".config")
        .join(xml)
        .join(format!("{channel}.xml"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&file)
        .map(|t| t.contains("deskhand"))
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "{file:?} never written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let runtime = d.runtime_dir().to_path_buf();
    drop(d);
    assert!(!runtime.exists());
    // The service goes with its bus (its exit may take a moment to be reaped).
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{xfconfd}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "xfconfd {xfconfd} survived its bus"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Nothing reached the real user's settings.
    assert_eq!(snapshot(&real_dir), before, "{real_dir:?} changed");
    assert!(!real_dir.join(format!("{channel}.xml")).exists());
}

/// The example that holds a desktop, built beside this test binary.
fn holder() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("hold_desktop");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p deskhand-xsession --example hold_desktop`",
        path.display()
    );
    path
}

/// True while the process exists and is not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim().to_string()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// Starts the holder, waits for its desktop, ends it with `signal`, and checks that every
/// process group the desktop started and its runtime directory go away without its help.
fn session_outlives_nothing(signal: i32) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(holder())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("ready"), "{line:?}");
    let display = words.next().unwrap().to_string();
    let dir = std::path::PathBuf::from(words.next().unwrap());
    let pids: Vec<u32> = std::fs::read_to_string(dir.join("groups"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(
        pids.len() >= 4,
        "Xvfb, D-Bus, the window manager and xterm: {pids:?}"
    );
    assert!(pids.iter().all(|p| running(*p)));
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on the child this test started; it touches no memory.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && (pids.iter().any(|p| running(*p)) || dir.exists()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<u32> = pids.iter().copied().filter(|p| running(*p)).collect();
    assert!(
        left.is_empty(),
        "still running after signal {signal}: {left:?} (display {display})"
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

#[test]
fn a_session_whose_owner_is_killed_is_torn_down_by_its_watchdog() {
    session_outlives_nothing(libc::SIGKILL);
}

#[test]
fn a_session_whose_owner_gets_ctrl_c_or_sigterm_is_torn_down() {
    session_outlives_nothing(libc::SIGINT);
    session_outlives_nothing(libc::SIGTERM);
}
