//! `deskhand doctor`: checks the environment and says what is wrong and which command fixes it.

use deskhand_core::ports::{Accessibility, Screen};
use deskhand_inference::{init_runtime, ChecksumStatus, ModelPaths};
use serde::Serialize;

use crate::config::{Config, ConfigError};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, with less than full function.
    Warn,
    /// Broken.
    Fail,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// How it came out.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// The command or step that fixes it, when not ok.
    pub fix: Option<String>,
}

fn check(name: &str, verdict: Verdict, detail: impl Into<String>, fix: Option<&str>) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail: detail.into(),
        fix: fix.map(str::to_string),
    }
}

const SETUP: &str = "./x setup";

/// Runs every check. A config that does not load is itself the first failed check.
pub fn run(config: Result<Config, ConfigError>) -> Vec<Check> {
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            return vec![check(
                "config",
                Verdict::Fail,
                e.to_string(),
                Some("fix the file named above"),
            )]
        }
    };
    let mut checks = vec![check(
        "config",
        Verdict::Ok,
        match &config.config_file {
            Some(f) => format!("read {}", f.display()),
            None => "defaults (no config file)".to_string(),
        },
        None,
    )];
    checks.push(display(&config));
    checks.push(accessibility(&config));
    let paths = ModelPaths::from_cache_dir(&config.cache_dir);
    checks.push(match init_runtime(&paths.onnxruntime) {
        Ok(()) => check(
            "onnx runtime",
            Verdict::Ok,
            format!("loaded {}", paths.onnxruntime.display()),
            None,
        ),
        Err(e) => check("onnx runtime", Verdict::Fail, e.to_string(), Some(SETUP)),
    });
    for file in paths.verify() {
        let name = format!("model {}", file.name);
        checks.push(match file.status {
            ChecksumStatus::Ok => check(
                &name,
                Verdict::Ok,
                format!("{} bytes, sha256 ok", file.size),
                None,
            ),
            ChecksumStatus::Missing => check(
                &name,
                Verdict::Fail,
                format!("missing: {}", file.path.display()),
                Some(SETUP),
            ),
            ChecksumStatus::Mismatch { expected, actual } => check(
                &name,
                Verdict::Fail,
                format!("checksum mismatch: expected {expected}, found {actual}"),
                Some(&format!("rm {} && {SETUP}", file.path.display())),
            ),
            ChecksumStatus::Unreadable(e) => check(&name, Verdict::Fail, e, Some(SETUP)),
            ChecksumStatus::Unknown => check(&name, Verdict::Warn, "no checksum known", None),
        });
    }
    checks.extend(models(&config));
    checks.push(
        match deskhand_memory::SqliteMemory::open(&config.database()) {
            Ok(m) => check(
                "database",
                Verdict::Ok,
                format!("{} opens", m.path().display()),
                None,
            ),
            Err(e) => check(
                "database",
                Verdict::Fail,
                e.to_string(),
                Some("use --data-dir with a writable directory"),
            ),
        },
    );
    checks
}

/// One check per agent role: which endpoint and model it uses (never a key; nothing is
/// contacted). No endpoint at all is a warning: commands work without, `deskhand run` does not.
fn models(config: &Config) -> Vec<Check> {
    let settings = &config.models;
    let file = config.config_path();
    if !settings.is_configured() {
        return vec![check(
            "endpoints",
            Verdict::Warn,
            "no model endpoint configured: `deskhand run` needs one (nothing is sent anywhere)",
            Some(&format!(
                "add [models.default] base_url = \"...\" and model = \"...\" to {}, or set \
                 DESKHAND_MODEL_URL and DESKHAND_MODEL",
                file.display()
            )),
        )];
    }
    settings
        .role_names(deskhand_agents::ROLES)
        .into_iter()
        .map(|role| {
            let name = format!("endpoint for {role}");
            match settings.endpoint(&role) {
                Ok(Some(e)) => {
                    let key = if std::env::var_os(&e.api_key_env).is_some_and(|v| !v.is_empty()) {
                        format!("key from ${}", e.api_key_env)
                    } else {
                        format!("no key (${} unset)", e.api_key_env)
                    };
                    check(&name, Verdict::Ok, format!("{}, {key}", e.describe()), None)
                }
                Ok(None) => check(
                    &name,
                    Verdict::Fail,
                    "no endpoint for this role and no [models.default]",
                    Some(&format!(
                        "add [models.default] or [models.roles.{role}] to {}",
                        file.display()
                    )),
                ),
                Err(e) => check(
                    &name,
                    Verdict::Fail,
                    e.to_string(),
                    Some(&format!("fix [models] in {}", file.display())),
                ),
            }
        })
        .collect()
}

