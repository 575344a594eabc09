//! Level 1 of the user's memory at the composition root: `deskhand memory update` has the
//! Memory role read each source not read since it changed (in parts, resumable: a source
//! counts as read once its reading is stored), then write a new version of the bio; and
//! `deskhand memory ask` answers from memory, citing what it used. Every call is recorded
//! in SQLite under a run of its own, and nothing is sent to an endpoint that is not on this
//! machine or trusted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deskhand_agents::roles::profile::{
    ask_request, bio_request, read_request, validate_answer, validate_bio, validate_reading,
    AskInput, BioInput, ChunkInput, ReadInput,
};
use deskhand_agents::runtime::ask_role;
use deskhand_core::experience::{PersonalMemory, Recollection};
use deskhand_core::ports::{Clock, MemoryStore, ModelBackend, RunStatus, SystemClock};
use deskhand_core::profile::{Author, SourceReading};
use deskhand_core::{Event, Role};
use deskhand_memory::SqliteMemory;
use serde::Serialize;

use crate::config::Config;
use crate::session::{model_router, HostError};

/// Chunks shown to the Memory role per call.
const CHUNKS_PER_CALL: usize = 12;

/// Items recalled for a question.
const ASK_ITEMS: usize = 6;

/// What an update of level 1 did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileReport {
    /// The run its calls are recorded under.
    pub run: Option<i64>,
    /// Sources read.
    pub sources_read: usize,
    /// Facts added or updated.
    pub facts: usize,
    /// Shades added.
    pub new_shades: usize,
    /// Shades improved or merged into.
    pub merged_shades: usize,
    /// Proposals kept out because the user edited or deleted that item.
    pub kept_yours: usize,
    /// Facts dropped by validation, with the reason.
    pub dropped: Vec<String>,
    /// Sources whose reading failed (uri and why); what they gave before stays.
    pub failed: Vec<(String, String)>,
    /// The new bio's version, when one was written.
    pub bio: Option<i64>,
    /// Why the bio was not rewritten, when it failed.
    pub bio_error: Option<String>,
}

/// An answer from memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryAnswer {
    /// False when memory does not say.
    pub known: bool,
    /// The answer.
    pub answer: String,
    /// The items it came from.
    pub sources: Vec<Recollection>,
    /// The run its call is recorded under (none when nothing was asked).
    pub run: Option<i64>,
}

/// The Memory role's model, once the endpoint is known to be trusted with the memory.
fn trusted_router(config: &Config) -> Result<Arc<dyn ModelBackend>, HostError> {
    let router = model_router(config)?;
    let endpoint = router
        .endpoint(Role::Memory.as_str())
        .map(|e| e.base_url.clone())
        .unwrap_or_default();
    if let Some(why) = crate::recall::withheld_from(
        &endpoint,
        config.memory.trusted_endpoints.as_deref().unwrap_or(&[]),
    ) {
        return Err(HostError::Other(format!("your memory was not sent: {why}")));
    }
    Ok(Arc::new(router))
}

fn notice(on_event: &mut dyn FnMut(Event), message: String) {
    on_event(Event::Notice { message });
}

