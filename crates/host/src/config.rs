//! Configuration in two steps: raw values (all optional) from each layer, then one validated
//! [`Config`]. Layers: defaults < config file < environment < command line. This module is
//! the one place that reads environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deskhand_models::ModelSettings;
use serde::Deserialize;

/// Values as written in the config file; every field optional, unknown keys refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where the database and screenshots go.
    pub data_dir: Option<PathBuf>,
    /// Where `./x setup` put the ONNX Runtime library and the models.
    pub cache_dir: Option<PathBuf>,
    /// Longest wait for the screen to settle after an action, in ms.
    pub settle_max_ms: Option<u64>,
    /// Policy file with allow / confirm / deny rules (built-in safe defaults apply after it).
    pub policy_file: Option<PathBuf>,
    /// How long a confirmation waits for an answer before it counts as "no", in ms.
    pub confirm_timeout_ms: Option<u64>,
    /// The global hotkey that stops a run at once (default "ctrl+alt+Escape").
    pub kill_chord: Option<String>,
    /// Model endpoints, a default and per agent role (`[models.default]`,
    /// `[models.roles.manager]`). Nothing is sent anywhere unless one is configured.
    pub models: Option<ModelSettings>,
    /// Limits and switches of agent runs (`[agent]`).
    pub agent: Option<AgentSettings>,
    /// How agents use the user's own memory (`[memory]`).
    pub memory: Option<MemorySettings>,
}

/// The `[memory]` section: how agents use the user's own memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySettings {
    /// Items of memory given to the Manager per run (default 5; 0: none).
    pub recall: Option<usize>,
    /// Model endpoints (base URLs, or their beginnings) trusted with the user's memory
    /// besides loopback ones: `trusted_endpoints = ["https://llm.example.org/v1"]`.
    pub trusted_endpoints: Option<Vec<String>>,
}

/// The `[agent]` section: limits and switches of `deskhand run`. Every field is optional;
/// what is left out keeps the agent runtime's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Most steps a run takes before it stops as failed.
    pub max_steps: Option<u32>,
    /// Consecutive failed steps (outcome B or C) that stop a run.
    pub max_failures: Option<u32>,
    /// Identical actions in a row that stop a run.
    pub max_repeats: Option<u32>,
    /// Consecutive failures after which the Manager is told the run is potentially stuck.
    pub escalate_after: Option<u32>,
    /// Token budget of the compact layout tree in prompts.
    pub budget_tokens: Option<usize>,
    /// Longest side of the Set-of-Marks image sent to models, in pixels.
    pub max_image_side: Option<u32>,
    /// Tips given to the Manager and Operator.
    pub tips: Option<usize>,
    /// Shortcuts offered to the Operator.
    pub shortcuts: Option<usize>,
    /// Learn tips and shortcuts after a run.
    pub learn: Option<bool>,
    /// Send screenshots to models (off: text only).
    pub images: Option<bool>,
    /// The agent loop: "deskhand" (the default) or "mobile-agent-e".
    pub preset: Option<deskhand_agents::Preset>,
}

impl AgentSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_steps", self.max_steps),
            ("max_failures", self.max_failures),
            ("max_repeats", self.max_repeats),
            ("escalate_after", self.escalate_after),
        ];
        for (name, value) in positive {
            if value == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "[agent] {name} = 0: it must be at least 1"
                )));
            }
        }
        if let Some(side) = self.max_image_side.filter(|s| !(64..=8192).contains(s)) {
            return Err(ConfigError::Invalid(format!(
                "[agent] max_image_side = {side} is outside 64..=8192"
            )));
        }
        if let Some(budget) = self.budget_tokens.filter(|b| *b < 100) {
            return Err(ConfigError::Invalid(format!(
                "[agent] budget_tokens = {budget} is too small (at least 100)"
            )));
        }
        Ok(())
    }
}

/// Command-line overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Where the config file is looked for when none is named.
    pub default_file: PathBuf,
    /// Database and screenshots.
    pub data_dir: PathBuf,
    /// ONNX Runtime library and models.
    pub cache_dir: PathBuf,
    /// Settle bound in ms.
    pub settle_max_ms: u64,
    /// The user's policy file, if any (explicit, or the default one when it exists).
    pub policy_file: Option<PathBuf>,
    /// Confirmation timeout in ms.
    pub confirm_timeout_ms: u64,
    /// The kill-switch chord, validated.
    pub kill_chord: String,
    /// The X display named by the environment, if any.
    pub display: Option<String>,
    /// The session D-Bus address, if any.
    pub dbus_address: Option<String>,
    /// True when the environment says this is a Wayland session.
    pub wayland: bool,
    /// Model endpoints: the file's `[models]` with the environment's DESKHAND_*MODEL*
    /// variables over it.
    pub models: ModelSettings,
    /// The `[agent]` section, validated.
    pub agent: AgentSettings,
    /// The `[memory]` section.
    pub memory: MemorySettings,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys; the message has the line.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A value is out of range.
    #[error("config: {0}")]
    Invalid(String),
}

