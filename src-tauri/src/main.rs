// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = deskhand_desktop::run() {
        // The window never came up, so stderr is the only place left to say why.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("deskhand-desktop: {e}");
        }
        std::process::exit(1);
    }
}
