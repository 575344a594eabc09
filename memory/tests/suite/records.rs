//! The records the store tests write and read back, shared with the writer example that the
//! SIGKILL test runs as a child process (`examples/kill_writer.rs` includes this file).

use deskhand_core::ports::{
    ActionEffect, AgentStepInfo, GateDecision, ModuleTimes, Outcome, StepRecord, TokenUsage,
    Verdict,
};
use deskhand_core::{Action, KeyChord, ModelCallRecord, Point, Rect};

/// The roles of the calls the killed writer records after each step.
pub const KILL_ROLES: [&str; 2] = ["operator", "reflector"];

/// The environment variable holding the database path of the killed writer.
pub const KILL_DB_ENV: &str = "DESKHAND_MEMORY_KILL_DB";

pub fn step(index: u32) -> StepRecord {
    StepRecord {
        index,
        request: "key ctrl+s".into(),
        action: Some(Action::Key {
            chord: KeyChord::parse("ctrl+s").unwrap(),
        }),
        point: Some(Point::new(1.5, 2.0)),
        target: Some("push button \"Save\" (a3)".into()),
        ok: true,
        error: None,
        screenshot: Some("/tmp/x.png".into()),
        effect: Some(ActionEffect {
            changed: Some(Rect::new(1, 2, 3, 4)),
            settle_ms: 55,
            stable: true,
            text_verified: Some(true),
            focus_moved: true,
            target_in_front: Some(false),
        }),
        policy: Some(GateDecision {
            verdict: Verdict::Allow,
            rule: "default".into(),
            reason: "no rule matched".into(),
            shown: "key \"ctrl+s\"".into(),
        }),
        perceive_ms: 12,
        act_ms: 34,
        started_ms: 1000 + i64::from(index),
        agent: None,
    }
}

pub fn agent_info(i: u32) -> AgentStepInfo {
    AgentStepInfo {
        subgoal: format!("subgoal {i}"),
        thought: "the Save button is at the top".into(),
        shortcut: i.is_multiple_of(2).then(|| "save_as".into()),
        outcome: Some(if i.is_multiple_of(3) {
            Outcome::A
        } else {
            Outcome::C
        }),
        error_description: "nothing changed".into(),
        progress: "half done".into(),
        calls: 2,
        usage: TokenUsage {
            prompt: 1000 + i,
            completion: 50,
            cached: 0,
        },
        times: ModuleTimes {
            perceive: 10,
            retrieve: 1,
            manager: 0,
            operator: 300,
            act: 40,
            reflect: 200,
            total: 560,
        },
        marks_screenshot: Some(format!("/tmp/marks-{i}.png")),
    }
}

pub fn call(step: u32, role: &str) -> ModelCallRecord {
    ModelCallRecord {
        step,
        role: role.into(),
        prompt: format!("[{{\"role\":\"user\",\"content\":\"step {step} {role}\"}}]"),
        reply: "{\"action\":\"key\"}".into(),
        usage: TokenUsage {
            prompt: 900 + step,
            completion: 30,
            cached: 512,
        },
        ms: 250,
        error: (role == "reflector").then(|| "schema: missing field".into()),
        memory_used: Vec::new(),
    }
}

/// A step with its agent info, as the killed writer records it.
pub fn agent_step(i: u32) -> StepRecord {
    let mut s = step(i);
    s.agent = Some(agent_info(i));
    s
}
