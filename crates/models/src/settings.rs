//! Model settings in two steps: [`ModelSettings`] holds raw values (every field optional, as
//! written in the config file's `[models]` section and overridden by the environment), and
//! [`Endpoint`] is the validated endpoint one role uses: the role's entry over the default
//! entry over built-in defaults. No URL is ever made up: with nothing configured there is no
//! endpoint and nothing is sent anywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use deskhand_core::Role;

use crate::error::ModelError;

/// Longest image side sent to a model when nothing else is configured.
pub const DEFAULT_MAX_IMAGE_SIDE: u32 = 1280;

/// The Anthropic API, used only when an endpoint says `kind = "anthropic"` without a URL.
pub const ANTHROPIC_URL: &str = "https://api.anthropic.com";

/// The wire format an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    /// OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio).
    #[default]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl EndpointKind {
    /// The name used in settings: "openai" or "anthropic".
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::OpenAi => "openai",
            EndpointKind::Anthropic => "anthropic",
        }
    }

    /// The environment variable that holds the API key unless `api_key_env` says otherwise.
    pub fn default_key_env(self) -> &'static str {
        match self {
            EndpointKind::OpenAi => "DESKHAND_API_KEY",
            EndpointKind::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
}

impl std::str::FromStr for EndpointKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(EndpointKind::OpenAi),
            "anthropic" => Ok(EndpointKind::Anthropic),
            other => Err(ModelError::Config(format!(
                "unknown endpoint kind {other:?}: use \"openai\" or \"anthropic\""
            ))),
        }
    }
}

/// Whether to ask OpenAI-compatible servers for schema-constrained output (`response_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StructuredOutput {
    /// Ask; if the server rejects `response_format`, stop asking and put the schema in the prompt.
    #[default]
    Auto,
    /// Always ask.
    On,
    /// Never ask; the schema goes into the prompt.
    Off,
}

/// One endpoint as configured; every field optional. A role's entry inherits the fields it
/// leaves out from the default entry (the URL and key variable only when the kinds agree).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointSettings {
    /// Wire format (default "openai").
    pub kind: Option<EndpointKind>,
    /// Base URL: for openai e.g. "http://127.0.0.1:11434/v1" or "https://api.openai.com/v1";
    /// for anthropic "https://api.anthropic.com" (the default for that kind).
    pub base_url: Option<String>,
    /// The model name the endpoint knows.
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (default DESKHAND_API_KEY, or
    /// ANTHROPIC_API_KEY for anthropic). No key is sent when the variable is unset.
    pub api_key_env: Option<String>,
    /// Total time allowed for one HTTP call, in seconds (default 120).
    pub timeout_s: Option<f64>,
    /// Time allowed to connect, in seconds (default 10).
    pub connect_timeout_s: Option<f64>,
    /// Retries after a retryable failure (default 3).
    pub retries: Option<u32>,
    /// First backoff delay in ms, doubled on each retry (default 500).
    pub retry_backoff_ms: Option<u64>,
    /// Schema-constrained output for openai endpoints (default auto).
    pub structured: Option<StructuredOutput>,
    /// Longest image side the agents send (default 1280); they downscale and record the scale.
    pub max_image_side: Option<u32>,
    /// Sampling temperature; the server's default when unset.
    pub temperature: Option<f32>,
}

impl EndpointSettings {
    /// These settings with the fields they leave out taken from `base`.
    pub fn over(&self, base: &EndpointSettings) -> EndpointSettings {
        let same_kind =
            self.kind.is_none() || self.kind.unwrap_or_default() == base.kind.unwrap_or_default();
        EndpointSettings {
            kind: self.kind.or(base.kind),
            base_url: self
                .base_url
                .clone()
                .or_else(|| base.base_url.clone().filter(|_| same_kind)),
            model: self.model.clone().or_else(|| base.model.clone()),
            api_key_env: self
                .api_key_env
                .clone()
                .or_else(|| base.api_key_env.clone().filter(|_| same_kind)),
            timeout_s: self.timeout_s.or(base.timeout_s),
            connect_timeout_s: self.connect_timeout_s.or(base.connect_timeout_s),
            retries: self.retries.or(base.retries),
            retry_backoff_ms: self.retry_backoff_ms.or(base.retry_backoff_ms),
            structured: self.structured.or(base.structured),
            max_image_side: self.max_image_side.or(base.max_image_side),
            temperature: self.temperature.or(base.temperature),
        }
    }

