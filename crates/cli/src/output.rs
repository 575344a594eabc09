//! The same events, printed as text for people or as JSON lines for scripts.

use deskhand_core::ports::{RunRecord, StepRecord};
use deskhand_core::{Event, LayoutTree};
use deskhand_host::demo::DemoReport;
use deskhand_host::doctor::{Check, Verdict};
use deskhand_host::Snapshot;

#[derive(Default)]
pub struct Printer {
    pub json: bool,
    /// Agent runs: one progress line per step, with the plan, subgoal and thought when they
    /// change, instead of every perception and action detail.
    pub agent: bool,
    plan: String,
    subgoal: String,
}

/// " (N cached)" when some prompt tokens came from the provider's prompt cache.
fn cached_text(usage: &deskhand_core::ports::TokenUsage) -> String {
    if usage.cached == 0 {
        String::new()
    } else {
        format!(" ({} cached)", usage.cached)
    }
}

fn json_line(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("deskhand: cannot serialise output: {e}"),
    }
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            ..Self::default()
        }
    }

    pub fn event(&mut self, event: &Event) {
        if self.json {
            return json_line(event);
        }
        if self.agent && self.agent_event(event) {
            return;
        }
        match event {
            Event::RunStarted { run, task } => println!("run {run}: {task}"),
            Event::Perceived { step, nodes, ms } => {
                println!("  [{step}] perceived {nodes} nodes in {ms} ms")
            }
            Event::ActionStarted {
                step,
                action,
                point,
                target,
            } => {
                let at = match (target, point) {
                    (Some(t), Some(p)) => format!(" -> {t} at ({:.0}, {:.0})", p.x, p.y),
                    _ => String::new(),
                };
                let action = serde_json::to_string(action).unwrap_or_default();
                println!("  [{step}] {action}{at}");
            }
            Event::StepFinished {
                step,
                ok,
                error,
                ms,
                effect,
                ..
            } => match (ok, error) {
                (true, _) => {
                    let what = match effect {
                        Some(e) => match e.changed {
                            Some(r) => {
                                format!(
                                    ", changed {}x{} at ({}, {}), settled in {} ms{}",
                                    r.width,
                                    r.height,
                                    r.x,
                                    r.y,
                                    e.settle_ms,
                                    if e.stable { "" } else { " (still changing)" }
                                ) + if e.text_verified == Some(true) {
                                    ", text verified"
                                } else {
                                    ""
                                }
                            }
                            None => format!(", no visible change ({} ms)", e.settle_ms),
                        },
                        None => String::new(),
                    };
                    println!("  [{step}] done in {ms} ms{what}")
                }
                (false, e) => println!(
                    "  [{step}] FAILED: {}",
                    e.as_deref().unwrap_or("unknown error")
                ),
            },
            Event::RunFinished {
                run,
                status,
                summary,
            } => println!("run {run} {}: {summary}", status.as_str()),
            Event::Notice { message } => println!("{message}"),
            Event::ConfirmationRequested { step, shown, .. } => {
                println!("  [{step}] needs confirmation: {shown}")
            }
            Event::ActionRefused { step, reason } => println!("  [{step}] refused: {reason}"),
            Event::Paused { reason } => println!("paused: {reason}"),
            Event::Resumed => println!("resumed"),
            Event::Planned {
                step,
                plan,
                subgoal,
                ..
            } => {
                println!("  [{step}] plan: {plan}\n  [{step}] subgoal: {subgoal}")
            }
            Event::ModelCalled {
                step,
                role,
                ms,
                usage,
                error,
            } => match error {
                None => println!(
                    "  [{step}] {role}: {ms} ms, {}+{} tokens{}",
                    usage.prompt,
                    usage.completion,
                    cached_text(usage)
                ),
                Some(e) => println!("  [{step}] {role}: {ms} ms, FAILED: {e}"),
            },
            Event::Decided {
                step,
                thought,
                action,
                ..
            } => println!("  [{step}] thought: {thought}\n  [{step}] action: {action}"),
            Event::Reflected {
                step,
                outcome,
                error,
                progress,
                ..
            } => println!(
                "  [{step}] outcome {}{}{}",
                outcome.as_str(),
                if error.is_empty() {
                    String::new()
                } else {
                    format!(": {error}")
                },
                if progress.is_empty() {
                    String::new()
                } else {
                    format!(" (progress: {progress})")
                }
            ),
            Event::Graph { revision, nodes } => {
                if *revision == 0 {
                    println!("graph: {} subtask(s)", nodes.len());
                } else {
                    println!(
                        "graph re-planned ({revision}): {} subtask(s) left",
                        nodes.len()
                    );
                }
                for n in nodes {
                    println!("  {}", n.describe());
                }
            }
            Event::Node {
                node,
                app,
                state,
                facts,
                reason,
            } => {
                let mut line = format!("node {node} [{app}] {}", state.as_str());
                if !facts.is_empty() {
                    let found: Vec<String> = facts
                        .iter()
                        .map(|f| format!("{} = {:?}", f.name, f.value))
                        .collect();
                    line.push_str(&format!(": {}", found.join(", ")));
                }
                if !reason.is_empty() {
                    line.push_str(&format!(": {reason}"));
                }
                println!("{line}");
            }
            Event::AgentStep {
                step,
                subgoal,
                action,
                outcome,
                calls,
                usage,
                ms,
            } => println!(
                "step {step} | {subgoal} | {action} | {} | {ms} ms | {calls} call(s), {} tokens{}",
                outcome.map(|o| o.as_str()).unwrap_or("-"),
                usage.prompt + usage.completion,
                cached_text(usage)
            ),
        }
    }

    /// Prints an agent-run event in the compact progress form; false for events shown as in
    /// command runs.
    fn agent_event(&mut self, event: &Event) -> bool {
        match event {
            Event::Perceived { .. } | Event::ActionStarted { .. } => {}
            Event::StepFinished { ok: true, .. } => {}
            Event::ModelCalled { error: None, .. } => {}
            Event::Planned { plan, subgoal, .. } => {
                if *plan != self.plan {
                    println!("plan: {}", plan.replace('\n', "\n      "));
                    self.plan = plan.clone();
                }
                if *subgoal != self.subgoal {
                    println!("subgoal: {subgoal}");
                    self.subgoal = subgoal.clone();
                }
            }
            Event::Decided { step, thought, .. } => {
                if !thought.is_empty() {
                    println!("  [{}] {thought}", step + 1);
                }
            }
            Event::Reflected {
                step,
                outcome,
                error,
                ..
            } => {
                if !error.is_empty() && *outcome != deskhand_core::ports::Outcome::A {
                    println!("  [{}] {}: {error}", step + 1, outcome.as_str());
                }
            }
            Event::AgentStep {
                step,
                subgoal,
                action,
                outcome,
                calls,
                usage,
                ms,
            } => {
                if *subgoal != self.subgoal {
                    println!("subgoal: {subgoal}");
                    self.subgoal = subgoal.clone();
                }
                println!(
                    "step {:>2}  {}  {action}  ({:.1} s, {calls} call{}, {} tokens{})",
                    step + 1,
                    outcome.map(|o| o.as_str()).unwrap_or("-"),
                    *ms as f64 / 1000.0,
                    if *calls == 1 { "" } else { "s" },
                    usage.prompt + usage.completion,
                    cached_text(usage)
                );
            }
            _ => return false,
        }
        true
    }

    /// The totals of a finished agent run (after its RunFinished line).
    pub fn agent_outcome(&mut self, o: &deskhand_host::AgentOutcome) {
        if self.json {
            return;
        }
        let mut learned = Vec::new();
        if o.tips_learned > 0 {
            learned.push(format!("{} tip(s)", o.tips_learned));
        }
        if !o.shortcuts_learned.is_empty() {
            learned.push(format!("shortcut(s) {}", o.shortcuts_learned.join(", ")));
        }
        println!(
            "{} step(s), {} model call(s), {}+{} tokens{}{}",
            o.steps,
            o.calls,
            o.usage.prompt,
            o.usage.completion,
            cached_text(&o.usage),
            if learned.is_empty() {
                String::new()
            } else {
                format!("; learned {}", learned.join(" and "))
            }
        );
    }

    pub fn checks(&mut self, checks: &[Check]) {
        if self.json {
            return json_line(&checks);
        }
        for c in checks {
            let mark = match c.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            println!("{mark} {:<44} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("     {:<44} fix: {fix}", "");
            }
        }
    }

    pub fn perception(&mut self, p: &Snapshot, tree: Option<&LayoutTree>) -> anyhow::Result<()> {
        if self.json {
            json_line(&serde_json::json!({
                "monitors": p.monitors,
                "capture_ms": p.capture_ms,
                "tree_ms": p.tree_ms,
                "tree_error": p.tree_error,
                "tree": tree,
            }));
            return Ok(());
        }
        for m in &p.monitors {
            println!(
                "monitor {} {}x{}+{}+{}",
                m.name, m.bounds.width, m.bounds.height, m.bounds.x, m.bounds.y
            );
        }
        println!(
            "captured in {} ms, tree read in {} ms",
            p.capture_ms, p.tree_ms
        );
        if let Some(e) = &p.tree_error {
            println!("no accessibility tree: {e}");
        }
        if let Some(tree) = tree {
            for (depth, n) in tree.walk() {
                let b = n
                    .bounds
                    .map(|b| format!(" [{},{} {}x{}]", b.x, b.y, b.width, b.height))
                    .unwrap_or_default();
                println!("{}{} {} {:?}{b}", "  ".repeat(depth), n.id, n.role, n.name);
            }
        }
        Ok(())
    }

    pub fn runs(&mut self, runs: &[RunRecord]) -> anyhow::Result<()> {
        if self.json {
            json_line(&runs);
            return Ok(());
        }
        for r in runs {
            println!(
                "{:>5}  {:<11} {}  {}",
                r.id,
                r.status.as_str(),
                r.task,
                r.summary
            );
        }
        Ok(())
    }

    pub fn steps(&mut self, steps: &[StepRecord]) -> anyhow::Result<()> {
        if self.json {
            json_line(&steps);
            return Ok(());
        }
        for s in steps {
            let result = if s.ok {
                "ok".to_string()
            } else {
                format!("FAILED: {}", s.error.as_deref().unwrap_or(""))
            };
            println!(
                "{:>3}  {:<40} {}  {}",
                s.index,
                s.request,
                s.target.as_deref().unwrap_or(""),
                result
            );
        }
        Ok(())
    }

    pub fn demo(&mut self, r: &DemoReport) {
        if self.json {
            json_line(&serde_json::json!({
                "display": r.display,
                "virtual_desktop": r.virtual_desktop,
                "run": r.run,
                "database": r.database,
                "saved_file": r.saved_file,
                "content": r.content,
                "screenshot": r.screenshot,
            }));
            return;
        }
        println!();
        println!(
            "Demo finished on display {}{}:",
            r.display,
            if r.virtual_desktop { " (virtual)" } else { "" }
        );
        println!("  mousepad saved    {}", r.saved_file.display());
        for line in r.content.lines() {
            println!("                    | {line}");
        }
        if let Some(s) = &r.screenshot {
            println!("  last screenshot   {s}");
        }
        println!(
            "  run {} with {} steps recorded in {}",
            r.run,
            r.steps.len(),
            r.database.display()
        );
    }
}
