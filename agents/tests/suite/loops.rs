//! The loops of both presets on the fake note window, with a model whose every answer is
//! computed from the prompt it was sent: a role that is not shown what it needs answers
//! wrongly and the test fails.

use std::sync::atomic::Ordering;

use deskhand_agents::Preset;
use deskhand_core::ports::{Outcome, RunStatus};
use deskhand_core::protocol::Judge;
use deskhand_core::{Event, Role, Shortcut};
use serde_json::json;

use super::fakes::Desk;

/// The body of the last `### title` section of a prompt.
pub(super) fn section(text: &str, title: &str) -> String {
    let head = format!("### {title}\n");
    let Some(start) = text.rfind(&head) else {
        return String::new();
    };
    let body = &text[start + head.len()..];
    body[..body.find("\n\n").unwrap_or(body.len())]
        .trim()
        .to_string()
}

/// Everything after the last `### title` line (a screen runs to the end of its part).
fn after<'a>(text: &'a str, title: &str) -> &'a str {
    text.rfind(&format!("### {title}\n"))
        .map_or("", |i| &text[i..])
}

/// The screen shown before the action, in a Reflector prompt.
fn before_screen(text: &str) -> &str {
    let from = text.find("### Screen before\n").unwrap_or(0);
    let to = text.find("### Screen after\n").unwrap_or(text.len());
    &text[from..to]
}

/// The id of the screen line naming `name` (or of the text field for `text`).
fn id_of(screen: &str, what: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(what))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{what} is not on the screen shown:\n{screen}"))
        .to_string()
}

fn click(id: &str, thought: &str) -> String {
    json!({"thought": thought, "action": {"kind": "click", "target": {"by": "node", "id": id}},
           "description": thought})
    .to_string()
}

/// The prompt with the measured settle time (which varies from run to run) blanked.
fn timeless(prompt: &str) -> String {
    let mut out = String::new();
    let mut rest = prompt;
    while let Some(i) = rest.find("settled in ") {
        let (head, tail) = rest.split_at(i + "settled in ".len());
        out.push_str(head);
        out.push('N');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

const HELLO: &str = "=\"hello\"";

/// The Manager: Finished once the title says saved; Save once the note reads hello; else
/// type hello.
fn manager(p: &str, _turn: usize) -> String {
    let screen = after(p, "Current screen");
    let subgoal = if screen.contains("(saved)") {
        "Finished"
    } else if screen.contains(HELLO) {
        "Save the note"
    } else {
        "Type hello into the note"
    };
    json!({"thought": format!("next: {subgoal}"), "plan": "1. Type hello into the note 2. Save the note",
           "current_subgoal": subgoal, "completed_subgoals": ""})
    .to_string()
}

/// The Operator as a careful model: focus the note, type, save, and say when the subgoal
/// is already met. With `clear_first`, its first try at saving clicks Clear instead.
fn operator(clear_first: bool, help_first: usize) -> impl Fn(&str, usize) -> String {
    move |p: &str, _turn: usize| {
        let subgoal = section(p, "Current subgoal");
        let screen = after(p, "Current screen");
        let history = section(p, "Recent actions");
        let helps = history.matches("Help").count();
        let field = screen
            .lines()
            .find(|l| l.contains(" text \""))
            .unwrap_or_default();
        if helps < help_first && !section(p, "Tips").contains("Help button does nothing") {
            return click(&id_of(screen, "\"Help\""), "maybe Help explains it");
        }
        if screen.contains("(saved)") {
            return json!({"thought": "saved", "action": {"kind": "done", "summary": "saved hello"}})
                .to_string();
        }
        if subgoal.starts_with("Type") {
            if screen.contains(HELLO) {
                json!({"thought": "hello is there", "subgoal_complete": true}).to_string()
            } else if field.contains(" FE") {
                json!({"thought": "type", "action": {"kind": "type", "text": "hello"},
                       "description": "hello appears in the note"})
                .to_string()
            } else {
                click(&id_of(screen, " text \""), "focus the note")
            }
        } else if clear_first && !history.contains("Clear") {
            click(&id_of(screen, "\"Clear\""), "save it")
        } else {
            click(&id_of(screen, "\"Save\""), "save it")
        }
    }
}

/// The Reflector: B when the note lost its text, C when nothing changed, else A; the
/// subgoal is done when what it names is on the screen after.
fn reflector(p: &str, _turn: usize) -> String {
    let before = before_screen(p);
    let after_ = after(p, "Screen after");
    let subgoal = section(p, "Current subgoal");
    let (had, has) = (before.contains(HELLO), after_.contains(HELLO));
    let strip = |s: &str| s.lines().skip(2).collect::<Vec<_>>().join("\n");
    let (outcome, error) = if had && !has {
        (
            "B",
            "the note was emptied: Clear was clicked instead of Save",
        )
    } else if strip(before) == strip(after_) {
        ("C", "nothing changed")
    } else {
        ("A", "")
    };
    let done = outcome == "A"
        && ((subgoal.starts_with("Save") && after_.contains("(saved)"))
            || (subgoal.starts_with("Type") && has));
    json!({"outcome": outcome, "error_description": error, "progress": format!("after {}", section(p, "Action taken")),
           "subgoal_done": done})
    .to_string()
}

fn notetaker(p: &str, _turn: usize) -> String {
    let field = after(p, "Screen now")
        .lines()
        .find(|l| l.contains(" text \""))
        .unwrap_or_default()
        .to_string();
    json!({"notes": format!("the note line: {}", field.trim())}).to_string()
}

fn desk(clear_first: bool, help_first: usize) -> Desk {
    let desk = Desk::new();
    desk.model.answer(Role::Manager, manager);
    desk.model
        .answer(Role::Operator, operator(clear_first, help_first));
    desk.model.answer(Role::Reflector, reflector);
    desk.model.answer(Role::Notetaker, notetaker);
    desk
}

fn verdicts(events: &[Event]) -> Vec<(u32, Outcome, Judge)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Reflected {
                step, outcome, by, ..
            } => Some((*step, *outcome, *by)),
            _ => None,
        })
        .collect()
}

