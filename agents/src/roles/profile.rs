//! The Memory role writing level 1 of the user's memory (Second Me) and answering from it:
//! reading a source (its summary, keywords, the shades it shows and the facts it states,
//! each citing its chunks), writing the bio from every digest, and answering a question as
//! the user's Second Me, citing the items it used or saying that memory does not know.

use deskhand_core::experience::Recollection;
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::profile::{
    Bio, Digest, Fact, FactProposal, Shade, ShadeProposal, SourceReading,
};
use deskhand_core::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{knowledge_text, section, system, text, user};

/// Least confidence for a proposed fact to be kept.
pub const FACT_CONFIDENCE: f32 = 0.5;

/// Keywords kept per source.
const KEYWORDS: usize = 10;

/// Room for an answer of level 1 (a summary with its items is longer than most answers).
const PROFILE_TOKENS: u32 = 1_536;

/// A chunk as the role is shown it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkInput {
    /// Its id.
    pub id: i64,
    /// Its text, heading first.
    pub text: String,
}

/// What reading a source is shown.
#[derive(Debug, Clone, Copy)]
pub struct ReadInput<'a> {
    /// The source's uri.
    pub uri: &'a str,
    /// The chunks of this part of the source.
    pub chunks: &'a [ChunkInput],
    /// The summary of the parts before, for a source read in parts.
    pub summary_so_far: &'a str,
    /// The shades memory holds already (to improve rather than repeat).
    pub shades: &'a [Shade],
}

const READ_SYSTEM: &str = "You keep a person's own memory. Read one of their documents or \
notes and write what it says about them. Answer with one JSON object only: {\"summary\": \
\"two or three sentences on what the source is about\", \"keywords\": [\"...\"], \"shades\": \
[{\"existing\": null, \"name\": \"a short name of an interest, trait or area of their life\", \
\"description\": \"what it is for this person\", \"confidence\": 0.0, \"chunks\": [N]}], \
\"facts\": [{\"key\": \"what it is (email, phone, city, dentist, ...)\", \"value\": \"exactly \
as the chunk writes it\", \"chunk\": N, \"confidence\": 0.0}]}. A shade that is one of the \
known shades gives its id as \"existing\" (it is improved, not repeated). Every shade and \
fact cites the ids of the chunks it comes from. State only what the chunks say about the \
person; never guess.";

/// The request to read one part of a source.
pub fn read_request(input: &ReadInput<'_>) -> ModelRequest {
    let mut body = section("Source", input.uri);
    body += &section("Summary of the parts before", input.summary_so_far);
    let shades = input
        .shades
        .iter()
        .map(|s| format!("[{}] {}: {}", s.id, s.name, s.description))
        .collect::<Vec<_>>()
        .join("\n");
    body += &section("Known shades", &shades);
    let chunks = input
        .chunks
        .iter()
        .map(|c| format!("[chunk {}]\n{}", c.id, c.text.trim()))
        .collect::<Vec<_>>()
        .join("\n\n");
    body += &section("Chunks", &chunks);
    let messages: Vec<Message> = vec![system(READ_SYSTEM), user(vec![text(body)])];
    let mut r = super::request(Role::Memory, messages, read_schema());
    r.max_tokens = PROFILE_TOKENS;
    r.memory_used = input
        .chunks
        .iter()
        .map(|c| format!("chunk:{}", c.id))
        .collect();
    r
}

fn read_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "keywords": {"type": "array", "items": {"type": "string"}},
            "shades": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "existing": {"type": ["integer", "null"]},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "confidence": {"type": "number"},
                    "chunks": {"type": "array", "items": {"type": "integer"}}
                },
                "required": ["name", "description", "confidence", "chunks"]
            }},
            "facts": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "value": {"type": "string"},
                    "chunk": {"type": "integer"},
                    "confidence": {"type": "number"}
                },
                "required": ["key", "value", "chunk", "confidence"]
            }}
        },
        "required": ["summary", "shades", "facts"]
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadReply {
    summary: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    shades: Vec<ShadeProposal>,
    #[serde(default)]
    facts: Vec<FactProposal>,
}