    /// The URL requests go to: `base_url`, or the Anthropic API for kind anthropic; `None`
    /// when no URL is configured.
    fn url(&self) -> Option<String> {
        let url = match (&self.base_url, self.kind.unwrap_or_default()) {
            (Some(url), _) => url.trim().to_string(),
            (None, EndpointKind::Anthropic) => ANTHROPIC_URL.to_string(),
            (None, EndpointKind::OpenAi) => return None,
        };
        Some(url.trim_end_matches('/').to_string())
    }
}

/// A validated endpoint: what one role talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Wire format.
    pub kind: EndpointKind,
    /// Base URL, without a trailing slash.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// Total time for one HTTP call.
    pub timeout: Duration,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Retries after retryable failures.
    pub retries: u32,
    /// First backoff delay.
    pub retry_backoff: Duration,
    /// Structured output mode.
    pub structured: StructuredOutput,
    /// Longest image side the agents send.
    pub max_image_side: u32,
    /// Sampling temperature, if set.
    pub temperature: Option<f32>,
}

impl Endpoint {
    /// Validates settings (already merged over the default); `label` names them in errors
    /// ("[models.roles.manager]").
    pub fn from_settings(s: &EndpointSettings, label: &str) -> Result<Endpoint, ModelError> {
        let kind = s.kind.unwrap_or_default();
        let base_url = s.url().ok_or_else(|| {
            ModelError::Config(format!(
                "{label} has no base_url: set it (e.g. \"http://127.0.0.1:11434/v1\" for Ollama, \
                 \"https://api.openai.com/v1\") or DESKHAND_MODEL_URL"
            ))
        })?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ModelError::Config(format!(
                "{label} base_url {base_url:?} must start with http:// or https://"
            )));
        }
        let model = s
            .model
            .clone()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "{label} has no model: set model = \"...\" or DESKHAND_MODEL"
                ))
            })?;
        let seconds = |value: Option<f64>, default: f64, name: &str| match value {
            Some(v) if !(v.is_finite() && v > 0.0) => Err(ModelError::Config(format!(
                "{label} {name} must be a positive number of seconds, not {v}"
            ))),
            v => Ok(Duration::from_secs_f64(v.unwrap_or(default))),
        };
        let max_image_side = s.max_image_side.unwrap_or(DEFAULT_MAX_IMAGE_SIDE);
        if max_image_side < 64 {
            return Err(ModelError::Config(format!(
                "{label} max_image_side {max_image_side} is too small (at least 64)"
            )));
        }
        Ok(Endpoint {
            kind,
            base_url,
            model,
            api_key_env: s
                .api_key_env
                .clone()
                .unwrap_or_else(|| kind.default_key_env().to_string()),
            timeout: seconds(s.timeout_s, 120.0, "timeout_s")?,
            connect_timeout: seconds(s.connect_timeout_s, 10.0, "connect_timeout_s")?,
            retries: s.retries.unwrap_or(3),
            retry_backoff: Duration::from_millis(s.retry_backoff_ms.unwrap_or(500)),
            structured: s.structured.unwrap_or_default(),
            max_image_side,
            temperature: s.temperature,
        })
    }

    /// "openai gpt-4o at https://api.openai.com/v1" (never the key).
    pub fn describe(&self) -> String {
        format!("{} {} at {}", self.kind.as_str(), self.model, self.base_url)
    }
}

/// The `[models]` section: a default endpoint and per-role endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Used by every role without an entry of its own (`[models.default]`).
    pub default: Option<EndpointSettings>,
    /// Per-role entries (`[models.roles.manager]`), inheriting from the default.
    pub roles: BTreeMap<String, EndpointSettings>,
}

/// How to configure a model, for the error shown when none is.
pub const HOW_TO_CONFIGURE: &str = "no model endpoint is configured, so nothing is sent to any model. \
Configure one in the config file (~/.config/deskhand/config.toml):
  [models.default]
  kind = \"openai\"                        # or \"anthropic\"
  base_url = \"http://127.0.0.1:11434/v1\" # Ollama; or https://api.openai.com/v1, vLLM, llama.cpp, LM Studio
  model = \"qwen2.5vl:7b\"
  api_key_env = \"DESKHAND_API_KEY\"       # the variable holding the key, if one is needed