fn roles_per_step(d: &Desk, run: i64) -> Vec<(u32, String)> {
    d.memory
        .calls_of(run)
        .into_iter()
        .map(|c| (c.step, c.role))
        .collect()
}

const TASK: &str = "Type hello into the note and save it";

#[test]
fn deskhand_preset_skips_the_manager_while_steps_go_well_and_judges_plain_steps_itself() {
    let mut d = desk(false, 0);
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    let w = d.world();
    assert_eq!(w.saved.as_deref(), Some("hello"));
    assert_eq!(w.clicks, vec!["note", "Save"]);
    // Step 0: plan, focus the note (the Reflector sees the focus move). Step 1: typing is
    // verified in the field by the runtime, no Reflector. Step 2: the Operator finds the
    // subgoal met, the Manager names the next, the Operator saves. Step 3: Finished.
    let calls = roles_per_step(&d, out.run);
    let expect: Vec<(u32, String)> = [
        (0, "manager"),
        (0, "operator"),
        (0, "reflector"),
        (1, "operator"),
        (2, "operator"),
        (2, "manager"),
        (2, "operator"),
        (2, "reflector"),
        (3, "manager"),
    ]
    .iter()
    .map(|(s, r)| (*s, r.to_string()))
    .collect();
    assert_eq!(calls, expect);
    assert_eq!(out.calls, 9);
    assert_eq!(
        verdicts(&events),
        vec![
            (0, Outcome::A, Judge::Model),
            (1, Outcome::A, Judge::Runtime),
            (2, Outcome::A, Judge::Model)
        ]
    );
    // The plan reaches the front ends as a list of subtasks.
    let planned = events.iter().find_map(|e| match e {
        Event::Planned { subtasks, .. } => Some(subtasks.clone()),
        _ => None,
    });
    assert_eq!(
        planned.unwrap(),
        vec!["Type hello into the note", "Save the note"]
    );
    // Each role's first prompt, as sent.
    insta::assert_snapshot!("manager_first", d.model.prompts(Role::Manager)[0]);
    insta::assert_snapshot!("operator_first", d.model.prompts(Role::Operator)[0]);
    insta::assert_snapshot!(
        "reflector_first",
        timeless(&d.model.prompts(Role::Reflector)[0])
    );
    // The step log holds every step with its verdict and counts.
    let steps = d.memory.steps_of(out.run);
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[1].agent.as_ref().unwrap().outcome, Some(Outcome::A));
    assert_eq!(steps[1].agent.as_ref().unwrap().calls, 1);
}

