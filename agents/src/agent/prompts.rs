//! The prompts of each role, in Mobile-Agent-E's structure: a system message saying who the
//! role is and how to answer, and a user message with the instruction, the memory that
//! applies (tips, shortcuts, notes), the history, and the screen (compact tree + Set-of-Marks).

use deskhand_core::ports::{Message, MessagePart, MessageRole};
use deskhand_core::{MarkedImage, Observation, Shortcut, Tip};

use super::state::{Attempt, RunState};

/// What the state letters of the compact tree mean (kept in step with perception's legend).
const TREE_LEGEND: &str = "Screen as a tree: one line per element, `id role \"name\" =\"text\" \
[x,y,w,h] states`, indented by nesting; boxes are desktop pixels; states: F focused, \
E editable, C checked, S selected, X expanded, A active window, D disabled, H not on screen. \
The screenshot shows the same ids in numbered boxes.";

const ACTIONS: &str = r#"Actions (JSON, "kind" selects one):
- {"kind":"click","target":T} (optional "button":"left|right|middle"), {"kind":"double_click","target":T}, {"kind":"triple_click","target":T}, {"kind":"right_click","target":T}, {"kind":"hover","target":T}
- {"kind":"drag","from":T,"to":T}, {"kind":"scroll","target":T,"amount":{"dy":3}} (positive = down/right)
- {"kind":"type","text":"..."} types into the focused element; {"kind":"key","chord":"ctrl+s"} (also Return, Tab, Escape, ctrl+shift+s, alt+f4)
- {"kind":"open_app","name":"mousepad"}, {"kind":"focus_window","title":"..."}, {"kind":"wait","ms":500}
- {"kind":"done","summary":"..."} when the whole instruction is complete; {"kind":"fail","reason":"..."} when it cannot be done
A target T is {"by":"node","id":"<id from the tree>"}; only when no element fits, {"by":"point","x":X,"y":Y} in desktop pixels."#;

fn text(t: impl Into<String>) -> MessagePart {
    MessagePart::Text { text: t.into() }
}

fn image(marks: &MarkedImage) -> MessagePart {
    MessagePart::Png {
        base64: marks.png_base64.clone(),
        width: marks.width,
        height: marks.height,
    }
}

fn system(t: &str) -> Message {
    Message {
        role: MessageRole::System,
        parts: vec![text(t)],
    }
}

fn user(parts: Vec<MessagePart>) -> Message {
    Message {
        role: MessageRole::User,
        parts,
    }
}

fn section(title: &str, body: &str) -> String {
    if body.trim().is_empty() {
        String::new()
    } else {
        format!("### {title}\n{}\n\n", body.trim_end())
    }
}

