//! Agent runs on a [`Deskhand`]: the model router from the configuration (or how to configure
//! one), the `[agent]` limits, and the Mobile-Agent-E runner wired to this desktop's ports.

use std::sync::Arc;
use std::time::Duration;

use deskhand_agents::{AgentConfig, AgentOutcome, AgentRunner, Ports, Preset};
use deskhand_core::ports::{SystemClock, UserPresence};
use deskhand_core::Event;
use deskhand_models::{ModelError, RoleRouter};

use super::{Deskhand, HostError};
use crate::config::Config;

impl Deskhand {
    /// The model router of this configuration. With no endpoint configured this is
    /// [`HostError::ModelsNotConfigured`], saying where and how to configure one; nothing is
    /// sent anywhere.
    pub fn model_router(&self) -> Result<RoleRouter, HostError> {
        model_router(&self.config)
    }

    /// The agent limits of this configuration (`[agent]` over the runtime's defaults), with
    /// `max_steps` over them when given.
    pub fn agent_config(&self, max_steps: Option<u32>) -> AgentConfig {
        agent_config(&self.config, max_steps)
    }

    /// The preset a run uses: the one asked for by name, else `[agent] preset`, else the
    /// runtime's default. An unknown name is an error listing the known ones.
    pub fn preset(&self, name: Option<&str>) -> Result<Preset, HostError> {
        match name {
            Some(n) => Preset::parse(n).map_err(HostError::Other),
            None => Ok(self.agent_config(None).preset),
        }
    }

    /// Runs an instruction with the agents (Manager, Operator, Action Reflector, Notetaker)
    /// on this desktop, as one recorded run whose progress arrives as events. The kill switch,
    /// `Op::Cancel`, takeover detection, the policy and confirmations work as in command runs.
    /// Fails before anything moves or is sent when no model endpoint is configured.
    pub fn run_agent(
        &self,
        instruction: &str,
        max_steps: Option<u32>,
        preset: Option<&str>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<AgentOutcome, HostError> {
        if instruction.trim().is_empty() {
            return Err(HostError::Other(
                "nothing to do: the instruction is empty".into(),
            ));
        }
        let preset = self.preset(preset)?;
        let router = Arc::new(self.model_router()?);
        let mut config = self.agent_config(max_steps);
        config.preset = preset;
        // The user's memory goes only to the Manager's endpoint when it is on this machine
        // or trusted.
        config.recall_withheld = router
            .endpoint(&deskhand_core::Role::Manager.to_string())
            .and_then(|e| {
                crate::recall::withheld_from(
                    &e.base_url,
                    self.config
                        .memory
                        .trusted_endpoints
                        .as_deref()
                        .unwrap_or(&[]),
                )
            });
        // Tips and shortcuts are found by meaning as well as by words (the user's memory
        // too, when it may be sent); without the model, by words only.
        let embedder = match crate::recall::embedder(&self.config) {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                on_event(Event::Notice {
                    message: format!("memory is searched by keywords only: {e}"),
                });
                None
            }
        };
        let runner = AgentRunner {
            config,
            cancel: self.cancel.clone(),
        };
        on_event(Event::Notice {
            message: format!("preset {preset}; models: {}", models_in_use(&router)),
        });
        self.with_run_kit(on_event, |kit, on_event| {
            if let Some(e) = embedder {
                kit.memory.set_embedder(e);
            }
            let mut perceptor = self.perceptor(crate::LookOptions::default());
            let ports = Ports {
                perceptor: Some(&mut perceptor),
                model: Some(router.clone()),
                memory: kit.memory,
                screen: &self.screen,
                accessibility: self.accessibility_port(),
                input: kit.input,
                artifacts: kit.artifacts,
                clock: &SystemClock,
                gate: Some(&self.policy),
                confirmer: Some(self.confirmer.as_ref()),
                apps: Some(kit.apps),
                presence: kit.watch.map(|w| w as &dyn UserPresence),
                resumer: Some(self.resumer.as_ref()),
            };
            Ok(runner.run(ports, instruction, on_event)?)
        })
    }
}

