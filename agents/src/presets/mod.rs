//! Presets: published agent systems built from the runtime's shared parts. A preset is the
//! loop of its paper, about a page long, over [`Session`](crate::runtime::session::Session)'s
//! parts (plan, decide, execute, reflect, take notes, record).

mod deskhand;
mod mobile_agent_e;
mod steward;

use deskhand_core::ports::RunStatus;
use serde::{Deserialize, Serialize};

use crate::runtime::call::Stop;
use crate::runtime::session::Session;

/// Which loop a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Mobile-Agent-E with the work the evidence makes unnecessary left out: the Manager is
    /// skipped while a subgoal goes well, plain outcomes are judged without a model, the
    /// Notetaker is asked beside the Reflector only when notes are wanted. The default.
    #[default]
    Deskhand,
    /// Mobile-Agent-E as the paper runs it: Manager, Operator, Action Reflector and
    /// Notetaker on every step.
    MobileAgentE,
    /// MobileSteward for tasks across apps: a graph of app subtasks whose facts feed later
    /// ones, each done by a staff agent (this loop, in its app), evaluated after it, retried
    /// with a reflection tip, re-planned once.
    Steward,
}

impl Preset {
    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 3] = [Preset::Deskhand, Preset::MobileAgentE, Preset::Steward];

    /// The name used on the command line, in config and in `Op::Run`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Deskhand => "deskhand",
            Preset::MobileAgentE => "mobile-agent-e",
            Preset::Steward => "steward",
        }
    }

    /// One line on what the preset does.
    pub fn summary(self) -> &'static str {
        match self {
            Preset::Deskhand => {
                "Mobile-Agent-E's roles, skipping calls the evidence makes unnecessary (default)"
            }
            Preset::MobileAgentE => {
                "Mobile-Agent-E as published: Manager, Operator, Reflector, Notetaker every step"
            }
            Preset::Steward => {
                "MobileSteward for tasks across apps: a graph of app subtasks passing facts on"
            }
        }
    }

    /// The preset with this name, or an error listing the known ones.
    pub fn parse(name: &str) -> Result<Preset, String> {
        let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown preset {name:?}: the presets are {}",
                    Preset::ALL.map(|p| p.name()).join(", ")
                )
            })
    }

    pub(crate) fn run(
        self,
        session: &mut Session<'_, '_, '_>,
    ) -> Result<(RunStatus, String), Stop> {
        match self {
            Preset::Deskhand => deskhand::run(session),
            Preset::MobileAgentE => mobile_agent_e::run(session),
            Preset::Steward => steward::run(session),
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::parse(s)
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_an_unknown_one_lists_the_known() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.name()), Ok(p));
        }
        assert_eq!(Preset::parse("Mobile_Agent_E"), Ok(Preset::MobileAgentE));
        let err = Preset::parse("cradle").unwrap_err();
        assert_eq!(
            err,
            "unknown preset \"cradle\": the presets are deskhand, mobile-agent-e, steward"
        );
    }
}