fn squash(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Checks a reading against what was shown: a summary; confidences between 0 and 1; every
/// cited chunk and existing shade among those given. A fact whose value the cited chunk
/// does not contain, or below [`FACT_CONFIDENCE`], is dropped (returned with the reason).
pub fn validate_reading(
    text: &str,
    input: &ReadInput<'_>,
) -> Result<(SourceReading, Vec<String>), String> {
    let reply: ReadReply = parse(text)?;
    if reply.summary.trim().is_empty() {
        return Err("the summary is empty".into());
    }
    let chunk = |id: i64| input.chunks.iter().find(|c| c.id == id);
    let ids = || {
        input
            .chunks
            .iter()
            .map(|c| c.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for s in &reply.shades {
        if s.name.trim().is_empty() {
            return Err("a shade has no name".into());
        }
        if !(0.0..=1.0).contains(&s.confidence) {
            return Err(format!(
                "shade {:?}: confidence {} is not between 0 and 1",
                s.name, s.confidence
            ));
        }
        if s.chunks.is_empty() {
            return Err(format!("shade {:?} cites no chunk", s.name));
        }
        if let Some(c) = s.chunks.iter().find(|c| chunk(**c).is_none()) {
            return Err(format!(
                "shade {:?} cites chunk {c}, which was not given (chunks: {})",
                s.name,
                ids()
            ));
        }
        if let Some(e) = s.existing {
            if !input.shades.iter().any(|k| k.id == e) {
                return Err(format!(
                    "shade {:?} names existing shade {e}, which is not a known shade",
                    s.name
                ));
            }
        }
    }
    let mut dropped = Vec::new();
    let mut facts = Vec::new();
    for f in reply.facts {
        if !(0.0..=1.0).contains(&f.confidence) {
            return Err(format!(
                "fact {:?}: confidence {} is not between 0 and 1",
                f.key, f.confidence
            ));
        }
        let Some(c) = chunk(f.chunk) else {
            return Err(format!(
                "fact {:?} cites chunk {}, which was not given (chunks: {})",
                f.key,
                f.chunk,
                ids()
            ));
        };
        if f.key.trim().is_empty() || f.value.trim().is_empty() {
            dropped.push(format!("a fact without key or value ({:?})", f.key));
        } else if !squash(&c.text).contains(&squash(&f.value)) {
            dropped.push(format!(
                "fact {:?} = {:?}: chunk {} does not say so",
                f.key, f.value, f.chunk
            ));
        } else if f.confidence < FACT_CONFIDENCE {
            dropped.push(format!(
                "fact {:?}: confidence {} is under {FACT_CONFIDENCE}",
                f.key, f.confidence
            ));
        } else {
            facts.push(f);
        }
    }
    let mut keywords: Vec<String> = Vec::new();
    for k in reply.keywords.iter().map(|k| k.trim()) {
        if !k.is_empty() && !keywords.iter().any(|have| have.eq_ignore_ascii_case(k)) {
            keywords.push(k.to_string());
        }
    }
    keywords.truncate(KEYWORDS);
    Ok((
        SourceReading {
            summary: reply.summary.trim().to_string(),
            keywords,
            shades: reply.shades,
            facts,
        },
        dropped,
    ))
}

/// What writing the bio is shown.
#[derive(Debug, Clone, Copy)]
pub struct BioInput<'a> {
    /// Every source's digest.
    pub digests: &'a [Digest],
    /// The shades.
    pub shades: &'a [Shade],
    /// The facts.
    pub facts: &'a [Fact],
    /// The bio in use, to improve.
    pub current: Option<&'a Bio>,
}

const BIO_SYSTEM: &str = "You keep a person's own memory. From the summaries of their \
sources, their shades (interests and traits) and the facts memory holds, write a short bio \
of them, once in their own voice (\"I ...\") and once about them (\"They ...\" or by name). \
Keep what the current bio says unless the sources now say otherwise; never invent. Answer \
with one JSON object only: {\"first_person\": \"...\", \"third_person\": \"...\"}.";

/// The request to write the bio.
pub fn bio_request(input: &BioInput<'_>) -> ModelRequest {
    let mut body = String::new();
    if let Some(b) = input.current {
        body += &section("Current bio", &b.first_person);
    }
    body += &section(
        "Sources",
        &input
            .digests
            .iter()
            .map(|d| format!("- {}: {}", d.uri, d.summary))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    body += &section(
        "Shades",
        &input
            .shades
            .iter()
            .map(|s| {
                format!(
                    "- {}: {} (confidence {:.2})",
                    s.name, s.description, s.confidence
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    body += &section(
        "Facts",
        &input
            .facts
            .iter()
            .map(|f| format!("- {}: {}", f.key, f.value))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let messages: Vec<Message> = vec![system(BIO_SYSTEM), user(vec![text(body)])];
    let mut r = super::request(
        Role::Memory,
        messages,
        json!({
            "type": "object",
            "properties": {
                "first_person": {"type": "string"},
                "third_person": {"type": "string"}
            },
            "required": ["first_person", "third_person"]
        }),
    );
    r.max_tokens = PROFILE_TOKENS;
    r.memory_used = input
        .facts
        .iter()
        .map(|f| format!("fact:{}", f.id))
        .chain(input.shades.iter().map(|s| format!("shade:{}", s.id)))
        .chain(input.digests.iter().map(|d| format!("source:{}", d.source)))
        .collect();
    r
}

/// The bio as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BioDraft {
    /// In the user's voice.
    pub first_person: String,
    /// About the user.
    pub third_person: String,
}

/// Checks the bio: both texts present.
pub fn validate_bio(text: &str) -> Result<BioDraft, String> {
    let b: BioDraft = parse(text)?;
    if b.first_person.trim().is_empty() || b.third_person.trim().is_empty() {
        return Err("first_person and third_person must both be written".into());
    }
    Ok(b)
}

/// What answering a question is shown.
#[derive(Debug, Clone, Copy)]
pub struct AskInput<'a> {
    /// The question.
    pub question: &'a str,
    /// The bio in use.
    pub bio: Option<&'a str>,
    /// What memory holds about the question.
    pub knowledge: &'a [Recollection],
}

const ASK_SYSTEM: &str = "You are the user's Second Me: you answer their question as they \
would, only from their own memory below. Cite the ids of the items you used. When the \
memory does not say, answer with known false. Answer with one JSON object only: {\"known\": \
true, \"answer\": \"...\", \"sources\": [\"chunk:3\", \"fact:2\"]}.";

/// The request to answer a question from memory.
pub fn ask_request(input: &AskInput<'_>) -> ModelRequest {
    let mut body = section("Question", input.question);
    body += &section("Who the user is", input.bio.unwrap_or_default());
    let items = input
        .knowledge
        .iter()
        .map(|k| {
            format!(
                "[{}] {}",
                k.id,
                knowledge_text(std::slice::from_ref(k)).trim_start_matches("- ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    body += &section("The user's memory", &items);
    let messages: Vec<Message> = vec![system(ASK_SYSTEM), user(vec![text(body)])];
    let mut r = super::request(
        Role::Memory,
        messages,
        json!({
            "type": "object",
            "properties": {
                "known": {"type": "boolean"},
                "answer": {"type": "string"},
                "sources": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["known", "answer", "sources"]
        }),
    );
    r.memory_used = input.knowledge.iter().map(|k| k.id.clone()).collect();
    r
}

/// An answer from memory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Answer {
    /// False when memory does not say.
    pub known: bool,
    /// The answer.
    #[serde(default)]
    pub answer: String,
    /// The items it came from.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Checks an answer: a known answer is written and cites only items that were given.
pub fn validate_answer(text: &str, knowledge: &[Recollection]) -> Result<Answer, String> {
    let a: Answer = parse(text)?;
    if !a.known {
        return Ok(Answer {
            known: false,
            answer: a.answer.trim().to_string(),
            sources: Vec::new(),
        });
    }
    if a.answer.trim().is_empty() {
        return Err("the answer is empty".into());
    }
    if a.sources.is_empty() {
        return Err("a known answer must cite the memory items it came from".into());
    }
    if let Some(s) = a
        .sources
        .iter()
        .find(|s| !knowledge.iter().any(|k| &k.id == *s))
    {
        return Err(format!(
            "{s:?} is not one of the memory items given ({})",
            knowledge
                .iter()
                .map(|k| k.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Answer {
        answer: a.answer.trim().to_string(),
        ..a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks() -> Vec<ChunkInput> {
        vec![
            ChunkInput {
                id: 7,
                text: "Contact\nMy email is jo.silva@example.org and I live in Manchester.".into(),
            },
            ChunkInput {
                id: 8,
                text: "Weekends\nI climb at the Northern Wall most Saturdays.".into(),
            },
        ]
    }

    #[test]
    fn a_reading_keeps_facts_its_chunk_states_and_drops_the_rest() {
        let chunks = chunks();
        let input = ReadInput {
            uri: "/home/jo/about.md",
            chunks: &chunks,
            summary_so_far: "",
            shades: &[],
        };
        let reply = r#"{"summary": "Jo's contact details and weekends.", "keywords": ["contact", "climbing", "contact"],
          "shades": [{"existing": null, "name": "Climbing", "description": "Climbs on Saturdays", "confidence": 0.8, "chunks": [8]}],
          "facts": [{"key": "email", "value": "jo.silva@example.org", "chunk": 7, "confidence": 0.95},
                    {"key": "phone", "value": "0161 555 0100", "chunk": 7, "confidence": 0.9},
                    {"key": "city", "value": "Manchester", "chunk": 7, "confidence": 0.3}]}"#;
        let (reading, dropped) = validate_reading(reply, &input).unwrap();
        assert_eq!(reading.facts.len(), 1, "{dropped:?}");
        assert_eq!(reading.facts[0].value, "jo.silva@example.org");
        assert_eq!(reading.keywords, vec!["contact", "climbing"]);
        assert_eq!(dropped.len(), 2);
        assert!(dropped[0].contains("does not say so"), "{dropped:?}");
        assert!(dropped[1].contains("under 0.5"), "{dropped:?}");
    }

    #[test]
    fn a_reading_citing_chunks_not_given_is_refused() {
        let chunks = chunks();
        let input = ReadInput {
            uri: "x",
            chunks: &chunks,
            summary_so_far: "",
            shades: &[],
        };
        let bad = r#"{"summary": "s", "shades": [], "facts": [{"key": "email", "value": "a", "chunk": 99, "confidence": 1}]}"#;
        let e = validate_reading(bad, &input).unwrap_err();
        assert!(e.contains("chunk 99") && e.contains("7, 8"), "{e}");
        let e = validate_reading(
            r#"{"summary": "s", "shades": [{"existing": 4, "name": "X", "description": "d", "confidence": 0.5, "chunks": [7]}], "facts": []}"#,
            &input,
        )
        .unwrap_err();
        assert!(e.contains("existing shade 4"), "{e}");
        assert!(
            validate_reading(r#"{"summary": " ", "shades": [], "facts": []}"#, &input).is_err()
        );
        assert!(validate_reading("not json", &input).is_err());
    }

    #[test]
    fn an_answer_cites_only_what_it_was_given() {
        let knowledge = vec![Recollection {
            id: "fact:2".into(),
            source: "you".into(),
            text: "dentist: Dr. Alvarez".into(),
            similarity: Some(0.6),
        }];
        let ok = validate_answer(
            r#"{"known": true, "answer": "Dr. Alvarez", "sources": ["fact:2"]}"#,
            &knowledge,
        )
        .unwrap();
        assert_eq!(ok.answer, "Dr. Alvarez");
        let e = validate_answer(
            r#"{"known": true, "answer": "Dr. Who", "sources": ["chunk:9"]}"#,
            &knowledge,
        )
        .unwrap_err();
        assert!(e.contains("chunk:9"), "{e}");
        assert!(validate_answer(
            r#"{"known": true, "answer": "x", "sources": []}"#,
            &knowledge
        )
        .is_err());
        let unknown = validate_answer(
            r#"{"known": false, "answer": "", "sources": ["fact:2"]}"#,
            &knowledge,
        )
        .unwrap();
        assert!(!unknown.known && unknown.sources.is_empty());
    }
}