/// Reads every source not read since it changed, then writes a new version of the bio.
/// A source whose reading fails (the model's answer invalid twice) keeps what it gave
/// before and is listed; the next update tries it again. Cancelling stops between calls.
pub fn update_profile(
    config: &Config,
    memory: &mut SqliteMemory,
    cancel: Arc<AtomicBool>,
    on_event: &mut dyn FnMut(Event),
) -> Result<ProfileReport, HostError> {
    let unread = memory.unread_sources()?;
    if unread.is_empty() && memory.sources()?.is_empty() {
        return Err(HostError::Other(
            "your memory is empty: add files with `deskhand memory add PATH` or notes with \
             `deskhand memory note TEXT` first"
                .into(),
        ));
    }
    let mut report = ProfileReport::default();
    if unread.is_empty() && memory.bio()?.is_some() {
        return Ok(report);
    }
    let model = trusted_router(config)?;
    let run = memory.start_run(
        "update what your memory says about you",
        SystemClock.now_ms(),
    )?;
    report.run = Some(run);
    let mut step = 0;
    let total = unread.len();
    for (i, source) in unread.iter().enumerate() {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let chunks: Vec<ChunkInput> = memory
            .source_chunks(source.id)?
            .into_iter()
            .map(|c| ChunkInput {
                id: c.id,
                text: if c.heading.is_empty() {
                    c.text
                } else {
                    format!("{}\n{}", c.heading, c.text)
                },
            })
            .collect();
        let parts = chunks.len().div_ceil(CHUNKS_PER_CALL).max(1);
        notice(
            on_event,
            format!(
                "reading {}/{total}: {} ({} chunk{}, {parts} part{})",
                i + 1,
                source.uri,
                chunks.len(),
                if chunks.len() == 1 { "" } else { "s" },
                if parts == 1 { "" } else { "s" }
            ),
        );
        let mut merged = SourceReading::default();
        let mut failure = None;
        for part in chunks.chunks(CHUNKS_PER_CALL) {
            if cancel.load(Ordering::SeqCst) {
                failure = Some("cancelled".to_string());
                break;
            }
            let shades = memory.shades()?;
            let input = ReadInput {
                uri: &source.uri,
                chunks: part,
                summary_so_far: &merged.summary,
                shades: &shades,
            };
            step += 1;
            let answer = ask_role(
                model.clone(),
                cancel.clone(),
                memory,
                run,
                step,
                read_request(&input),
                &|text| validate_reading(text, &input),
                on_event,
            );
            match answer {
                Ok((reading, dropped)) => {
                    report.dropped.extend(dropped);
                    merged.summary = reading.summary;
                    for k in reading.keywords {
                        if !merged.keywords.contains(&k) {
                            merged.keywords.push(k);
                        }
                    }
                    merged.shades.extend(reading.shades);
                    merged.facts.extend(reading.facts);
                }
                Err(why) => {
                    failure = Some(why);
                    break;
                }
            }
        }
        match failure {
            Some(why) => {
                notice(on_event, format!("not read: {}: {why}", source.uri));
                report.failed.push((source.uri.clone(), why));
            }
            None => {
                let r = memory.apply_reading(source.id, &merged)?;
                report.sources_read += 1;
                report.facts += r.facts;
                report.new_shades += r.new_shades;
                report.merged_shades += r.merged_shades;
                report.kept_yours += r.kept_yours;
            }
        }
    }
    let cancelled = cancel.load(Ordering::SeqCst);
    if !cancelled && (report.sources_read > 0 || memory.bio()?.is_none()) {
        let digests = memory.digests()?;
        let shades = memory.shades()?;
        let facts = memory.facts()?;
        let current = memory.bio()?;
        if !digests.is_empty() {
            notice(on_event, "writing your bio".into());
            let input = BioInput {
                digests: &digests,
                shades: &shades,
                facts: &facts,
                current: current.as_ref(),
            };
            step += 1;
            match ask_role(
                model.clone(),
                cancel.clone(),
                memory,
                run,
                step,
                bio_request(&input),
                &validate_bio,
                on_event,
            ) {
                Ok(draft) => {
                    let sources: Vec<i64> = digests.iter().map(|d| d.source).collect();
                    let bio = memory.add_bio(
                        &draft.first_person,
                        &draft.third_person,
                        Author::Model,
                        &sources,
                    )?;
                    report.bio = Some(bio.version);
                }
                Err(why) => {
                    notice(on_event, format!("the bio was not rewritten: {why}"));
                    report.bio_error = Some(why);
                }
            }
        }
    }
    let status = if cancelled {
        RunStatus::Cancelled
    } else if report.failed.is_empty() && report.bio_error.is_none() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    let summary = format!(
        "{} source(s) read, {} failed; {} fact(s), {} new shade(s), {} merged{}",
        report.sources_read,
        report.failed.len(),
        report.facts,
        report.new_shades,
        report.merged_shades,
        report
            .bio
            .map(|v| format!("; bio version {v}"))
            .unwrap_or_default()
    );
    memory.finish_run(run, status, &summary, SystemClock.now_ms())?;
    Ok(report)
}

/// Answers a question as the user's Second Me from what memory holds about it (facts,
/// shades, chunks) and the bio. When memory holds nothing about it, says so without asking
/// a model.
pub fn ask_memory(
    config: &Config,
    memory: &mut SqliteMemory,
    question: &str,
    cancel: Arc<AtomicBool>,
    on_event: &mut dyn FnMut(Event),
) -> Result<MemoryAnswer, HostError> {
    if question.trim().is_empty() {
        return Err(HostError::Other("the question is empty".into()));
    }
    match crate::recall::embedder(config) {
        Ok(e) => memory.set_embedder(Arc::new(e)),
        Err(e) => notice(
            on_event,
            format!("your memory is searched by keywords only: {e}"),
        ),
    }
    let knowledge = memory.recall(question, ASK_ITEMS)?;
    if knowledge.is_empty() {
        return Ok(MemoryAnswer {
            known: false,
            answer: "your memory holds nothing about this".into(),
            sources: Vec::new(),
            run: None,
        });
    }
    let model = trusted_router(config)?;
    let bio = memory.bio()?;
    let run = memory.start_run(
        &format!("ask your memory: {question}"),
        SystemClock.now_ms(),
    )?;
    let input = AskInput {
        question,
        bio: bio.as_ref().map(|b| b.first_person.as_str()),
        knowledge: &knowledge,
    };
    let answer = ask_role(
        model,
        cancel,
        memory,
        run,
        1,
        ask_request(&input),
        &|text| validate_answer(text, &knowledge),
        on_event,
    );
    let (status, summary) = match &answer {
        Ok(a) if a.known => (RunStatus::Succeeded, a.answer.clone()),
        Ok(_) => (RunStatus::Succeeded, "memory does not know".to_string()),
        Err(why) => (RunStatus::Failed, why.clone()),
    };
    memory.finish_run(run, status, &summary, SystemClock.now_ms())?;
    let answer = answer.map_err(|why| HostError::Other(format!("no answer from memory: {why}")))?;
    Ok(MemoryAnswer {
        known: answer.known,
        answer: if answer.known {
            answer.answer
        } else {
            "your memory does not say".into()
        },
        sources: knowledge
            .into_iter()
            .filter(|k| answer.sources.contains(&k.id))
            .collect(),
        run: Some(run),
    })
}
