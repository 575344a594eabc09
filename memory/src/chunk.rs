//! Splitting a document into chunks on its structure: Markdown headings start sections,
//! blank lines end paragraphs; paragraphs are packed into chunks of at most a token budget,
//! each chunk after the first of a section repeating the previous paragraph's tail as
//! overlap. A paragraph longer than the budget is split at sentence ends, then at words.

/// One piece of a document to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The heading path above it ("Health > Dentist"), empty before the first heading.
    pub heading: String,
    /// The chunk's text.
    pub text: String,
}

impl Chunk {
    /// What is embedded and searched: the heading path, then the text.
    pub fn embedded_text(&self) -> String {
        if self.heading.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", self.heading, self.text)
        }
    }
}

/// How chunks are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Most tokens per chunk (by the `count` function given to [`chunk`]).
    pub max_tokens: usize,
    /// Tokens of the previous paragraph repeated at the start of the next chunk.
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            overlap_tokens: 32,
        }
    }
}

/// Splits `text` into chunks; `count` says how many tokens a piece of text is.
pub fn chunk(text: &str, options: ChunkOptions, count: &dyn Fn(&str) -> usize) -> Vec<Chunk> {
    let max = options.max_tokens.max(8);
    let mut out = Vec::new();
    for (heading, paragraphs) in sections(text) {
        let mut pieces = Vec::new();
        for p in paragraphs {
            split_long(&p, max, count, &mut pieces);
        }
        let mut current: Vec<String> = Vec::new();
        let mut used = 0;
        for piece in pieces {
            let n = count(&piece);
            if !current.is_empty() && used + n > max {
                let tail = tail_words(
                    current.last().map(String::as_str).unwrap_or(""),
                    options.overlap_tokens.min(max / 4),
                    count,
                );
                out.push(Chunk {
                    heading: heading.clone(),
                    text: current.join("\n\n"),
                });
                current.clear();
                used = 0;
                if !tail.is_empty() {
                    used = count(&tail);
                    current.push(tail);
                }
            }
            used += n;
            current.push(piece);
        }
        if !current.is_empty() {
            out.push(Chunk {
                heading,
                text: current.join("\n\n"),
            });
        }
    }
    out
}

/// (heading path, paragraphs) per section, in order; empty sections are dropped.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut paragraphs: Vec<String> = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let heading_of = |path: &[(usize, String)]| {
        path.iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>()
            .join(" > ")
    };
    let end_para = |para: &mut Vec<&str>, paragraphs: &mut Vec<String>| {
        let p = para
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !p.is_empty() {
            paragraphs.push(p);
        }
        para.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        let is_heading = (1..=6).contains(&level)
            && trimmed[level..].starts_with(' ')
            && !trimmed[level..].trim().is_empty();
        if is_heading {
            end_para(&mut para, &mut paragraphs);
            if !paragraphs.is_empty() {
                out.push((heading_of(&path), std::mem::take(&mut paragraphs)));
            }
            path.retain(|(l, _)| *l < level);
            path.push((level, trimmed[level..].trim().to_string()));
        } else if trimmed.is_empty() {
            end_para(&mut para, &mut paragraphs);
        } else {
            para.push(trimmed);
        }
    }
    end_para(&mut para, &mut paragraphs);
    if !paragraphs.is_empty() {
        out.push((heading_of(&path), paragraphs));
    }
    out
}