fn display(config: &Config) -> Check {
    let Some(display) = &config.display else {
        let detail = if config.wayland {
            "Wayland session without an X display (DISPLAY is not set); Deskhand needs X11 or Xwayland"
        } else {
            "no X display (DISPLAY is not set)"
        };
        return check(
            "display",
            Verdict::Fail,
            detail,
            Some("run inside an X session, or `./x demo` (starts a virtual desktop)"),
        );
    };
    let screen = deskhand_perception::XcapScreen::new();
    match screen.monitors() {
        Ok(monitors) => {
            let list: Vec<String> = monitors
                .iter()
                .map(|m| {
                    format!(
                        "{} {}x{}+{}+{} scale {}",
                        m.name, m.bounds.width, m.bounds.height, m.bounds.x, m.bounds.y, m.scale
                    )
                })
                .collect();
            let list = list.join(", ");
            if config.wayland {
                // Xwayland shows only X11 clients: native Wayland windows are neither seen nor
                // reachable, and the kill switch and takeover watch see X input only.
                check(
                    "display",
                    Verdict::Warn,
                    format!(
                        "Wayland session: working through Xwayland display {display} ({list}); \
                         native Wayland windows are invisible to Deskhand"
                    ),
                    Some(
                        "log in to an X11 session, or start apps with GDK_BACKEND=x11 / \
                         QT_QPA_PLATFORM=xcb so they run under Xwayland",
                    ),
                )
            } else {
                check(
                    "display",
                    Verdict::Ok,
                    format!("X11 display {display}: {list}"),
                    None,
                )
            }
        }
        Err(e) => check(
            "display",
            Verdict::Fail,
            format!("{display}: {e}"),
            Some("check that the X server named by DISPLAY is running"),
        ),
    }
}

fn accessibility(config: &Config) -> Check {
    if config.dbus_address.is_none() {
        return check(
            "accessibility",
            Verdict::Warn,
            "no session D-Bus (DBUS_SESSION_BUS_ADDRESS is not set): elements cannot be found by name",
            Some("run inside a desktop session with D-Bus, or `./x demo`"),
        );
    }
    match deskhand_perception::AtspiReader::connect().and_then(|r| r.applications()) {
        Ok(apps) => {
            let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
            check(
                "accessibility",
                Verdict::Ok,
                format!("AT-SPI bus up, {} app(s): {}", apps.len(), names.join(", ")),
                None,
            )
        }
        Err(e) => check(
            "accessibility",
            Verdict::Warn,
            e.message,
            Some("install at-spi2-core (`./x setup`) and start apps after the session D-Bus"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, Overrides};

    #[test]
    fn models_are_reported_per_role_without_keys() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            home: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let config = Config::resolve(&env, &Overrides::default()).unwrap();
        let checks = models(&config);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].verdict, Verdict::Warn);
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("DESKHAND_MODEL_URL"));

        let mut env = env;
        env.models
            .insert("DESKHAND_MODEL_URL".into(), "http://127.0.0.1:9/v1".into());
        env.models.insert("DESKHAND_MODEL".into(), "big".into());
        env.models
            .insert("DESKHAND_NOTETAKER_MODEL".into(), "small".into());
        let config = Config::resolve(&env, &Overrides::default()).unwrap();
        let checks = models(&config);
        assert_eq!(checks.len(), deskhand_agents::ROLES.len());
        assert!(
            checks.iter().all(|c| c.verdict == Verdict::Ok),
            "{checks:?}"
        );
        let notetaker = checks
            .iter()
            .find(|c| c.name == "endpoint for notetaker")
            .unwrap();
        assert!(
            notetaker
                .detail
                .starts_with("openai small at http://127.0.0.1:9/v1"),
            "{notetaker:?}"
        );
    }

    /// Under a Wayland session the display check says Deskhand works through Xwayland and
    /// what that leaves out, instead of passing silently.
    #[test]
    fn a_wayland_session_is_reported_not_passed_silently() {
        let _session = deskhand_testkit::start_mousepad().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env::from_process();
        env.home = Some(dir.path().to_path_buf());
        env.wayland = false;
        let x11 = display(&Config::resolve(&env, &Overrides::default()).unwrap());
        assert_eq!(x11.verdict, Verdict::Ok, "{x11:?}");
        assert!(x11.detail.starts_with("X11 display"), "{x11:?}");
        env.wayland = true;
        let wayland = display(&Config::resolve(&env, &Overrides::default()).unwrap());
        assert_eq!(wayland.verdict, Verdict::Warn, "{wayland:?}");
        assert!(wayland.detail.contains("Wayland session"), "{wayland:?}");
        assert!(wayland.detail.contains("Xwayland"), "{wayland:?}");
        assert!(wayland.fix.as_deref().unwrap().contains("GDK_BACKEND=x11"));
    }
}