/// The environment variables Deskhand reads, captured once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// DESKHAND_CONFIG.
    pub config: Option<PathBuf>,
    /// DESKHAND_DATA.
    pub data: Option<PathBuf>,
    /// DESKHAND_CACHE.
    pub cache: Option<PathBuf>,
    /// HOME.
    pub home: Option<PathBuf>,
    /// XDG_CONFIG_HOME.
    pub xdg_config: Option<PathBuf>,
    /// XDG_DATA_HOME.
    pub xdg_data: Option<PathBuf>,
    /// DISPLAY.
    pub display: Option<String>,
    /// DBUS_SESSION_BUS_ADDRESS.
    pub dbus: Option<String>,
    /// WAYLAND_DISPLAY or XDG_SESSION_TYPE=wayland.
    pub wayland: bool,
    /// DESKHAND_MODEL*, DESKHAND_<ROLE>_MODEL* (model endpoints; never keys).
    pub models: BTreeMap<String, String>,
}

impl Env {
    /// Reads the process environment.
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = |k: &str| var(k).map(PathBuf::from);
        Env {
            config: path("DESKHAND_CONFIG"),
            data: path("DESKHAND_DATA"),
            cache: path("DESKHAND_CACHE"),
            home: path("HOME"),
            xdg_config: path("XDG_CONFIG_HOME"),
            xdg_data: path("XDG_DATA_HOME"),
            display: var("DISPLAY"),
            dbus: var("DBUS_SESSION_BUS_ADDRESS"),
            wayland: var("WAYLAND_DISPLAY").is_some()
                || var("XDG_SESSION_TYPE").is_some_and(|t| t == "wayland"),
            models: std::env::vars()
                .filter(|(k, v)| {
                    k.starts_with("DESKHAND_") && k.contains("_MODEL") && !v.trim().is_empty()
                })
                .collect(),
        }
    }
}

fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

impl Config {
    /// Resolves the layers. An explicitly named config file must exist; the default one is
    /// optional.
    pub fn resolve(env: &Env, cli: &Overrides) -> Result<Config, ConfigError> {
        let home = env.home.clone().unwrap_or_else(|| PathBuf::from("/"));
        let default_file = env
            .xdg_config
            .clone()
            .unwrap_or_else(|| home.join(".config"))
            .join("deskhand/config.toml");
        let (file, raw) = match cli.config_file.clone().or_else(|| env.config.clone()) {
            Some(explicit) => (Some(explicit.clone()), read_file(&explicit)?),
            None if default_file.is_file() => {
                (Some(default_file.clone()), read_file(&default_file)?)
            }
            None => (None, RawConfig::default()),
        };
        let data_dir = cli
            .data_dir
            .clone()
            .or_else(|| env.data.clone())
            .or(raw.data_dir)
            .unwrap_or_else(|| {
                env.xdg_data
                    .clone()
                    .unwrap_or_else(|| home.join(".local/share"))
                    .join("deskhand")
            });
        let cache_dir = env
            .cache
            .clone()
            .or(raw.cache_dir)
            .unwrap_or_else(|| home.join(".cache/deskhand"));
        let default_policy = default_file.with_file_name("policy.toml");
        let policy_file = raw
            .policy_file
            .or_else(|| default_policy.is_file().then_some(default_policy));
        let confirm_timeout_ms = raw.confirm_timeout_ms.unwrap_or(30_000);
        let kill_chord = raw
            .kill_chord
            .unwrap_or_else(|| "ctrl+alt+Escape".to_string());
        deskhand_core::KeyChord::parse(&kill_chord)
            .map_err(|e| ConfigError::Invalid(format!("kill_chord: {e}")))?;
        let models = raw
            .models
            .unwrap_or_default()
            .with_env(|name| env.models.get(name).cloned(), deskhand_agents::ROLES)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let agent = raw.agent.unwrap_or_default();
        agent.validate()?;
        let settle_max_ms = raw.settle_max_ms.unwrap_or(2_000);
        if !(50..=60_000).contains(&settle_max_ms) {
            return Err(ConfigError::Invalid(format!(
                "settle_max_ms = {settle_max_ms} is outside 50..=60000"
            )));
        }
        Ok(Config {
            config_file: file,
            default_file,
            data_dir,
            cache_dir,
            settle_max_ms,
            policy_file,
            confirm_timeout_ms,
            kill_chord,
            display: env.display.clone(),
            dbus_address: env.dbus.clone(),
            wayland: env.wayland,
            models,
            agent,
            memory: raw.memory.unwrap_or_default(),
        })
    }

