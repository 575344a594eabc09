//! What the runtime can judge without a model: an action that could not be carried out, a
//! step that changed nothing, a key whose effect is plain, typed text found in the field;
//! and the measured effect of a step in words, for the Action Reflector.

use deskhand_core::ports::{Outcome, StepRecord};
use deskhand_core::{Action, Observation};

use crate::effect::{target_window, FocusSnapshot};
use crate::roles::operator::Decision;
use crate::roles::reflector::Reply as Verdict;

/// C for an action that could not be carried out: there is nothing to compare.
pub(crate) fn not_carried_out(step: &StepRecord) -> Option<Verdict> {
    step.error.as_ref().map(|e| {
        Verdict::verdict(
            Outcome::C,
            format!("the action could not be carried out: {e}"),
        )
    })
}

/// The runtime's own verdict when the evidence is plain, else `None` (ask the Reflector):
/// C when the action failed or nothing changed (waiting excepted); A for a key whose
/// visible effect is where keys go, and for typed text found in the focused field — unless
/// the Manager wants notes taken, which needs the model to read the screen.
pub(crate) fn plainly(
    decision: &Decision,
    step: &StepRecord,
    before: &Observation,
    after: &Observation,
    needs_notes: bool,
) -> Option<Verdict> {
    if let Some(v) = not_carried_out(step) {
        return Some(v);
    }
    let effect = step.effect.as_ref()?;
    let waited = matches!(decision, Decision::Act(Action::Wait { .. }));
    if effect.changed.is_none() && !effect.focus_moved && !waited && after.unchanged {
        return Some(Verdict::verdict(
            Outcome::C,
            "the action changed nothing on the screen",
        ));
    }
    // Keys go to the focused window and cannot miss a target: a visible change with focus
    // where it was (or, for a chord that opens a dialog, a new active window) is the
    // expected result.
    if let Decision::Act(a @ Action::Key { .. }) = decision {
        let opener = crate::settle::opens_something(a, Some(&before.tree));
        let expected = match (opener, effect.focus_moved) {
            (true, moved) => moved,
            (false, moved) => !moved && effect.target_in_front != Some(false),
        };
        if effect.changed.is_some() && expected && !needs_notes {
            return Some(Verdict::verdict(Outcome::A, ""));
        }
    }
    let typed = matches!(decision, Decision::Act(Action::Type { .. }));
    if typed && effect.text_verified == Some(true) && !needs_notes {
        return Some(Verdict::verdict(Outcome::A, ""));
    }
    None
}

/// The step's measured effect in words.
pub(crate) fn effect_text(step: &StepRecord) -> String {
    let Some(e) = &step.effect else {
        return step
            .error
            .clone()
            .unwrap_or_else(|| "no effect recorded".into());
    };
    let mut parts = Vec::new();
    match e.changed {
        Some(r) => parts.push(format!(
            "pixels changed in a {}x{} area at ({}, {})",
            r.width, r.height, r.x, r.y
        )),
        None => parts.push("no pixel changed".into()),
    }
    parts.push(format!("settled in {} ms", e.settle_ms));
    if e.focus_moved {
        parts.push("the focus or active window changed".into());
    }
    match e.text_verified {
        Some(true) => parts.push("the typed text is in the focused field".into()),
        Some(false) => parts.push("the typed text is NOT in the focused field".into()),
        None => {}
    }
    if e.target_in_front == Some(false) {
        parts.push("the target's window is no longer in front".into());
    }
    parts.join("; ")
}

/// Fills in what the action did to focus and typed text, from the looks before and after it
/// (both fused trees, so windows compare like with like).
pub(crate) fn observe_effect(
    step: &mut StepRecord,
    action: &Action,
    before: &Observation,
    after: &Observation,
) {
    let Some(effect) = step.effect.as_mut() else {
        return;
    };
    let focus_before = FocusSnapshot::of(&before.tree);
    let focus_after = FocusSnapshot::of(&after.tree);
    effect.focus_moved = focus_before.moved_to(&focus_after);
    effect.target_in_front = target_window(action, Some(&before.tree), &focus_before).map(|t| {
        focus_after
            .active
            .as_ref()
            .is_some_and(|w| w.same_window(&t))
    });
    if let Action::Type { text } = action {
        if text.contains("{{secret:") {
            return;
        }
        let typed = text.replace('\r', "");
        let field = after.tree.focused_editable();
        effect.text_verified = field
            .and_then(|f| f.text.as_ref())
            .filter(|shown| shown.chars().count() < 2_000)
            .map(|shown| shown.contains(&typed));
    }
}
