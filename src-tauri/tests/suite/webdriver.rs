//! Drives the real app window with WebDriver (tauri-driver + WebKitWebDriver) inside a private
//! virtual desktop: a click reaches Rust, Capture shows the desktop's screenshot, a run of
//! commands streams its steps into the page and is recorded in the database, and a task with
//! no model configured shows how to configure one.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::ScriptedModelServer;
use deskhand_xsession::VirtualDesktop;
use fantoccini::{Client, ClientBuilder, Locator};

pub(super) const TIMEOUT: Duration = Duration::from_secs(30);
const SCREENSHOT: &str = "/tmp/deskhand-desktop-test.png";

#[test]
fn window_reaches_rust_captures_the_desktop_and_runs_commands() {
    let desktop = VirtualDesktop::start(Default::default()).unwrap();
    desktop.export_env();
    let home = private_home();
    let data = home.path().join("data");
    // No model is configured for the app, but the variables other tools read name a live
    // endpoint: nothing may reach it.
    for (name, _) in std::env::vars() {
        if name.starts_with("DESKHAND_") && name.contains("MODEL") {
            std::env::remove_var(name);
        }
    }
    let server = ScriptedModelServer::start().unwrap();
    std::env::set_var("OPENAI_BASE_URL", server.url());
    std::env::set_var("OPENAI_API_KEY", "sk-test-not-to-be-sent");
    let driver = Driver::start(&home.path().join("tauri-driver.log"));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&driver).await;
        let result = drive(&client, &desktop).await;
        let _ = client.close().await;
        if let Err(e) = result {
            panic!("{e}\n--- tauri-driver log ---\n{}", driver.log_text());
        }
    });

    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // The run is in the database, as the app's own store wrote it.
    let memory = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let runs = memory.recent_runs(2).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1].status, RunStatus::Succeeded, "{runs:?}");
    assert!(runs[1].task.contains("wait 100"), "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Failed, "{runs:?}");
    let refused = memory.steps(runs[0].id).unwrap();
    assert!(
        refused[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not confirmed"),
        "{refused:?}"
    );
}

/// A private home for the app (database, config, WebKit's caches), set in this process's
/// environment for the app to inherit.
pub(super) fn private_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("DESKHAND_DATA", home.path().join("data"));
    // WebKit and the app keep caches and config under XDG dirs: keep them out of the real home.
    for (var, dir) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "share"),
        ("XDG_CACHE_HOME", "cache"),
    ] {
        std::env::set_var(var, home.path().join(dir));
    }
    // A confirmation that never gets its answer must not pass by timing out into "no" within
    // the test's waits: make the timeout longer than any of them.
    let config = home.path().join("config/deskhand/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "confirm_timeout_ms = 60000\n").unwrap();
    home
}

