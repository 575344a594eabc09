//! The Steward's records on a real SQLite file: a run's graph nodes as they change (one row
//! per revision and node, in planned order, facts kept), and guidelines found by words and by
//! meaning, one per task, edited, deleted, exported and imported.

use std::sync::Arc;

use deskhand_core::experience::Experience;
use deskhand_core::graph::{FactSpec, Guideline, NodeFact, NodeRecord, NodeState, TaskNode};
use deskhand_core::ports::MemoryStore;
use deskhand_core::PortErrorKind;
use deskhand_memory::SqliteMemory;

use super::user::Counting;

fn node(id: &str, app: &str) -> TaskNode {
    TaskNode {
        id: id.into(),
        app: app.into(),
        instruction: format!("work in {app}"),
        inputs: vec![],
        outputs: vec![FactSpec {
            name: "result".into(),
            description: "the display".into(),
        }],
    }
}

fn record(revision: u32, n: &TaskNode, state: NodeState) -> NodeRecord {
    NodeRecord {
        revision,
        node: n.clone(),
        state,
        facts: vec![],
        reason: String::new(),
        updated_ms: 1,
    }
}

#[test]
fn a_runs_nodes_keep_their_planned_order_last_state_and_facts() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteMemory::open(&dir.path().join("m.db")).unwrap();
    let run = db.start_run("cross-app", 0).unwrap();
    let (b, a) = (node("n2", "mousepad"), node("n1", "galculator"));
    db.record_node(run, &record(0, &b, NodeState::Waiting))
        .unwrap();
    db.record_node(run, &record(0, &a, NodeState::Waiting))
        .unwrap();
    let mut done = record(0, &b, NodeState::Done);
    done.facts = vec![NodeFact {
        name: "result".into(),
        value: "409.5".into(),
        source: "409.5".into(),
        node: "n2".into(),
    }];
    db.record_node(run, &done).unwrap();
    let mut failed = record(0, &a, NodeState::Failed);
    failed.reason = "the window closed".into();
    db.record_node(run, &failed).unwrap();
    db.record_node(run, &record(1, &node("n3", "xterm"), NodeState::Waiting))
        .unwrap();
    let nodes = db.nodes(run).unwrap();
    let seen: Vec<(u32, &str, NodeState)> = nodes
        .iter()
        .map(|n| (n.revision, n.node.id.as_str(), n.state))
        .collect();
    assert_eq!(
        seen,
        [
            (0, "n2", NodeState::Done),
            (0, "n1", NodeState::Failed),
            (1, "n3", NodeState::Waiting)
        ]
    );
    assert_eq!(nodes[0].facts[0].value, "409.5");
    assert_eq!(nodes[1].reason, "the window closed");
    // Another run has none; reopening the file keeps them.
    drop(db);
    let db = SqliteMemory::open(&dir.path().join("m.db")).unwrap();
    assert_eq!(db.nodes(run).unwrap().len(), 3);
    assert!(db.nodes(run + 1).unwrap().is_empty());
}

fn guideline(task: &str, steps: &str) -> Guideline {
    Guideline {
        id: 0,
        task: task.into(),
        steps: steps.into(),
        apps: vec!["galculator".into(), "mousepad".into()],
        source_run: Some(1),
        uses: 0,
        created_ms: 0,
    }
}

#[test]
fn guidelines_are_one_per_task_found_by_meaning_edited_and_carried_by_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteMemory::open(&dir.path().join("m.db")).unwrap();
    let id = db
        .add_guideline(&guideline(
            "Work out 17.5% of 2340 in the calculator and note the result in the editor",
            "1. [galculator] compute 2340*17.5/100 -> result\n2. [mousepad] type {result}",
        ))
        .unwrap();
    db.add_guideline(&guideline(
        "Count the errors in the terminal and mail the count",
        "1. [xterm] count -> count\n2. [thunderbird] send {count}",
    ))
    .unwrap();
    // The same task again replaces the steps and keeps the id and the count of uses.
    db.guidelines_used(&[id]).unwrap();
    let again = db
        .add_guideline(&guideline(
            "work out 17.5% of 2340 in the calculator and note the result in the editor.",
            "1. [galculator] 2340*0.175 -> result\n2. [mousepad] type {result}",
        ))
        .unwrap();
    assert_eq!(again, id);
    let g = db.get_guideline(id).unwrap();
    assert!(g.steps.starts_with("1. [galculator] 2340*0.175"), "{g:?}");
    assert_eq!(g.uses, 1);
    assert_eq!(db.list_guidelines().unwrap().len(), 2);

    // Keywords alone find a task sharing its words; an unrelated task finds nothing.
    let found = db
        .relevant_guidelines("compute 10% of 80 in the calculator", 3)
        .unwrap();
    assert_eq!(found.first().map(|g| g.id), Some(id), "{found:?}");
    assert!(db
        .relevant_guidelines("water the plants", 3)
        .unwrap()
        .is_empty());
    // With the embedder, meaning finds it without shared words.
    db.set_embedder(Arc::new(Counting::new()));
    let found = db
        .relevant_guidelines("how many failures did the log show? email that number", 1)
        .unwrap();
    assert!(found[0].task.starts_with("Count the errors"), "{found:?}");

    // The user's edit and delete; bad edits are refused.
    let edited = db
        .update_guideline(id, "1. [galculator] x -> result")
        .unwrap();
    assert_eq!(edited.steps, "1. [galculator] x -> result");
    assert_eq!(
        db.update_guideline(id, "  ").unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    assert_eq!(
        db.delete_guideline(999).unwrap_err().kind,
        PortErrorKind::NotFound
    );

    // Export carries them; importing into another file restores them.
    let doc = db.export_experience(None).unwrap();
    assert_eq!(doc.guidelines.len(), 2);
    assert!(db
        .export_experience(Some("mousepad"))
        .unwrap()
        .guidelines
        .is_empty());
    let mut other = SqliteMemory::open(&dir.path().join("other.db")).unwrap();
    let report = other.import_experience(&doc).unwrap();
    assert_eq!((report.guidelines_added, report.guidelines_updated), (2, 0));
    assert_eq!(other.list_guidelines().unwrap().len(), 2);
    db.delete_guideline(id).unwrap();
    assert_eq!(db.list_guidelines().unwrap().len(), 1);
}
