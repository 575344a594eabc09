//! The applications of the grounding set and how to bring each into its states.

/// How to open a dialog in an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogTrigger {
    /// Press a key chord (xdotool syntax, e.g. "ctrl+o").
    Keys(&'static str),
    /// Open a menu of the menu bar and click the first item whose name starts with a prefix.
    MenuItem {
        /// The menu's name ("Help").
        menu: &'static str,
        /// The start of the item's name ("About").
        item: &'static str,
    },
}

/// One application of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSpec {
    /// Its name in the set and on the accessibility bus (compared case-insensitively).
    pub name: &'static str,
    /// The command line; the program must be on PATH.
    pub argv: &'static [&'static str],
    /// The Debian package that provides it (for the error when it is missing).
    pub package: &'static str,
    /// A regular expression matching its main window's title.
    pub title: &'static str,
    /// Maximise the main window (a calculator keeps its natural size: maximised, its labels
    /// are specks in huge buttons, which is not how anyone uses it).
    pub maximize: bool,
    /// The menu of the menu bar opened for the "menu" state (`None`: the first one).
    pub menu: Option<&'static str>,
    /// Dialog states: (state name, how to open it).
    pub dialogs: &'static [(&'static str, DialogTrigger)],
}

const ABOUT: (&str, DialogTrigger) = (
    "dialog-about",
    DialogTrigger::MenuItem {
        menu: "Help",
        item: "About",
    },
);
const OPEN: (&str, DialogTrigger) = ("dialog-open", DialogTrigger::Keys("ctrl+o"));
const PREFERENCES: (&str, DialogTrigger) = (
    "dialog-prefs",
    DialogTrigger::MenuItem {
        menu: "Edit",
        item: "Preferences",
    },
);

/// Every application of the benchmark.
pub const APPS: &[AppSpec] = &[
    AppSpec {
        name: "mousepad",
        argv: &["mousepad"],
        package: "mousepad",
        title: "Mousepad",
        maximize: true,
        menu: None,
        dialogs: &[OPEN, ABOUT],
    },
    AppSpec {
        name: "galculator",
        argv: &["galculator"],
        package: "galculator",
        title: "galculator",
        maximize: false,
        // File holds only Quit; View's long popup covers keys, as menus do.
        menu: Some("View"),
        dialogs: &[PREFERENCES, ABOUT],
    },
    AppSpec {
        name: "thunar",
        argv: &["thunar"],
        package: "thunar",
        title: "Thunar",
        maximize: true,
        menu: None,
        dialogs: &[PREFERENCES, ABOUT],
    },
    AppSpec {
        name: "gnumeric",
        argv: &["gnumeric"],
        package: "gnumeric",
        title: "Gnumeric",
        maximize: true,
        menu: None,
        dialogs: &[OPEN, ABOUT],
    },
    AppSpec {
        name: "abiword",
        argv: &["abiword"],
        package: "abiword",
        title: "Untitled|AbiWord",
        maximize: true,
        menu: None,
        // Its Help menu has "About GNOME Office" (a web page) before "About abiword...".
        dialogs: &[
            OPEN,
            (
                "dialog-about",
                DialogTrigger::MenuItem {
                    menu: "Help",
                    item: "About abiword",
                },
            ),
        ],
    },
];

impl AppSpec {
    /// The application with this name.
    pub fn find(name: &str) -> Result<&'static AppSpec, crate::EvalError> {
        let wanted = name.trim().to_lowercase();
        APPS.iter()
            .find(|a| a.name == wanted)
            .ok_or_else(|| crate::EvalError::UnknownApp {
                name: name.to_string(),
                known: APPS.iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
            })
    }

    /// The program to run.
    pub fn program(&self) -> &'static str {
        self.argv.first().copied().unwrap_or(self.name)
    }
}
