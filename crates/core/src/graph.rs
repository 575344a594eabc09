//! MobileSteward's scheduling graph: a cross-app task as app-scoped subtasks (nodes) whose
//! promised outputs (named facts) feed later nodes' inputs. Checked before anything runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Most nodes a graph may have.
pub const MAX_NODES: usize = 12;

/// A fact a node promises to find, for the nodes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactSpec {
    /// Its name, as later nodes' inputs say it ("result").
    pub name: String,
    /// What it is ("the number on the calculator's display").
    #[serde(default)]
    pub description: String,
}

/// One app-scoped subtask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskNode {
    /// Short id, unique in the graph ("n1").
    pub id: String,
    /// The application it works in ("galculator").
    pub app: String,
    /// What to do there, in words; inputs are referred to by name.
    pub instruction: String,
    /// Names of facts it needs, each promised by an earlier node.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Facts it promises to find for later nodes.
    #[serde(default)]
    pub outputs: Vec<FactSpec>,
}

/// A value a node found, with the screen text it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFact {
    /// The fact's name.
    pub name: String,
    /// Its value ("409.5").
    pub value: String,
    /// The text on screen it was read from.
    pub source: String,
    /// The node that found it.
    pub node: String,
}

/// Where a node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Not started: waiting for its turn or its inputs.
    Waiting,
    /// Its staff agent is working.
    Running,
    /// Failed once; running again with a reflection tip.
    Retrying,
    /// Done, with its facts.
    Done,
    /// Failed for good.
    Failed,
    /// Left out when the Steward re-planned the rest of the graph.
    Replanned,
}

impl NodeState {
    /// The name shown and stored ("done").
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Waiting => "waiting",
            NodeState::Running => "running",
            NodeState::Retrying => "retrying",
            NodeState::Done => "done",
            NodeState::Failed => "failed",
            NodeState::Replanned => "replanned",
        }
    }

    /// The state with this name.
    pub fn parse(s: &str) -> Option<NodeState> {
        [
            NodeState::Waiting,
            NodeState::Running,
            NodeState::Retrying,
            NodeState::Done,
            NodeState::Failed,
            NodeState::Replanned,
        ]
        .into_iter()
        .find(|n| n.as_str() == s)
    }
}

/// A node as the run log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Which graph of the run (0 the first, then one per re-plan).
    pub revision: u32,
    /// The node.
    pub node: TaskNode,
    /// Where it stands.
    pub state: NodeState,
    /// What it found (when done).
    #[serde(default)]
    pub facts: Vec<NodeFact>,
    /// Why it failed or was retried.
    #[serde(default)]
    pub reason: String,
    /// When it last changed.
    pub updated_ms: i64,
}

/// A method of decomposing a kind of task that worked once: the Steward's guideline memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guideline {
    /// Id in the store (0 before it is stored).
    #[serde(default)]
    pub id: i64,
    /// The task it was learned from.
    pub task: String,
    /// The decomposition: one line per node ("1. [galculator] compute ... -> result").
    pub steps: String,
    /// The apps it used, lower case.
    #[serde(default)]
    pub apps: Vec<String>,
    /// The run that taught it.
    #[serde(default)]
    pub source_run: Option<i64>,
    /// How many later runs were given it.
    #[serde(default)]
    pub uses: u32,
    /// When it was learned.
    #[serde(default)]
    pub created_ms: i64,
}

impl TaskNode {
    /// One line: `n1 [galculator] compute 17.5% of 2340 (needs: a) -> result`.
    pub fn describe(&self) -> String {
        let mut line = format!("{} [{}] {}", self.id, self.app, self.instruction);
        if !self.inputs.is_empty() {
            line.push_str(&format!(" (needs: {})", self.inputs.join(", ")));
        }
        if !self.outputs.is_empty() {
            let names: Vec<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
            line.push_str(&format!(" -> {}", names.join(", ")));
        }
        line
    }
}

