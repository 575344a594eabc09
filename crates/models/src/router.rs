//! Routes each request to the endpoint of its agent role.

use std::collections::BTreeMap;
use std::sync::Arc;

use deskhand_core::ports::{ModelBackend, ModelReply, ModelRequest};
use deskhand_core::{PortError, Role};

use crate::anthropic::AnthropicBackend;
use crate::error::ModelError;
use crate::openai::OpenAiBackend;
use crate::settings::{
    Endpoint, EndpointKind, ModelSettings, DEFAULT_MAX_IMAGE_SIDE, HOW_TO_CONFIGURE,
};

#[derive(Clone)]
struct Route {
    endpoint: Endpoint,
    backend: Arc<dyn ModelBackend>,
}

/// A [`ModelBackend`] that sends each request to the endpoint configured for
/// `request.agent_role` (its own entry, else the default).
#[derive(Clone)]
pub struct RoleRouter {
    routes: BTreeMap<String, Route>,
    default: Option<Route>,
    known: Vec<Role>,
}

impl std::fmt::Debug for RoleRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleRouter")
            .field("routes", &self.describe())
            .finish()
    }
}

/// A backend for one endpoint.
pub fn backend_for(
    endpoint: &Endpoint,
    api_key: Option<String>,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    Ok(match endpoint.kind {
        EndpointKind::OpenAi => Arc::new(OpenAiBackend::new(endpoint.clone(), api_key)?),
        EndpointKind::Anthropic => Arc::new(AnthropicBackend::new(endpoint.clone(), api_key)?),
    })
}

impl RoleRouter {
    /// Builds the backends, reading API keys from the process environment (each endpoint's
    /// `api_key_env`). Fails with the how-to-configure text when no endpoint is configured.
    /// `known` are the roles the agents call; an entry for any other is refused.
    pub fn from_settings(
        settings: &ModelSettings,
        known: &[Role],
    ) -> Result<RoleRouter, ModelError> {
        Self::from_settings_with_keys(settings, known, &|name| std::env::var(name).ok())
    }

    /// Like [`Self::from_settings`], with API keys looked up by variable name through `keys`.
    pub fn from_settings_with_keys(
        settings: &ModelSettings,
        known: &[Role],
        keys: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RoleRouter, ModelError> {
        if !settings.is_configured() {
            return Err(ModelError::NotConfigured(HOW_TO_CONFIGURE.to_string()));
        }
        settings.check_roles(known)?;
        // Roles with identical endpoints share one backend (and one connection pool).
        let mut built: Vec<Route> = Vec::new();
        let mut route_for = |endpoint: Endpoint| -> Result<Route, ModelError> {
            if let Some(route) = built.iter().find(|r| r.endpoint == endpoint) {
                return Ok(route.clone());
            }
            let key = keys(&endpoint.api_key_env).filter(|k| !k.trim().is_empty());
            let route = Route {
                backend: backend_for(&endpoint, key)?,
                endpoint,
            };
            built.push(route.clone());
            Ok(route)
        };
        let default = settings
            .default_endpoint()?
            .map(&mut route_for)
            .transpose()?;
        let mut routes = BTreeMap::new();
        for role in settings.roles.keys() {
            if let Some(endpoint) = settings.endpoint(role)? {
                routes.insert(role.clone(), route_for(endpoint)?);
            }
        }
        Ok(RoleRouter {
            routes,
            default,
            known: known.to_vec(),
        })
    }

    fn route(&self, role: &str) -> Option<&Route> {
        self.routes.get(role).or(self.default.as_ref())
    }

    /// The endpoint a role's requests go to.
    pub fn endpoint(&self, role: &str) -> Option<&Endpoint> {
        self.route(role).map(|r| &r.endpoint)
    }

    /// The longest image side to send for a role (1280 unless configured).
    pub fn max_image_side(&self, role: &str) -> u32 {
        self.endpoint(role)
            .map_or(DEFAULT_MAX_IMAGE_SIDE, |e| e.max_image_side)
    }

    /// One line per known role and per configured role: "manager -> openai m at url".
    pub fn describe(&self) -> Vec<String> {
        let mut roles: Vec<String> = self.known.iter().map(|r| r.to_string()).collect();
        roles.extend(
            self.routes
                .keys()
                .filter(|r| !roles.contains(r))
                .cloned()
                .collect::<Vec<_>>(),
        );
        roles
            .into_iter()
            .map(|role| match self.endpoint(&role) {
                Some(e) => format!("{role} -> {}", e.describe()),
                None => format!("{role} -> not configured"),
            })
            .collect()
    }
}

impl ModelBackend for RoleRouter {
    fn complete(&self, request: &ModelRequest) -> Result<ModelReply, PortError> {
        match self.route(request.agent_role.as_str()) {
            Some(route) => route.backend.complete(request),
            None => Err(PortError::from(ModelError::Config(format!(
                "no model endpoint for role \"{}\": add [models.roles.{}] or [models.default], \
                 or set DESKHAND_{}_MODEL_URL",
                request.agent_role,
                request.agent_role,
                request.agent_role.as_str().to_ascii_uppercase()
            )))),
        }
    }
}