    /// Resolves from the process environment and command line.
    pub fn load(cli: &Overrides) -> Result<Config, ConfigError> {
        Config::resolve(&Env::from_process(), cli)
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("deskhand.db")
    }

    /// The secret store (`name = "value"`, mode 600).
    pub fn secrets(&self) -> PathBuf {
        self.data_dir.join("secrets.toml")
    }

    /// The screenshots directory.
    pub fn screenshots(&self) -> PathBuf {
        self.data_dir.join("screenshots")
    }

    /// The config file models are configured in: the one read, else the default path.
    pub fn config_path(&self) -> PathBuf {
        self.config_file
            .clone()
            .unwrap_or_else(|| self.default_file.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &Path) -> Env {
        Env {
            home: Some(home.to_path_buf()),
            ..Env::default()
        }
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::resolve(&env(dir.path()), &Overrides::default()).unwrap();
        assert_eq!(c.data_dir, dir.path().join(".local/share/deskhand"));
        assert_eq!(c.cache_dir, dir.path().join(".cache/deskhand"));
        assert_eq!(c.config_file, None);

        let file = dir.path().join(".config/deskhand/config.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "data_dir = \"/from/file\"\nsettle_max_ms = 500\n").unwrap();
        let c = Config::resolve(&env(dir.path()), &Overrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.settle_max_ms, 500);

        let mut e = env(dir.path());
        e.data = Some("/from/env".into());
        assert_eq!(
            Config::resolve(&e, &Overrides::default()).unwrap().data_dir,
            PathBuf::from("/from/env")
        );
        let cli = Overrides {
            data_dir: Some("/from/cli".into()),
            ..Default::default()
        };
        assert_eq!(
            Config::resolve(&e, &cli).unwrap().data_dir,
            PathBuf::from("/from/cli")
        );
    }

    #[test]
    fn typos_and_bad_values_are_errors_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "data_dir = \"/x\"\nsetle_max_ms = 5\n").unwrap();
        let cli = Overrides {
            config_file: Some(file.clone()),
            ..Default::default()
        };
        let err = Config::resolve(&env(dir.path()), &cli)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("setle_max_ms") && err.contains("line 2"),
            "{err}"
        );
        std::fs::write(&file, "settle_max_ms = 1\n").unwrap();
        let err = Config::resolve(&env(dir.path()), &cli)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside"), "{err}");
        let cli = Overrides {
            config_file: Some(dir.path().join("missing.toml")),
            ..Default::default()
        };
        assert!(Config::resolve(&env(dir.path()), &cli)
            .unwrap_err()
            .to_string()
            .contains("missing.toml"));
    }

    #[test]
    fn models_and_agent_sections_with_env_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::resolve(&env(dir.path()), &Overrides::default()).unwrap();
        assert!(!c.models.is_configured(), "nothing configured by default");
        assert_eq!(c.agent, AgentSettings::default());

        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[models.default]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"big\"\n\
             [models.roles.notetaker]\nmodel = \"small\"\n\
             [agent]\nmax_steps = 7\nlearn = false\n",
        )
        .unwrap();
        let cli = Overrides {
            config_file: Some(file.clone()),
            ..Default::default()
        };
        let mut e = env(dir.path());
        e.models
            .insert("DESKHAND_MANAGER_MODEL".into(), "strong".into());
        let c = Config::resolve(&e, &cli).unwrap();
        assert!(c.models.is_configured());
        let model = |role: &str| c.models.endpoint(role).unwrap().unwrap().model;
        assert_eq!(model("operator"), "big");
        assert_eq!(model("notetaker"), "small");
        assert_eq!(model("manager"), "strong");
        assert_eq!(c.agent.max_steps, Some(7));
        assert_eq!(c.agent.learn, Some(false));

        std::fs::write(&file, "[agent]\nmax_steps = 0\n").unwrap();
        let err = Config::resolve(&env(dir.path()), &cli)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_steps"), "{err}");
        std::fs::write(&file, "[agent]\nmax_step = 3\n").unwrap();
        let err = Config::resolve(&env(dir.path()), &cli)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_step"), "{err}");
    }
}