#[test]
fn mobile_agent_e_preset_asks_all_four_roles_on_every_step() {
    let mut d = desk(false, 0);
    d.config.preset = Preset::MobileAgentE;
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    assert_eq!(d.world().saved.as_deref(), Some("hello"));
    let calls = roles_per_step(&d, out.run);
    for step in 0..3 {
        let roles: Vec<&str> = calls
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, r)| r.as_str())
            .collect();
        assert_eq!(
            roles,
            vec!["manager", "operator", "reflector", "notetaker"],
            "step {step}"
        );
    }
    assert_eq!(out.calls, 13);
    // Every verdict is the model's, the typed text included.
    assert!(verdicts(&events)
        .iter()
        .all(|(_, _, by)| *by == Judge::Model));
    // The notes the Notetaker took are in the next Manager prompt.
    let managers = d.model.prompts(Role::Manager);
    assert!(
        section(&managers[2], "Important notes").contains("the note line"),
        "{}",
        managers[2]
    );
    insta::assert_snapshot!("notetaker_first", d.model.prompts(Role::Notetaker)[0]);
}

#[test]
fn a_wrong_click_is_judged_b_and_the_manager_recovers_from_it() {
    let mut d = desk(true, 0);
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    let w = d.world();
    assert_eq!(w.clicks, vec!["note", "Clear", "note", "Save"]);
    assert_eq!(w.saved.as_deref(), Some("hello"));
    assert!(verdicts(&events).contains(&(2, Outcome::B, Judge::Model)));
    // After the B the Manager is asked again, and is shown what went wrong.
    let after_b = d
        .model
        .prompts(Role::Manager)
        .into_iter()
        .find(|p| p.contains("outcome B"))
        .expect("the Manager was not shown the failed step");
    assert!(
        section(&after_b, "Recent actions").contains("Clear was clicked instead of Save"),
        "{after_b}"
    );
    // The Operator is told its last action did not work.
    assert!(d.model.prompts(Role::Operator).iter().any(|p| section(
        p,
        "The last action did not work"
    )
    .contains("Clear")));
}

#[test]
fn a_click_that_changes_nothing_is_judged_c_by_the_runtime_without_a_model_call() {
    let mut d = desk(false, 1);
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    assert_eq!(d.world().clicks[0], "Help");
    assert_eq!(verdicts(&events)[0], (0, Outcome::C, Judge::Runtime));
    let step0: Vec<String> = roles_per_step(&d, out.run)
        .into_iter()
        .filter(|(s, _)| *s == 0)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(step0, vec!["manager", "operator"]);
    let steps = d.memory.steps_of(out.run);
    assert_eq!(
        steps[0].agent.as_ref().unwrap().error_description,
        "the action changed nothing on the screen"
    );
}

#[test]
fn two_failures_in_a_row_put_the_stuck_block_in_front_of_the_manager() {
    let mut d = desk(false, 2);
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    let managers = d.model.prompts(Role::Manager);
    // Plan, after the first C, after the second C (stuck), ...
    assert!(section(&managers[1], "Potentially stuck").is_empty());
    let stuck = section(&managers[2], "Potentially stuck");
    assert!(
        stuck.contains("The last 2 attempts failed"),
        "{}",
        managers[2]
    );
    assert!(
        stuck.contains("step 0") && stuck.contains("step 1"),
        "{stuck}"
    );
    assert!(stuck.contains("Help"), "{stuck}");
    // Once a step works the block is gone.
    assert!(managers[3..]
        .iter()
        .all(|m| section(m, "Potentially stuck").is_empty()));
}

