//! The agents' eyes on this instance's desktop: a [`DesktopPerceptor`] that looks through
//! [`Deskhand::look`], so agents see what `look`, `find` and `do` see, with the same ids.

use deskhand_core::PortError;
use deskhand_perception::DesktopPerceptor;

use crate::look::LookOptions;
use crate::session::{Deskhand, HostError};

impl Deskhand {
    /// A perceptor for one agent run or command list. Keep one per run: the instance's
    /// perceiver caches make every look after the first read only what changed.
    pub fn perceptor(&self, options: LookOptions) -> DesktopPerceptor<'_> {
        DesktopPerceptor::new(Box::new(move || self.look(options).map_err(port_error)))
    }
}

fn port_error(e: HostError) -> PortError {
    match e {
        HostError::Port(p) => p,
        other => PortError::failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Env, Overrides};
    use base64::Engine as _;
    use deskhand_core::{ObserveOptions, Perceptor};

    /// Mousepad on a virtual desktop: the observation names the app and window, its compact
    /// text and Set-of-Marks image show mousepad's menus, and a second look keeps the ids.
    #[test]
    fn observes_mousepad_with_marks_and_compact_text() {
        let session = deskhand_testkit::start_mousepad().unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut env = Env::from_process();
        env.data = Some(data.path().to_path_buf());
        let config = Config::resolve(&env, &Overrides::default()).unwrap();
        let deskhand = Deskhand::open(config).unwrap();
        let mut perceptor = deskhand.perceptor(LookOptions::default());
        let options = ObserveOptions {
            budget_tokens: 800,
            marks: true,
            max_side: 1024,
        };
        let first = perceptor.observe(&options).unwrap();
        assert_eq!(first.app.as_deref(), Some("mousepad"), "{:?}", first.notes);
        assert!(
            first
                .window_title
                .as_deref()
                .is_some_and(|t| t.contains("Mousepad")),
            "{:?}",
            first.window_title
        );
        assert!(first.compact.contains("\"File\""), "{}", first.compact);
        assert!(
            deskhand_perception::render::estimate_tokens(&first.compact) <= 800,
            "{}",
            first.compact
        );
        let marks = first.marks.as_ref().unwrap();
        // 1280x800 shrunk to a longest side of 1024.
        assert_eq!((marks.width, marks.height), (1024, 640));
        let png = base64::engine::general_purpose::STANDARD
            .decode(&marks.png_base64)
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(
            std::env::temp_dir().join("deskhand-perceptor-marks.png"),
            &png,
        )
        .unwrap();
        // Every mark's id is a node of the tree: what the Operator picks can be resolved.
        let file = first
            .tree
            .walk()
            .into_iter()
            .find(|(_, n)| n.role == "menu" && n.name == "File")
            .map(|(_, n)| n.id.clone())
            .unwrap();
        assert!(
            first.compact.contains(&format!("{file} menu")),
            "{}",
            first.compact
        );
        assert!(!first.frames.is_empty());

        // Mousepad's blinking caret may change pixels between looks; ids stay stable anyway.
        let second = perceptor.observe(&options).unwrap();
        assert_eq!(
            second.tree.get(&file).map(|n| n.name.as_str()),
            Some("File")
        );
        drop(session);
    }
}