and per role, e.g. [models.roles.notetaker] model = \"a-cheaper-model\".
Or set DESKHAND_MODEL_URL and DESKHAND_MODEL (DESKHAND_MODEL_KIND=anthropic for Anthropic), \
and DESKHAND_<ROLE>_MODEL_URL / DESKHAND_<ROLE>_MODEL per role.";

impl ModelSettings {
    /// These settings overridden by the process environment (see [`Self::with_env`]).
    pub fn from_env_over(self, roles: &[Role]) -> Result<ModelSettings, ModelError> {
        self.with_env(|name| std::env::var(name).ok(), roles)
    }

    /// These settings overridden by environment values from `get`: DESKHAND_MODEL_URL,
    /// DESKHAND_MODEL and DESKHAND_MODEL_KIND for the default endpoint, and
    /// DESKHAND_<ROLE>_MODEL_URL, DESKHAND_<ROLE>_MODEL, DESKHAND_<ROLE>_MODEL_KIND for each
    /// of `roles`. Empty values count as unset.
    pub fn with_env(
        mut self,
        get: impl Fn(&str) -> Option<String>,
        roles: &[Role],
    ) -> Result<ModelSettings, ModelError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let apply = |entry: &mut Option<EndpointSettings>, prefix: &str| {
            let url = get(&format!("{prefix}_URL"));
            let model = get(prefix);
            let kind = get(&format!("{prefix}_KIND"))
                .map(|k| k.parse::<EndpointKind>())
                .transpose()?;
            if url.is_some() || model.is_some() || kind.is_some() {
                let e = entry.get_or_insert_with(EndpointSettings::default);
                e.base_url = url.or(e.base_url.take());
                e.model = model.or(e.model.take());
                e.kind = kind.or(e.kind);
            }
            Ok::<(), ModelError>(())
        };
        apply(&mut self.default, "DESKHAND_MODEL")?;
        for role in roles.iter().map(|r| r.as_str()) {
            let mut entry = self.roles.remove(role);
            apply(
                &mut entry,
                &format!("DESKHAND_{}_MODEL", role.to_ascii_uppercase()),
            )?;
            if let Some(entry) = entry {
                self.roles.insert(role.to_string(), entry);
            }
        }
        Ok(self)
    }

    /// Refuses role entries that are not among `known`, the roles the agents call (a typo
    /// would otherwise be ignored silently).
    pub fn check_roles(&self, known: &[Role]) -> Result<(), ModelError> {
        for name in self.roles.keys() {
            Role::parse_among(name, known)
                .map_err(|e| ModelError::Config(format!("{e} (in [models.roles])")))?;
        }
        Ok(())
    }

    /// True when some role has an endpoint with a URL, i.e. something may be sent.
    pub fn is_configured(&self) -> bool {
        let default = self.default.clone().unwrap_or_default();
        self.default.as_ref().is_some_and(|d| d.url().is_some())
            || self
                .roles
                .values()
                .any(|r| r.over(&default).url().is_some())
    }

    /// The validated endpoint of a role: its entry over the default; `None` when neither exists.
    pub fn endpoint(&self, role: &str) -> Result<Option<Endpoint>, ModelError> {
        match (self.roles.get(role), &self.default) {
            (Some(entry), default) => {
                let merged = entry.over(&default.clone().unwrap_or_default());
                Endpoint::from_settings(&merged, &format!("[models.roles.{role}]")).map(Some)
            }
            (None, Some(default)) => Endpoint::from_settings(default, "[models.default]").map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The validated default endpoint, if one is configured.
    pub fn default_endpoint(&self) -> Result<Option<Endpoint>, ModelError> {
        self.default
            .as_ref()
            .map(|d| Endpoint::from_settings(d, "[models.default]"))
            .transpose()
    }

    /// Role names in a fixed order: the known roles, then any others configured.
    pub fn role_names(&self, known: &[Role]) -> Vec<String> {
        let mut names: Vec<String> = known.iter().map(|r| r.to_string()).collect();
        let others: Vec<String> = self
            .roles
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        names.extend(others);
        names
    }

    /// One line per role, "manager -> openai gpt-4o at https://...", for `deskhand doctor`
    /// and the start of a run; never a key.
    pub fn describe(&self, known: &[Role]) -> Vec<String> {
        self.role_names(known)
            .into_iter()
            .map(|role| match self.endpoint(&role) {
                Ok(Some(e)) => format!("{role} -> {}", e.describe()),
                Ok(None) => format!("{role} -> not configured"),
                Err(e) => format!("{role} -> invalid: {e}"),
            })
            .collect()
    }
}