#[test]
fn a_tip_learned_from_a_failure_is_in_the_next_run_and_changes_what_it_does() {
    let mut d = desk(false, 1);
    d.config.learn = true;
    d.model.answer(Role::Tips, |p, _| {
        let actions = section(p, "Actions");
        let tips = if actions.contains("Help") && actions.contains("outcome C") {
            json!([{"app": "notes", "text": "The Help button does nothing; type into the note directly."}])
        } else {
            json!([])
        };
        json!({ "tips": tips }).to_string()
    });
    d.model
        .answer(Role::Shortcuts, |_, _| json!({"shortcuts": []}).to_string());
    let (first, _) = d.run(TASK);
    assert_eq!(first.status, RunStatus::Succeeded, "{}", first.summary);
    assert_eq!(first.tips_learned, 1);
    assert_eq!(d.memory.tips[0].source_run, Some(first.run));

    // A fresh note; the same instruction.
    *d.world.lock().unwrap() = Default::default();
    let (second, _) = d.run(TASK);
    assert_eq!(second.status, RunStatus::Succeeded, "{}", second.summary);
    let last_manager = d
        .model
        .prompts(Role::Manager)
        .into_iter()
        .rev()
        .find(|p| p.contains("Make the plan"))
        .unwrap();
    assert!(
        section(&last_manager, "Tips from earlier runs").contains("Help button does nothing"),
        "{last_manager}"
    );
    // The Operator, shown the tip, no longer tries Help.
    assert!(!d.world().clicks.contains(&"Help".to_string()));
}

#[test]
fn a_shortcut_whose_precondition_is_not_on_screen_runs_nothing() {
    let mut d = desk(false, 0);
    d.memory.shortcuts.push(Shortcut {
        id: 7,
        name: "publish_note".into(),
        app: "notes".into(),
        description: "Publish the note".into(),
        parameters: vec![],
        precondition: "the Publish button is shown".into(),
        requires: Some("button 'Publish'".into()),
        steps: vec!["click button 'Publish'".into()],
        source_run: None,
        uses: 0,
        successes: 0,
    });
    let careful = operator(false, 0);
    d.model.answer(Role::Operator, move |p, turn| {
        if turn == 0 {
            assert!(section(p, "Shortcuts").contains("publish_note"), "{p}");
            return json!({"thought": "publish", "shortcut": {"name": "publish_note", "arguments": {}}})
                .to_string();
        }
        careful(p, turn)
    });
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded, "{}", out.summary);
    let step0 = &d.memory.steps_of(out.run)[0];
    let error = step0.error.clone().unwrap_or_default();
    assert!(error.contains("precondition not met"), "{error}");
    assert_eq!(verdicts(&events)[0], (0, Outcome::C, Judge::Runtime));
    assert_eq!(d.memory.shortcut_runs, vec![(7, false)]);
    assert_eq!(d.world().clicks, vec!["note", "Save"]);
}

#[test]
fn an_answer_invalid_twice_stops_the_run_and_nothing_moves() {
    let mut d = desk(false, 0);
    d.model.answer(Role::Operator, |_, _| {
        "I would click the Save button.".into()
    });
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.summary.contains("invalid twice; nothing was executed"),
        "{}",
        out.summary
    );
    let prompts = d.model.prompts(Role::Operator);
    assert_eq!(prompts.len(), 2);
    assert!(prompts[1].contains("Your answer was invalid"));
    assert!(d.world().events.is_empty());
}

#[test]
fn the_step_budget_ends_a_run_that_is_not_done() {
    let mut d = desk(false, 0);
    d.config.max_steps = 2;
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.summary.contains("step budget of 2"), "{}", out.summary);
    assert_eq!(out.steps, 2);
}

#[test]
fn the_same_action_chosen_again_and_again_stops_the_run() {
    let mut d = desk(false, 10);
    d.config.max_failures = 10;
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.summary
            .contains("the same action was chosen 3 times in a row"),
        "{}",
        out.summary
    );
    assert_eq!(d.world().clicks, vec!["Help", "Help"]);
}

#[test]
fn failures_in_a_row_stop_the_run_at_the_limit() {
    let mut d = desk(false, 10);
    d.config.max_failures = 2;
    d.config.escalate_after = 5;
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.summary.contains("2 failed steps in a row"),
        "{}",
        out.summary
    );
}

#[test]
fn a_cancel_during_a_model_call_stops_before_anything_moves() {
    let mut d = desk(false, 0);
    let cancel = d.cancel.clone();
    let careful = operator(false, 0);
    d.model.answer(Role::Operator, move |p, turn| {
        cancel.store(true, Ordering::SeqCst);
        careful(p, turn)
    });
    let (out, events) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Cancelled, "{}", out.summary);
    assert!(d.world().events.is_empty());
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            status: RunStatus::Cancelled,
            ..
        })
    ));
}