/// The decomposition of a graph as a guideline's steps, one numbered line per node.
pub fn guideline_steps(nodes: &[TaskNode]) -> String {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut line = format!("{}. [{}] {}", i + 1, n.app, n.instruction);
            if !n.outputs.is_empty() {
                let names: Vec<&str> = n.outputs.iter().map(|o| o.name.as_str()).collect();
                line.push_str(&format!(" -> {}", names.join(", ")));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fact_key(name: &str) -> String {
    name.trim().to_lowercase().replace([' ', '-'], "_")
}

/// Checks a graph before anything runs and returns the order to run its nodes in (a
/// topological order that keeps the listed order where it can). `known` are facts already
/// found (a re-plan's inputs may use them); `app_ok` says why an app can be neither found
/// nor started. Every problem is listed, one line each.
pub fn validate(
    nodes: &[TaskNode],
    known: &[String],
    app_ok: &dyn Fn(&str) -> Result<(), String>,
) -> Result<Vec<usize>, Vec<String>> {
    let mut errors = Vec::new();
    if nodes.is_empty() {
        return Err(vec!["the graph has no nodes".into()]);
    }
    if nodes.len() > MAX_NODES {
        errors.push(format!(
            "the graph has {} nodes; at most {MAX_NODES} are allowed",
            nodes.len()
        ));
    }
    let mut ids = BTreeSet::new();
    let mut producer: BTreeMap<String, usize> = BTreeMap::new();
    let mut apps_checked: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let label = if n.id.trim().is_empty() {
            format!("node {}", i + 1)
        } else {
            format!("node {}", n.id)
        };
        if n.id.trim().is_empty() {
            errors.push(format!("{label} has no id"));
        } else if !ids.insert(n.id.trim().to_string()) {
            errors.push(format!("{label}: the id is used twice"));
        }
        if n.instruction.trim().is_empty() {
            errors.push(format!("{label} has no instruction"));
        }
        if n.app.trim().is_empty() {
            errors.push(format!("{label} names no app"));
        } else {
            let key = n.app.trim().to_lowercase();
            let checked = apps_checked
                .entry(key)
                .or_insert_with(|| app_ok(n.app.trim()));
            if let Err(why) = checked {
                errors.push(format!("{label}: app {:?}: {why}", n.app));
            }
        }
        for o in &n.outputs {
            let key = fact_key(&o.name);
            if key.is_empty() {
                errors.push(format!("{label} promises an output with no name"));
            } else if let Some(first) = producer.insert(key, i) {
                errors.push(format!(
                    "{label} promises {:?}, which node {} already promises",
                    o.name, nodes[first].id
                ));
            } else if known.iter().any(|k| fact_key(k) == fact_key(&o.name)) {
                errors.push(format!(
                    "{label} promises {:?}, which is already known",
                    o.name
                ));
            }
        }
    }
    let known: BTreeSet<String> = known.iter().map(|k| fact_key(k)).collect();
    // Edges: producer -> consumer.
    let mut needs: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for input in &n.inputs {
            let key = fact_key(input);
            if known.contains(&key) {
                continue;
            }
            match producer.get(&key) {
                Some(&p) if p == i => errors.push(format!(
                    "node {} needs {input:?}, which only it promises",
                    n.id
                )),
                Some(&p) => {
                    needs[i].insert(p);
                }
                None => errors.push(format!(
                    "node {} needs {input:?}, which no node promises{}",
                    n.id,
                    if producer.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (promised: {})",
                            producer.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                )),
            }
        }
    }
    // Kahn's algorithm, lowest listed index first.
    let mut order = Vec::with_capacity(nodes.len());
    let mut done = vec![false; nodes.len()];
    while order.len() < nodes.len() {
        let next = (0..nodes.len()).find(|&i| !done[i] && needs[i].iter().all(|&p| done[p]));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<&str> = (0..nodes.len())
                    .filter(|&i| !done[i])
                    .map(|i| nodes[i].id.as_str())
                    .collect();
                errors.push(format!(
                    "the nodes {} wait for each other in a cycle",
                    stuck.join(", ")
                ));
                break;
            }
        }
    }
    if errors.is_empty() {
        Ok(order)
    } else {
        Err(errors)
    }
}

