//! IPC commands. Each one is a translation into one host call; errors reach the UI as text.

use base64::Engine as _;
use deskhand_core::ports::{RunRecord, RunStatus, StepRecord};
use deskhand_core::{Event, Op};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};

use crate::{DesktopState, EVENT};

/// A screenshot of the main monitor.
#[derive(Debug, Serialize)]
pub struct Capture {
    png_base64: String,
    width: u32,
    height: u32,
}

/// How a run of commands ended.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    run: i64,
    status: RunStatus,
    steps: Vec<StepRecord>,
}

/// Proves a click reaches Rust: the answer is computed here, not in the page.
#[tauri::command]
pub fn ping(message: String) -> String {
    format!("pong: {message} ({} chars)", message.chars().count())
}

#[tauri::command]
pub async fn capture(state: State<'_, DesktopState>) -> Result<Capture, String> {
    let deskhand = state.deskhand()?;
    let (png, width, height) = blocking(move || deskhand.screenshot_png()).await?;
    Ok(Capture {
        png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        width,
        height,
    })
}

/// Runs `deskhand do` commands as one recorded run, forwarding every core event.
#[tauri::command]
pub async fn run_commands<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DesktopState>,
    commands: Vec<String>,
) -> Result<RunSummary, String> {
    let deskhand = state.deskhand()?;
    let outcome = blocking(move || {
        let mut forward = |event: Event| {
            // A closed window is no reason to stop the run; the database has every step.
            let _ = app.emit(EVENT, &event);
        };
        deskhand.submit(Op::Do { commands }, &mut forward)
    })
    .await?;
    let outcome = outcome.ok_or_else(|| "the run did not start".to_string())?;
    Ok(RunSummary {
        run: outcome.run,
        status: outcome.status,
        steps: outcome.steps,
    })
}

/// Runs an instruction with the agents (`Op::Run`), forwarding every core event. Without a
/// configured model endpoint the error says how to configure one; nothing is sent.
#[tauri::command]
pub async fn run_task<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, DesktopState>,
    instruction: String,
    max_steps: Option<u32>,
    preset: Option<String>,
) -> Result<RunSummary, String> {
    let deskhand = state.deskhand()?;
    let outcome = on_own_thread(move || {
        let mut forward = |event: Event| {
            let _ = app.emit(EVENT, &event);
        };
        deskhand.submit(
            Op::Run {
                instruction,
                max_steps,
                preset,
            },
            &mut forward,
        )
    })
    .await?;
    let outcome = outcome.ok_or_else(|| "the run did not start".to_string())?;
    Ok(RunSummary {
        run: outcome.run,
        status: outcome.status,
        steps: outcome.steps,
    })
}

/// A PNG the runs saved (step screenshots, Set-of-Marks images), for the page to show. Only
/// files under the screenshots directory are served.
#[tauri::command]
pub async fn image(state: State<'_, DesktopState>, path: String) -> Result<String, String> {
    let deskhand = state.deskhand()?;
    let root = deskhand.config().screenshots();
    blocking(move || {
        let inside = |p: &std::path::Path| -> Option<std::path::PathBuf> {
            let file = p.canonicalize().ok()?;
            let root = root.canonicalize().ok()?;
            (file.starts_with(&root) && file.extension().is_some_and(|e| e == "png"))
                .then_some(file)
        };
        let file = inside(std::path::Path::new(&path)).ok_or_else(|| {
            deskhand_host::HostError::Other(format!("not a saved run image: {path}"))
        })?;
        let png = std::fs::read(&file).map_err(|source| deskhand_host::HostError::Io {
            context: format!("read {}", file.display()),
            source,
        })?;
        Ok(base64::engine::general_purpose::STANDARD.encode(png))
    })
    .await
}

/// Answers the confirmation the policy is waiting for.
#[tauri::command]
pub async fn confirm(state: State<'_, DesktopState>, allow: bool) -> Result<(), String> {
    let deskhand = state.deskhand()?;
    blocking(move || {
        deskhand
            .submit(Op::Confirm { allow }, &mut |_| {})
            .map(|_| ())
    })
    .await
}

/// Lets a run that paused because the user took over go on.
#[tauri::command]
pub fn resume(state: State<'_, DesktopState>) -> Result<(), String> {
    match state.opened() {
        Some(d) => d
            .submit(Op::Resume, &mut |_| {})
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Stops the run in progress (`Op::Cancel`): no further model call or action starts, and
/// input being sent stops at once.
#[tauri::command]
pub fn cancel(state: State<'_, DesktopState>) {
    if let Some(d) = state.opened() {
        let _ = d.submit(Op::Cancel, &mut |_| {});
    }
}

#[tauri::command]
pub async fn recent_runs(
    state: State<'_, DesktopState>,
    limit: Option<usize>,
) -> Result<Vec<RunRecord>, String> {
    let deskhand = state.deskhand()?;
    blocking(move || deskhand.recent_runs(limit.unwrap_or(20))).await
}

#[tauri::command]
pub async fn steps(state: State<'_, DesktopState>, run: i64) -> Result<Vec<StepRecord>, String> {
    let deskhand = state.deskhand()?;
    blocking(move || deskhand.steps(run)).await
}

/// Host calls block (capture, input, the database lock held by a run), so they run off the
/// async runtime's threads.
async fn blocking<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, deskhand_host::HostError> + Send + 'static,
{
    match tauri::async_runtime::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the task failed: {e}")),
    }
}

/// Agent runs call model endpoints through blocking HTTP clients, which must not be created
/// or dropped on the async runtime's threads (not even its blocking pool): they get a plain
/// thread of their own.
async fn on_own_thread<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, deskhand_host::HostError> + Send + 'static,
{
    let (tx, rx) = tauri::async_runtime::channel(1);
    std::thread::Builder::new()
        .name("deskhand-run".into())
        .spawn(move || {
            let _ = tx.blocking_send(f().map_err(|e| e.to_string()));
        })
        .map_err(|e| format!("cannot start the run: {e}"))?;
    let mut rx = rx;
    rx.recv()
        .await
        .unwrap_or_else(|| Err("the run stopped unexpectedly".into()))
}