#[test]
fn the_operator_saying_done_ends_the_run_with_its_summary() {
    let mut d = desk(false, 0);
    d.world.lock().unwrap().saved = Some(String::new());
    // The Manager plans once without checking; the Operator sees the saved title.
    d.model.answer(Role::Manager, |_, _| {
        json!({"thought": "t", "plan": "1. Save the note", "current_subgoal": "Save the note"})
            .to_string()
    });
    let (out, _) = d.run(TASK);
    assert_eq!(out.status, RunStatus::Succeeded);
    assert_eq!(out.summary, "saved hello");
    assert!(d.world().events.is_empty());
}

const EMAIL: &str = "jo.silva@example.org";

/// A Manager that types whatever address the user's memory gave it (or says it does not know
/// it), and finishes once the note shows a value.
fn manager_from_memory(p: &str, _turn: usize) -> String {
    let screen = after(p, "Current screen");
    let told = p[..p.len() - screen.len()].to_string();
    let value = if told.contains(EMAIL) {
        EMAIL
    } else {
        "UNKNOWN"
    };
    let subgoal = if screen.contains(EMAIL) || screen.contains("UNKNOWN") {
        "Finished".to_string()
    } else {
        format!("Type {value} into the note")
    };
    json!({"thought": "t", "plan": "1. Type the address into the note", "current_subgoal": subgoal})
        .to_string()
}

/// An Operator that types what its subgoal names into the note.
fn operator_typing(p: &str, _turn: usize) -> String {
    let subgoal = section(p, "Current subgoal");
    let screen = after(p, "Current screen");
    let value = subgoal
        .strip_prefix("Type ")
        .and_then(|s| s.strip_suffix(" into the note"))
        .unwrap_or_default()
        .to_string();
    let field = screen
        .lines()
        .find(|l| l.contains(" text \""))
        .unwrap_or_default();
    if screen.contains(&value) {
        json!({"thought": "typed", "subgoal_complete": true}).to_string()
    } else if field.contains(" FE") {
        json!({"thought": "type", "action": {"kind": "type", "text": value}}).to_string()
    } else {
        click(&id_of(screen, " text \""), "focus the note")
    }
}

fn remembered(d: &mut Desk) {
    d.memory.personal = vec![
        deskhand_core::experience::Recollection {
            id: "chunk:7".into(),
            source: "note:1".into(),
            text: format!("My personal email is {EMAIL}"),
            similarity: Some(0.62),
        },
        deskhand_core::experience::Recollection {
            id: "chunk:9".into(),
            source: "note:2".into(),
            text: "I take my coffee black".into(),
            similarity: Some(0.41),
        },
    ];
    d.model.answer(Role::Manager, manager_from_memory);
    d.model.answer(Role::Operator, operator_typing);
    d.model
        .answer(Role::Critic, |_, _| json!({"ok": true}).to_string());
}

/// The Manager is shown what the user's memory holds about the task (only that), types the
/// remembered address, and the call log says which memory items its prompt held.
#[test]
fn the_manager_is_given_what_the_users_memory_holds_and_the_call_records_it() {
    let mut d = desk(false, 0);
    remembered(&mut d);
    let (out, events) = d.run("Type my email address into the note");
    assert_eq!(out.status, RunStatus::Succeeded, "{events:?}");
    assert_eq!(d.world().text, EMAIL);
    let first = &d.model.prompts(Role::Manager)[0];
    assert!(
        first.contains(&format!("- My personal email is {EMAIL} (from note:1)")),
        "{first}"
    );
    assert!(!first.contains("coffee"), "{first}");
    let calls = d.memory.calls_of(out.run);
    let managers: Vec<_> = calls.iter().filter(|c| c.role == "manager").collect();
    assert!(
        managers.iter().all(|c| c.memory_used == ["chunk:7"]),
        "{managers:?}"
    );
    // The Critic checks the result against the same item; the other roles see only what
    // the Manager's subgoal says, and hold no memory item.
    assert!(calls
        .iter()
        .any(|c| c.role == "critic" && c.memory_used == ["chunk:7"]));
    assert!(calls
        .iter()
        .filter(|c| c.role != "manager" && c.role != "critic")
        .all(|c| c.memory_used.is_empty() && !c.prompt.contains("(from note:1)")));
    assert!(events.iter().any(|e| matches!(e, Event::Notice { message }
        if message.contains("from your memory: 1 item") && message.contains("chunk:7"))));
}