/// Tips as a list.
pub fn tips_text(tips: &[Tip]) -> String {
    tips.iter()
        .map(|t| {
            if t.app.is_empty() {
                format!("- {}", t.text)
            } else {
                format!("- [{}] {}", t.app, t.text)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shortcuts as a list with their parameters and preconditions.
pub fn shortcuts_text(shortcuts: &[Shortcut]) -> String {
    shortcuts
        .iter()
        .map(|s| {
            let params: Vec<String> = s
                .parameters
                .iter()
                .map(|p| {
                    if p.description.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{}: {}", p.name, p.description)
                    }
                })
                .collect();
            let mut line = format!("- {}({}): {}", s.name, params.join(", "), s.description);
            if !s.app.is_empty() {
                line.push_str(&format!(" [app: {}]", s.app));
            }
            if !s.precondition.is_empty() {
                line.push_str(&format!(" Precondition: {}", s.precondition));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last attempts, newest last.
fn history_text(history: &[Attempt], last: usize) -> String {
    let skip = history.len().saturating_sub(last);
    history
        .iter()
        .skip(skip)
        .map(|a| {
            let mut line = format!(
                "- step {}: {} -> outcome {}",
                a.step,
                a.action,
                a.outcome.map(|o| o.as_str()).unwrap_or("?")
            );
            if !a.error.is_empty() {
                line.push_str(&format!(" ({})", a.error));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn screen_parts(obs: &Observation, images: bool, caption: &str) -> Vec<MessagePart> {
    let mut where_ = String::new();
    if let Some(app) = &obs.app {
        where_.push_str(&format!("Active app: {app}. "));
    }
    if let Some(title) = &obs.window_title {
        where_.push_str(&format!("Active window: {title:?}."));
    }
    let mut parts = vec![text(format!(
        "### {caption}\n{where_}\n{TREE_LEGEND}\n{}",
        obs.compact
    ))];
    if images {
        if let Some(m) = &obs.marks {
            parts.push(image(m));
        }
    }
    parts
}

/// The Manager's request.
pub fn manager(state: &RunState, obs: &Observation, images: bool) -> Vec<Message> {
    let sys = "You are the Manager of Deskhand, an agent that operates a Linux desktop with \
mouse and keyboard for a user. You plan: break the user's instruction into a short list of \
subgoals, track which are done, and name the subgoal the Operator should work on now. When \
the whole instruction is done, set current_subgoal to \"Finished\". Prefer keyboard \
shortcuts and the listed Shortcuts when they fit. Answer with one JSON object only: \
{\"thought\": \"...\", \"plan\": \"1. ... 2. ...\", \"current_subgoal\": \"...\", \
\"completed_subgoals\": \"...\", \"needs_notes\": false}. Set needs_notes to true only when \
the current subgoal requires remembering something shown on screen for a later subgoal.";
    let mut body = section("User instruction", &state.instruction);
    body += &section("Tips from earlier runs", &tips_text(&state.tips));
    body += &section(
        "Shortcuts the Operator can call",
        &shortcuts_text(&state.shortcuts),
    );
    if !state.plan.is_empty() {
        body += &section("Current plan", &state.plan);
        body += &section("Current subgoal", &state.subgoal);
        body += &section("Completed subgoals", &state.completed);
        body += &section("Progress", &state.progress);
        body += &section("Recent actions", &history_text(&state.history, 5));
        body += &section("Important notes", &state.notes);
    }
    if let Some(stuck) = state.stuck_block() {
        body += &section("Potentially stuck", &stuck);
    }
    body += if state.plan.is_empty() {
        "Make the plan and name the first subgoal.\n\n"
    } else {
        "Update the plan if needed and name the subgoal to work on now (or \"Finished\").\n\n"
    };
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(obs, images, "Current screen"));
    vec![system(sys), user(parts)]
}

/// The Operator's request.
pub fn operator(state: &RunState, obs: &Observation, images: bool) -> Vec<Message> {
    let sys = format!(
        "You are the Operator of Deskhand, an agent that operates a Linux desktop with mouse \
and keyboard. Choose exactly ONE next action that makes progress on the current subgoal, \
aimed at an element id from the screen tree, or call ONE of the listed shortcuts. If the \
current subgoal is already achieved on screen, answer with \"subgoal_complete\": true and no \
action.\n{ACTIONS}\nShortcut call: \"shortcut\": {{\"name\": \"...\", \"arguments\": \
{{\"param\": \"value\"}}}}.\nAnswer with one JSON object only: {{\"thought\": \"...\", \
\"action\": {{...}}, \"description\": \"what you expect to happen\"}}."
    );
    let mut body = section("User instruction", &state.instruction);
    body += &section("Overall plan", &state.plan);
    body += &section("Current subgoal", &state.subgoal);
    body += &section("Progress", &state.progress);
    body += &section("Tips", &tips_text(&state.tips));
    body += &section("Shortcuts", &shortcuts_text(&state.shortcuts));
    body += &section("Important notes", &state.notes);
    body += &section("Recent actions", &history_text(&state.history, 5));
    if let Some(last) = state.history.last() {
        if !last.error.is_empty() {
            body += &section(
                "The last action did not work",
                &format!("{} -> {}", last.action, last.error),
            );
        }
    }
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(obs, images, "Current screen"));
    vec![system(&sys), user(parts)]
}

/// The Action Reflector's request.
pub fn reflector(
    state: &RunState,
    action: &str,
    expectation: &str,
    effect: &str,
    before: &Observation,
    after: &Observation,
    images: bool,
) -> Vec<Message> {
    let sys = "You are the Action Reflector of Deskhand. Compare the screen before and after \
the last action and judge its outcome: A = successful or partially successful (the result \
is as expected), B = failed: it led to a wrong screen or state, C = failed: it changed \
nothing. For B and C describe what went wrong. Also say whether the current subgoal is now \
achieved. Answer with one JSON object only: {\"outcome\": \"A\", \"error_description\": \"\", \
\"progress\": \"...\", \"subgoal_done\": false}.";
    let mut body = section("User instruction", &state.instruction);
    body += &section("Current subgoal", &state.subgoal);
    body += &section("Progress so far", &state.progress);
    body += &section("Action taken", action);
    body += &section("Expected", expectation);
    body += &section("Observed effect", effect);
    let mut parts = vec![text(body)];
    parts.push(text(format!(
        "### Screen before\n{TREE_LEGEND}\n{}",
        before.compact
    )));
    parts.extend(screen_parts(after, images, "Screen after"));
    vec![system(sys), user(parts)]
}

/// The Notetaker's request.
pub fn notetaker(state: &RunState, after: &Observation) -> Vec<Message> {
    let sys = "You are the Notetaker of Deskhand. Record the content on screen that is \
needed later to complete the user's instruction (numbers, names, addresses, results), and \
keep the earlier notes that still matter. Answer with one JSON object only: \
{\"notes\": \"all notes so far\"}.";
    let mut body = section("User instruction", &state.instruction);
    body += &section("Plan", &state.plan);
    body += &section("Current subgoal", &state.subgoal);
    body += &section("Notes so far", &state.notes);
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(after, false, "Screen now"));
    vec![system(sys), user(parts)]
}

/// The tips reflector's request (after the run).
pub fn tips(state: &RunState, status: &str, summary: &str, existing: &[Tip]) -> Vec<Message> {
    let sys = "You are the Experience Reflector for tips in Deskhand. From this run, write at \
most 3 short, general lessons that would help a future run in the same application: what \
worked, what failed and why, faster ways. Do not repeat existing tips. Scope each to its \
application (lower-case name) or leave app empty when it is general. Answer with one JSON \
object only: {\"tips\": [{\"app\": \"mousepad\", \"text\": \"...\"}]}.";
    let mut body = section("Instruction", &state.instruction);
    body += &section("Result", &format!("{status}: {summary}"));
    body += &section("Actions", &history_text(&state.history, 40));
    body += &section("Existing tips", &tips_text(existing));
    vec![system(sys), user(vec![text(body)])]
}

/// The shortcuts reflector's request (after a successful run).
pub fn shortcuts(state: &RunState, commands: &[String], existing: &[Shortcut]) -> Vec<Message> {
    let sys = "You are the Experience Reflector for shortcuts in Deskhand. A shortcut is a \
reusable sequence of atomic steps with parameters that a future run can call as one step. \
From the successful run below, propose at most 2 new shortcuts that are not already \
covered. Each step is one command: click 'Label', click button 'Label', \
double_click 'Label', right_click 'Label', type \"{param}\", key ctrl+s, scroll down 3 \
'Label', wait 500; write {name} where a parameter's value goes and declare every parameter. \
\"requires\" is an element that must be on screen before the first step (e.g. \"menu 'File'\") \
or empty. Answer with one JSON object only: {\"shortcuts\": [{\"name\": \"snake_case\", \
\"app\": \"mousepad\", \"description\": \"...\", \"parameters\": [{\"name\": \"...\", \
\"description\": \"...\"}], \"precondition\": \"...\", \"requires\": \"\", \"steps\": \
[\"...\"]}]}.";
    let mut body = section("Instruction", &state.instruction);
    body += &section("The steps that worked, as commands", &commands.join("\n"));
    body += &section("Existing shortcuts", &shortcuts_text(existing));
    vec![system(sys), user(vec![text(body)])]
}

/// The request as stored: text kept, images replaced by their size.
pub fn for_log(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| {
            let role = match m.role {
                MessageRole::System => "system",
                MessageRole::User => "user",
                MessageRole::Assistant => "assistant",
            };
            let body: Vec<String> = m
                .parts
                .iter()
                .map(|p| match p {
                    MessagePart::Text { text } => text.clone(),
                    MessagePart::Png { width, height, .. } => {
                        format!("[image {width}x{height}]")
                    }
                })
                .collect();
            format!("[{role}]\n{}", body.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