/// The agent limits of a configuration: `[agent]` over the runtime's defaults, `max_steps`
/// (the command line's) over both; the settle bound is the configuration's.
pub fn agent_config(config: &Config, max_steps: Option<u32>) -> AgentConfig {
    let a = &config.agent;
    let mut c = AgentConfig::default();
    c.max_steps = max_steps.or(a.max_steps).unwrap_or(c.max_steps).max(1);
    c.max_failures = a.max_failures.unwrap_or(c.max_failures);
    c.max_repeats = a.max_repeats.unwrap_or(c.max_repeats);
    c.escalate_after = a.escalate_after.unwrap_or(c.escalate_after);
    c.budget_tokens = a.budget_tokens.unwrap_or(c.budget_tokens);
    c.max_image_side = a.max_image_side.unwrap_or(c.max_image_side);
    c.tips = a.tips.unwrap_or(c.tips);
    c.shortcuts = a.shortcuts.unwrap_or(c.shortcuts);
    c.learn = a.learn.unwrap_or(c.learn);
    c.images = a.images.unwrap_or(c.images);
    c.preset = a.preset.unwrap_or(c.preset);
    c.recall = config.memory.recall.unwrap_or(c.recall);
    c.settle.max = Duration::from_millis(config.settle_max_ms);
    c
}

/// "openai m at url (manager, operator); ..." : each endpoint once, with the roles using it.
fn models_in_use(router: &RoleRouter) -> String {
    let mut endpoints: Vec<(String, Vec<String>)> = Vec::new();
    for line in router.describe() {
        let Some((role, endpoint)) = line.split_once(" -> ") else {
            continue;
        };
        match endpoints.iter_mut().find(|(e, _)| e == endpoint) {
            Some((_, roles)) => roles.push(role.to_string()),
            None => endpoints.push((endpoint.to_string(), vec![role.to_string()])),
        }
    }
    endpoints
        .into_iter()
        .map(|(endpoint, roles)| format!("{endpoint} ({})", roles.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The model router of a configuration, or why there is none: with no endpoint configured,
/// [`HostError::ModelsNotConfigured`] names the config file and the keys and environment
/// variables to set. Building it sends nothing.
pub fn model_router(config: &Config) -> Result<RoleRouter, HostError> {
    match RoleRouter::from_settings(&config.models, deskhand_agents::ROLES) {
        Ok(router) => Ok(router),
        Err(ModelError::NotConfigured(how)) => {
            let path = config.config_path();
            Err(HostError::ModelsNotConfigured(format!(
                "{how}\nThis config file is {}{}.",
                path.display(),
                if path.is_file() {
                    ""
                } else {
                    " (it does not exist yet)"
                }
            )))
        }
        Err(e) => Err(HostError::Models(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgentSettings, Env, Overrides};

    #[test]
    fn agent_limits_layer_the_command_line_over_the_file_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            home: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let mut config = Config::resolve(&env, &Overrides::default()).unwrap();
        let defaults = AgentConfig::default();
        let c = agent_config(&config, None);
        assert_eq!(c.max_steps, defaults.max_steps);
        assert_eq!(c.settle.max, Duration::from_millis(config.settle_max_ms));

        config.agent = AgentSettings {
            max_steps: Some(7),
            learn: Some(false),
            tips: Some(2),
            ..AgentSettings::default()
        };
        let c = agent_config(&config, None);
        assert_eq!((c.max_steps, c.learn, c.tips), (7, false, 2));
        assert_eq!(c.max_failures, defaults.max_failures);
        assert_eq!(agent_config(&config, Some(3)).max_steps, 3);
    }

    #[test]
    fn no_endpoint_is_a_how_to_naming_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            home: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        let config = Config::resolve(&env, &Overrides::default()).unwrap();
        let err = model_router(&config).unwrap_err();
        assert!(matches!(err, HostError::ModelsNotConfigured(_)), "{err}");
        let text = err.to_string();
        let file = dir.path().join(".config/deskhand/config.toml");
        assert!(text.contains(&file.display().to_string()), "{text}");
        assert!(text.contains("does not exist yet"), "{text}");
        assert!(text.contains("DESKHAND_MODEL_URL"), "{text}");
    }
}
