//! The Memory role, filling a form: given the form's field labels and what the user's memory
//! holds about them, it says which value goes in which field, citing the item it came from,
//! and leaves a field empty when memory does not say.

use deskhand_core::experience::Recollection;
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{section, system, text, user};

/// Least confidence for a proposed value to be typed.
pub const MIN_CONFIDENCE: f32 = 0.5;

/// What the role is shown.
#[derive(Debug, Clone, Copy)]
pub struct FillInput<'a> {
    /// The form's field labels, in order.
    pub labels: &'a [String],
    /// What the user's memory holds about them.
    pub knowledge: &'a [Recollection],
}

/// One field's value as proposed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldValue {
    /// The field's label, as given.
    pub label: String,
    /// The value to type; empty when memory does not say.
    #[serde(default)]
    pub value: String,
    /// The memory item it came from ("chunk:12").
    #[serde(default)]
    pub source: String,
    /// How sure the model is, 0 to 1.
    #[serde(default)]
    pub confidence: f32,
}

#[derive(Debug, Deserialize)]
struct Reply {
    fields: Vec<FieldValue>,
}

const SYSTEM: &str = "You fill a form for a user from their own memory. For each field \
label, give the value the user's memory states for it, exactly as written there, and the id \
of the memory item it came from. Never guess or invent: when memory does not state a value \
for a field, give an empty value and confidence 0. Answer with one JSON object only: \
{\"fields\": [{\"label\": \"...\", \"value\": \"...\", \"source\": \"chunk:N\", \
\"confidence\": 0.0}]}, one entry per field label, in the order given.";

/// The role's request; the call records the memory items its prompt holds.
pub fn fill_request(input: &FillInput<'_>) -> ModelRequest {
    let mut body = section("Form fields", &input.labels.join("\n"));
    let items = input
        .knowledge
        .iter()
        .map(|k| {
            format!(
                "[{}] {} (from {})",
                k.id,
                k.text.replace('\n', " "),
                k.source
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    body += &section(
        "The user's memory",
        if items.is_empty() {
            "(nothing)"
        } else {
            &items
        },
    );
    let messages: Vec<Message> = vec![system(SYSTEM), user(vec![text(body)])];
    let mut r = super::request(Role::Memory, messages, schema());
    r.memory_used = input.knowledge.iter().map(|k| k.id.clone()).collect();
    r
}

/// JSON schema of the answer.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "value": {"type": "string"},
                        "source": {"type": "string"},
                        "confidence": {"type": "number"}
                    },
                    "required": ["label", "value"]
                }
            }
        },
        "required": ["fields"]
    })
}

/// Parses the answer against the form: every label must be one of the form's; a value must
/// cite an item that was given and be at least [`MIN_CONFIDENCE`], else it is dropped (the
/// field stays empty). Returns one entry per form label, in the form's order.
pub fn validate_fill(
    text: &str,
    labels: &[String],
    knowledge: &[Recollection],
) -> Result<Vec<FieldValue>, String> {
    let reply: Reply = parse(text)?;
    if let Some(f) = reply.fields.iter().find(|f| !labels.contains(&f.label)) {
        return Err(format!(
            "{:?} is not a field of the form (fields: {})",
            f.label,
            labels.join(", ")
        ));
    }
    Ok(labels
        .iter()
        .map(|label| {
            let proposed = reply.fields.iter().find(|f| &f.label == label);
            match proposed {
                Some(f)
                    if !f.value.trim().is_empty()
                        && f.confidence >= MIN_CONFIDENCE
                        && knowledge.iter().any(|k| k.id == f.source) =>
                {
                    FieldValue {
                        value: f.value.trim().to_string(),
                        ..f.clone()
                    }
                }
                _ => FieldValue {
                    label: label.clone(),
                    value: String::new(),
                    source: String::new(),
                    confidence: 0.0,
                },
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, text: &str) -> Recollection {
        Recollection {
            id: id.into(),
            source: "note:1".into(),
            text: text.into(),
            similarity: Some(0.6),
        }
    }

    #[test]
    fn values_must_cite_a_given_item_and_be_confident_and_labels_must_be_the_forms() {
        let labels: Vec<String> = ["Name", "Email", "Phone"].map(String::from).to_vec();
        let knowledge = [
            item("chunk:1", "My name is Jo Silva"),
            item("chunk:2", "email jo@x.org"),
        ];
        let r = fill_request(&FillInput {
            labels: &labels,
            knowledge: &knowledge,
        });
        assert_eq!(r.memory_used, ["chunk:1", "chunk:2"]);
        let got = validate_fill(
            r#"{"fields": [{"label": "Name", "value": " Jo Silva ", "source": "chunk:1", "confidence": 0.9},
                {"label": "Email", "value": "jo@x.org", "source": "chunk:7", "confidence": 0.9},
                {"label": "Phone", "value": "0161", "source": "chunk:2", "confidence": 0.2}]}"#,
            &labels,
            &knowledge,
        )
        .unwrap();
        let values: Vec<&str> = got.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(
            values,
            ["Jo Silva", "", ""],
            "unknown source and low confidence drop out"
        );
        let e = validate_fill(
            r#"{"fields": [{"label": "Surname", "value": "x"}]}"#,
            &labels,
            &knowledge,
        )
        .unwrap_err();
        assert!(
            e.contains("Surname") && e.contains("fields: Name, Email, Phone"),
            "{e}"
        );
        assert!(validate_fill("no json", &labels, &knowledge).is_err());
    }
}
