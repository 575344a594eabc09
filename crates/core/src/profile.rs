//! What the user's memory says about them (Second Me, level 1): a versioned bio, interest
//! "shades" with the chunks that support them, and facts with the chunk each came from; and
//! a digest (summary and keywords) of each source. Written by the Memory role from level 0,
//! edited by the user; an edit by the user wins over what a later regeneration proposes.

use serde::{Deserialize, Serialize};

/// Who wrote an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The Memory role, from the sources.
    Model,
    /// The user (an edit or an item typed in).
    User,
}

impl Author {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Model => "model",
            Author::User => "user",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Author {
        if s == "user" {
            Author::User
        } else {
            Author::Model
        }
    }
}

/// One version of the user's bio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bio {
    /// Its version (1, 2, ...): every regeneration and every edit adds one.
    pub version: i64,
    /// In the user's words ("I am ...").
    pub first_person: String,
    /// About the user ("Jo is ...").
    pub third_person: String,
    /// Who wrote it.
    pub author: Author,
    /// When (ms since the epoch).
    pub created_ms: i64,
    /// The sources it was written from (empty for the user's own).
    pub sources: Vec<i64>,
}

/// Where an item came from: a chunk of a source, named by its content hash so that it
/// survives a re-added file whose chunk did not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    /// The source's id.
    pub source: i64,
    /// The chunk's id now, when it is still there.
    pub chunk: Option<i64>,
    /// The chunk's content hash.
    pub hash: String,
}

/// An interest or trait of the user, as the memory shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shade {
    /// Its id.
    pub id: i64,
    /// A short name ("Climbing").
    pub name: String,
    /// What it is about the user.
    pub description: String,
    /// How sure, 0 to 1.
    pub confidence: f32,
    /// Who wrote its text.
    pub author: Author,
    /// The chunks that support it.
    pub support: Vec<Support>,
}

/// One thing the memory states about the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Its id.
    pub id: i64,
    /// What it is ("email", "dentist").
    pub key: String,
    /// Its value, as the source states it.
    pub value: String,
    /// Where it came from (none for one the user typed).
    pub support: Option<Support>,
    /// How sure, 0 to 1.
    pub confidence: f32,
    /// Who wrote it.
    pub author: Author,
}

/// A source's summary and keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// The source's id.
    pub source: i64,
    /// Its uri.
    pub uri: String,
    /// What it is about, in a few sentences.
    pub summary: String,
    /// Its main keywords.
    pub keywords: Vec<String>,
}

/// A shade as the Memory role proposes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadeProposal {
    /// The existing shade it improves, if any.
    pub existing: Option<i64>,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// How sure, 0 to 1.
    pub confidence: f32,
    /// The chunk ids (of the source being read) that support it.
    pub chunks: Vec<i64>,
}

/// A fact as the Memory role proposes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactProposal {
    /// What it is.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The chunk id it came from.
    pub chunk: i64,
    /// How sure, 0 to 1.
    pub confidence: f32,
}

/// What the Memory role read out of one source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SourceReading {
    /// The source's summary.
    pub summary: String,
    /// Its keywords.
    pub keywords: Vec<String>,
    /// Shades it shows.
    pub shades: Vec<ShadeProposal>,
    /// Facts it states.
    pub facts: Vec<FactProposal>,
}

/// Normalises a shade name or fact key for matching: lower case, words of letters and
/// digits, a plural `s` dropped ("Email addresses" = "email address").
pub fn normalize_key(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.len() > 4 && w.ends_with("sses") {
                &w[..w.len() - 2]
            } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                &w[..w.len() - 1]
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_across_case_punctuation_and_plurals() {
        assert_eq!(normalize_key("Email-Addresses"), "email address");
        assert_eq!(normalize_key("  home  city "), "home city");
        assert_eq!(normalize_key("Glass"), "glass");
        assert_eq!(normalize_key("Bus"), "bus");
        assert_eq!(normalize_key(""), "");
    }
}