/// Pushes `p` whole when it fits, else its sentences packed up to `max`, else its words.
fn split_long(p: &str, max: usize, count: &dyn Fn(&str) -> usize, out: &mut Vec<String>) {
    if count(p) <= max {
        out.push(p.to_string());
        return;
    }
    let mut sentences: Vec<String> = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = p.char_indices().collect();
    for (i, &(at, c)) in bytes.iter().enumerate() {
        let next_is_space = bytes.get(i + 1).is_some_and(|(_, n)| n.is_whitespace());
        if matches!(c, '.' | '!' | '?') && next_is_space {
            sentences.push(p[start..at + c.len_utf8()].trim().to_string());
            start = at + c.len_utf8();
        }
    }
    if start < p.len() {
        sentences.push(p[start..].trim().to_string());
    }
    let mut current = String::new();
    for s in sentences.into_iter().filter(|s| !s.is_empty()) {
        let joined = if current.is_empty() {
            s.clone()
        } else {
            format!("{current} {s}")
        };
        if count(&joined) <= max {
            current = joined;
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if count(&s) <= max {
            current = s;
        } else {
            // One sentence longer than a chunk: cut at words.
            let mut part = String::new();
            for w in s.split_whitespace() {
                let next = if part.is_empty() {
                    w.to_string()
                } else {
                    format!("{part} {w}")
                };
                if !part.is_empty() && count(&next) > max {
                    out.push(std::mem::replace(&mut part, w.to_string()));
                } else {
                    part = next;
                }
            }
            current = part;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
}

/// The last words of `text` that fit in `budget` tokens.
fn tail_words(text: &str, budget: usize, count: &dyn Fn(&str) -> usize) -> String {
    if budget == 0 {
        return String::new();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut from = words.len();
    while from > 0 && count(&words[from - 1..].join(" ")) <= budget {
        from -= 1;
    }
    if from == 0 {
        // The whole paragraph fits: it is the overlap.
        return words.join(" ");
    }
    words[from..].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    #[test]
    fn headings_make_sections_and_paragraphs_pack_up_to_the_budget() {
        let text = "Intro line one\nline two\n\n# Health\n\n## Dentist\nDr. Alvarez on Baker Street.\n\nCleaning every six months.\n\n# Travel\nPassport expires 2031.";
        let chunks = chunk(
            text,
            ChunkOptions {
                max_tokens: 50,
                overlap_tokens: 4,
            },
            &words,
        );
        let got: Vec<(&str, &str)> = chunks
            .iter()
            .map(|c| (c.heading.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("", "Intro line one line two"),
                (
                    "Health > Dentist",
                    "Dr. Alvarez on Baker Street.\n\nCleaning every six months."
                ),
                ("Travel", "Passport expires 2031."),
            ]
        );
        assert_eq!(
            chunks[1].embedded_text(),
            "Health > Dentist\nDr. Alvarez on Baker Street.\n\nCleaning every six months."
        );
    }

    #[test]
    fn long_paragraphs_split_at_sentences_then_words_with_overlap() {
        let para = (1..=30)
            .map(|i| format!("Sentence number {i} is here."))
            .collect::<Vec<_>>()
            .join(" ");
        let chunks = chunk(
            &format!("{para}\n\nshort tail"),
            ChunkOptions {
                max_tokens: 25,
                overlap_tokens: 5,
            },
            &words,
        );
        assert!(chunks.len() > 5, "{chunks:?}");
        assert!(
            chunks.iter().all(|c| words(&c.text) <= 25 + 5),
            "{chunks:?}"
        );
        // Nothing is lost: every sentence is in some chunk.
        for i in 1..=30 {
            let s = format!("Sentence number {i} is here.");
            assert!(chunks.iter().any(|c| c.text.contains(&s)), "{s}");
        }
        // A chunk after the first repeats the tail of the one before.
        let second = &chunks[1].text;
        let first_tail: Vec<&str> = chunks[0].text.split_whitespace().rev().take(3).collect();
        assert!(first_tail.iter().all(|w| second.contains(w)), "{chunks:?}");
        let one_word_soup = "w ".repeat(100);
        let c = chunk(&one_word_soup, ChunkOptions::default(), &|s: &str| {
            words(s) * 3
        });
        assert!(c.iter().all(|c| words(&c.text) * 3 <= 200 + 32), "{c:?}");
        assert!(chunk("  \n\n ", ChunkOptions::default(), &words).is_empty());
    }
}