/// When the endpoint is not trusted with the user's memory, nothing of it is sent: the run
/// says why, and the Manager does not know the address.
#[test]
fn memory_is_withheld_from_an_untrusted_endpoint_and_the_run_says_so() {
    let mut d = desk(false, 0);
    remembered(&mut d);
    d.config.recall_withheld =
        Some("http://10.1.2.3:8000/v1 is not loopback and not trusted".into());
    let (out, events) = d.run("Type my email address into the note");
    assert_eq!(out.status, RunStatus::Succeeded, "{events:?}");
    assert_eq!(d.world().text, "UNKNOWN");
    for role in [Role::Manager, Role::Operator, Role::Reflector] {
        assert!(d.model.prompts(role).iter().all(|p| !p.contains(EMAIL)));
    }
    assert!(d
        .memory
        .calls_of(out.run)
        .iter()
        .all(|c| c.memory_used.is_empty()));
    assert!(events.iter().any(|e| matches!(e, Event::Notice { message }
        if message.contains("withheld") && message.contains("10.1.2.3"))));
}

/// A "Finished" with a detail the user's memory contradicts is sent back by the Critic; the
/// Manager, told the problem, fixes it; the Critic then agrees. Its prompt holds the memory.
#[test]
fn the_critic_sends_back_a_result_that_contradicts_the_users_memory() {
    let mut d = desk(false, 0);
    remembered(&mut d);
    // A Manager that first types an old address, then the one the Critic points at.
    d.model.answer(Role::Manager, |p: &str, _| {
        let screen = after(p, "Current screen");
        let told = &p[..p.len() - screen.len()];
        let fixing = told.contains("### Not finished: the Critic");
        let subgoal = if fixing {
            format!("Type {EMAIL} into the note")
        } else if screen.contains("jo@old.example") || screen.contains(EMAIL) {
            "Finished".into()
        } else {
            "Type jo@old.example into the note".into()
        };
        json!({"thought": "t", "plan": "1. Type the address", "current_subgoal": subgoal})
            .to_string()
    });
    // The Operator clears a wrong value before typing.
    d.model.answer(Role::Operator, |p: &str, turn| {
        let subgoal = section(p, "Current subgoal");
        let screen = after(p, "Current screen");
        let field = screen
            .lines()
            .find(|l| l.contains(" text \""))
            .unwrap_or_default();
        let value = subgoal
            .strip_prefix("Type ")
            .and_then(|s| s.strip_suffix(" into the note"))
            .unwrap_or_default();
        if field.contains(&format!("=\"{value}\"")) {
            return json!({"thought": "typed", "subgoal_complete": true}).to_string();
        }
        if field.contains("=\"") && !field.contains("=\"\"") {
            return click(&id_of(screen, "\"Clear\""), "clear the old value");
        }
        operator_typing(p, turn)
    });
    d.model.answer(Role::Critic, |p: &str, _| {
        let screen = after(p, "Current screen");
        if p.contains(EMAIL) && !screen.contains(&format!("=\"{EMAIL}\"")) {
            json!({"ok": false, "problem": format!("the note does not hold the user's email {EMAIL}")})
                .to_string()
        } else {
            json!({"ok": true}).to_string()
        }
    });
    let (out, events) = d.run("Type my email address into the note");
    assert_eq!(out.status, RunStatus::Succeeded, "{events:?}");
    assert_eq!(d.world().text, EMAIL);
    let critics = d.model.prompts(Role::Critic);
    assert_eq!(critics.len(), 2, "once to object, once to agree");
    assert!(critics[0].contains(&format!("- My personal email is {EMAIL} (from note:1)")));
    assert!(events.iter().any(|e| matches!(e, Event::Notice { message }
        if message.starts_with("the Critic sent the Manager back"))));
    let calls = d.memory.calls_of(out.run);
    assert!(calls
        .iter()
        .filter(|c| c.role == "critic")
        .all(|c| c.memory_used == ["chunk:7"]));
}