/// Whether a fact's value is written in its source text, and the source on the screen:
/// compared with case, spacing and thousands separators set aside.
pub fn fact_is_on_screen(value: &str, source: &str, screen_text: &str) -> Result<(), String> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != ',' && *c != '\u{a0}')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let (v, src, screen) = (squash(value), squash(source), squash(screen_text));
    if v.is_empty() {
        return Err("its value is empty".into());
    }
    if src.is_empty() {
        return Err("it names no source text".into());
    }
    if !src.contains(&v) {
        return Err(format!(
            "its value {value:?} is not in its source text {source:?}"
        ));
    }
    if !screen.contains(&src) {
        return Err(format!("its source text {source:?} is not on the screen"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, app: &str, inputs: &[&str], outputs: &[&str]) -> TaskNode {
        TaskNode {
            id: id.into(),
            app: app.into(),
            instruction: format!("do {id}"),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs
                .iter()
                .map(|s| FactSpec {
                    name: s.to_string(),
                    description: String::new(),
                })
                .collect(),
        }
    }

    fn any_app(_: &str) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn dependent_nodes_wait_and_independent_ones_keep_their_order() {
        let nodes = [
            node("n1", "mousepad", &["total"], &[]),
            node("n2", "galculator", &[], &["total"]),
            node("n3", "xterm", &[], &["count"]),
        ];
        assert_eq!(validate(&nodes, &[], &any_app), Ok(vec![1, 0, 2]));
    }

    #[test]
    fn cycles_missing_inputs_duplicates_and_unknown_apps_are_all_listed() {
        let nodes = [
            node("a", "mousepad", &["y"], &["x"]),
            node("b", "galculator", &["x"], &["y"]),
        ];
        let errors = validate(&nodes, &[], &any_app).unwrap_err();
        assert_eq!(
            errors,
            vec!["the nodes a, b wait for each other in a cycle"]
        );

        let nodes = [
            node("a", "nosuchapp", &["missing"], &["x"]),
            node("a", "galculator", &[], &["X"]),
            node("c", "", &["x"], &[]),
        ];
        let unknown = |app: &str| {
            if app == "nosuchapp" {
                Err("no desktop entry or command of that name".to_string())
            } else {
                Ok(())
            }
        };
        let errors = validate(&nodes, &[], &unknown).unwrap_err();
        assert!(errors.contains(&"node a: the id is used twice".to_string()));
        assert!(errors.contains(
            &"node a: app \"nosuchapp\": no desktop entry or command of that name".to_string()
        ));
        assert!(errors.contains(&"node c names no app".to_string()));
        assert!(errors.contains(&"node a promises \"X\", which node a already promises".into()));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("node a needs \"missing\", which no node promises")));
        assert_eq!(validate(&[], &[], &any_app).unwrap_err().len(), 1);
    }

    #[test]
    fn known_facts_satisfy_a_replans_inputs() {
        let nodes = [node("n4", "mousepad", &["result"], &[])];
        assert!(validate(&nodes, &[], &any_app).is_err());
        assert_eq!(validate(&nodes, &["result".into()], &any_app), Ok(vec![0]));
    }

    #[test]
    fn facts_must_be_read_from_the_screen() {
        let screen = "label \"Display\" =\"409.5\"\nbutton \"7\"";
        assert!(fact_is_on_screen("409.5", "409.5", screen).is_ok());
        assert!(fact_is_on_screen("2,340", "Total: 2340", "total: 2 340 items").is_ok());
        assert!(fact_is_on_screen("410", "409.5", screen).is_err());
        assert!(fact_is_on_screen("12", "12", screen)
            .unwrap_err()
            .contains("not on the screen"));
        assert!(fact_is_on_screen("", "x", screen).is_err());
    }

    #[test]
    fn a_node_describes_itself_and_a_graph_becomes_guideline_steps() {
        let nodes = [
            node("n1", "galculator", &[], &["result"]),
            node("n2", "mousepad", &["result"], &[]),
        ];
        assert_eq!(nodes[1].describe(), "n2 [mousepad] do n2 (needs: result)");
        assert_eq!(
            guideline_steps(&nodes),
            "1. [galculator] do n1 -> result\n2. [mousepad] do n2"
        );
        for s in [
            "waiting",
            "running",
            "retrying",
            "done",
            "failed",
            "replanned",
        ] {
            assert_eq!(NodeState::parse(s).unwrap().as_str(), s);
        }
    }
}