async fn drive(client: &Client, desktop: &VirtualDesktop) -> Result<(), String> {
    // The DOM answers WebDriver well before WebKit first paints the window on the X server
    // (about 2 s here), so wait for the page to be on screen before capturing it.
    wait_painted(desktop).await?;

    // Ping: the answer is computed in Rust, including the char count of non-ASCII text.
    let input = find(client, "#ping-text").await?;
    input.clear().await.map_err(|e| e.to_string())?;
    input
        .send_keys("héllo deskhand")
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#ping")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let pong = wait_text(client, "#ping-result", |t| !t.is_empty()).await?;
    assert_eq!(pong, "pong: héllo deskhand (14 chars)");

    // Capture (on the Screen tab): the screenshot is the virtual desktop's, at its size.
    find(client, "#tab-screen")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#capture")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#shot-size", |t| t == "1280x800").await?;
    let src = find(client, "#shot")
        .await?
        .attr("src")
        .await
        .map_err(|e| e.to_string())?;
    assert!(src.is_some_and(|s| s.starts_with("data:image/png;base64,iVBOR")));

    // Run: the step arrives through the event stream and the run ends well.
    let commands = find(client, "#commands").await?;
    commands
        .send_keys("wait 100")
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#run")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let step = wait_text(client, "#steps li.ok", |t| !t.is_empty()).await?;
    assert!(step.contains("wait 100") && step.contains("ok"), "{step}");
    wait_text(client, "#status", |t| t.ends_with("succeeded")).await?;

    // A risky action: the policy asks, the dialog shows it verbatim, the user denies it, and
    // the run ends refused with nothing typed.
    commands.clear().await.map_err(|e| e.to_string())?;
    commands
        .send_keys("type 'rm -rf ~/old-projects'")
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#run")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let shown = wait_text(client, "#confirm-shown", |t| !t.is_empty()).await?;
    assert!(shown.contains("type \"rm -rf ~/old-projects\""), "{shown}");
    find(client, "#confirm-deny")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let refused = wait_text(client, "#steps li.error", |t| t.contains("not confirmed")).await?;
    assert!(refused.contains("rm -rf ~/old-projects"), "{refused}");
    wait_text(client, "#status", |t| t.ends_with("failed")).await?;

    // A task with no model configured: the window says how to configure one, and the run
    // button is back for another try. Nothing started, so nothing was recorded or sent.
    find(client, "#tab-task")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#task")
        .await?
        .send_keys("open mousepad and write hello")
        .await
        .map_err(|e| e.to_string())?;
    find(client, "#task-run")
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let hint = wait_text(client, "#task-status", |t| {
        t.contains("no model endpoint is configured")
    })
    .await?;
    for part in [
        "[models.default]",
        "base_url",
        "DESKHAND_MODEL_URL",
        "config.toml",
    ] {
        assert!(hint.contains(part), "{part} missing in {hint}");
    }
    wait_enabled(client, "#task-run").await?;

    // A picture of the whole desktop for a person to look at, with the final state painted.
    tokio::time::sleep(Duration::from_millis(500)).await;
    desktop
        .run("import", &["-window", "root", SCREENSHOT])
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The page's accent colour (style.css `--accent`, the Run button) covers this many desktop
/// pixels once the window is painted; a blank window has none.
const ACCENT: [u8; 3] = [0x2b, 0x6c, 0xb0];
const ACCENT_PIXELS: usize = 1_000;

pub(super) async fn wait_painted(desktop: &VirtualDesktop) -> Result<(), String> {
    // Each test process looks at its own file: tests run in parallel.
    let file = std::env::temp_dir().join(format!("deskhand-painted-{}.png", std::process::id()));
    let path = file.to_string_lossy().to_string();
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < TIMEOUT {
        desktop
            .run("import", &["-window", "root", &path])
            .map_err(|e| e.to_string())?;
        let shot = image::open(&file).map_err(|e| e.to_string())?.to_rgb8();
        seen = shot.pixels().filter(|p| p.0 == ACCENT).count();
        if seen >= ACCENT_PIXELS {
            let _ = std::fs::remove_file(&file);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "the window was never painted: {seen} accent pixels on the desktop"
    ))
}

pub(super) async fn connect(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": env!("CARGO_BIN_EXE_deskhand-desktop") }),
    );
    let http = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(http)
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| panic!("new WebDriver session: {e}\n{}", driver.log_text()))
}

pub(super) async fn find(
    client: &Client,
    css: &str,
) -> Result<fantoccini::elements::Element, String> {
    client
        .wait()
        .at_most(TIMEOUT)
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))
}

/// Waits until the element's text satisfies `ok`, and returns it.
pub(super) async fn wait_text(
    client: &Client,
    css: &str,
    ok: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < TIMEOUT {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            last = el.text().await.unwrap_or_default();
            if ok(&last) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = match client.find(Locator::Css("#status")).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    Err(format!(
        "{css}: timed out with text {last:?} (status: {status:?})"
    ))
}

/// Waits until a button can be clicked again.
pub(super) async fn wait_enabled(client: &Client, css: &str) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < TIMEOUT {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            if el.is_enabled().await.unwrap_or(false) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} stayed disabled"))
}

/// A running tauri-driver. Dropping it stops the driver, WebKitWebDriver and the app, even
/// when the test panics.
pub(super) struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    pub(super) fn start(log: &Path) -> Driver {
        let program = find_tauri_driver();
        let port = free_port();
        let native_port = free_port();
        let out = File::create(log).unwrap();
        let child = Command::new(&program)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // Its own process group, so the fallback in Drop also reaches WebKitWebDriver and
            // the app it started.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let mut driver = Driver {
            child,
            port,
            log: log.to_path_buf(),
        };
        // tauri-driver listens before the WebKitWebDriver it started does: wait for both.
        let started = Instant::now();
        while [port, native_port]
            .iter()
            .any(|p| TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("tauri-driver exited ({status}):\n{}", driver.log_text());
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "tauri-driver never listened:\n{}",
                driver.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(super) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // SIGTERM lets tauri-driver stop WebKitWebDriver itself.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (the driver if it hung, or orphaned children) goes now.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- tauri-driver log ({}) ---\n{}",
                self.log.display(),
                self.log_text()
            );
        }
    }
}

fn find_tauri_driver() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let in_cargo_home =
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/tauri-driver"));
    on_path
        .into_iter()
        .chain(in_cargo_home)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "tauri-driver is not installed (not on PATH nor in ~/.cargo/bin): run `./x setup`"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
