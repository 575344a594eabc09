//! Finding a role's JSON answer in a model's text and parsing it into the role's shape.
//! Nothing a model says is used before it parsed (and, for the Operator, validated).

use serde::Deserialize;
use serde_json::Value;

/// Finds the JSON object in a model's text: the whole text, a fenced block, or the first
/// balanced `{...}` in prose.
pub fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return object(v);
    }
    let mut last_error = String::from("no JSON object found in the answer");
    let bytes = trimmed.as_bytes();
    let mut start = 0;
    while let Some(offset) = trimmed[start..].find('{') {
        let open = start + offset;
        match balanced_end(&bytes[open..]) {
            Some(len) => {
                let candidate = &trimmed[open..open + len];
                match serde_json::from_str::<Value>(candidate) {
                    Ok(v) => return object(v),
                    Err(e) => last_error = format!("invalid JSON: {e}"),
                }
            }
            None => {
                last_error = "the JSON object is not closed".into();
            }
        }
        start = open + 1;
    }
    Err(last_error)
}

fn object(v: Value) -> Result<Value, String> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("expected a JSON object, got {}", kind(&v)))
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Length of the balanced object starting at `s[0] == b'{'`, strings and escapes respected.
fn balanced_end(s: &[u8]) -> Option<usize> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &c) in s.iter().enumerate() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses a reply into a role's shape.
pub fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    let v = extract_json(text)?;
    serde_json::from_value(v).map_err(|e| format!("the JSON does not match the schema: {e}"))
}
