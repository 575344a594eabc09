//! The Deskhand desktop app: a thin Tauri v2 shell. Commands translate IPC into calls on
//! [`deskhand_host::Deskhand`]; the runtime's [`deskhand_core::Event`]s are forwarded to the
//! front end unchanged as the Tauri event [`EVENT`].

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod memory;
mod state;

pub use state::DesktopState;

/// The Tauri event that carries each core `Event` (payload: its serde JSON).
pub const EVENT: &str = "deskhand://event";

/// Adds Deskhand's state and commands to a Tauri builder. Generic over the runtime so
/// `tauri::test::mock_builder()` can drive it without a window.
pub fn app<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(DesktopState::default())
        .invoke_handler(tauri::generate_handler![
            commands::ping,
            commands::capture,
            commands::run_commands,
            commands::run_task,
            commands::image,
            commands::cancel,
            commands::confirm,
            commands::resume,
            commands::recent_runs,
            commands::steps,
            memory::memory_view,
            memory::memory_search,
            memory::memory_note,
            memory::memory_set_fact,
            memory::memory_delete_fact,
            memory::memory_edit_shade,
            memory::memory_delete_shade,
            memory::memory_edit_bio,
            memory::memory_forget,
        ])
}

/// Starts the desktop app with the main window from `tauri.conf.json` and runs it until the
/// last window closes.
pub fn run() -> Result<(), tauri::Error> {
    app(tauri::Builder::default()).run(tauri::generate_context!())
}
