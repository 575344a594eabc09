//! `deskhand memory update|ask|bio|shades|facts`: what your memory says about you, written
//! by the memory model and edited by you.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Subcommand;
use deskhand_core::profile::{Author, Support};
use deskhand_core::Event;
use deskhand_host::{Config, HostError};
use deskhand_memory::SqliteMemory;

fn json_line(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// The bio.
#[derive(Subcommand)]
pub enum BioCmd {
    /// Write your bio yourself (it wins over later updates until you delete it).
    Edit {
        /// In your own voice: "I am a nurse in Manchester ...".
        #[arg(long)]
        first_person: Option<String>,
        /// About you: "Jo is a nurse in Manchester ...".
        #[arg(long)]
        third_person: Option<String>,
    },
    /// Delete every version of the bio (the next update writes a new one).
    Delete,
}

/// One shade.
#[derive(Subcommand)]
pub enum ShadeCmd {
    /// Change a shade's name or description (it is yours from then on).
    Edit {
        /// Shade id.
        id: i64,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The new description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a shade (an update does not bring it back).
    Delete {
        /// Shade id.
        id: i64,
    },
}

/// One fact.
#[derive(Subcommand)]
pub enum FactCmd {
    /// Set a fact yourself: `deskhand memory facts set email jo@example.org`.
    Set {
        /// What it is.
        key: String,
        /// Its value.
        value: String,
    },
    /// Delete a fact by id or key (an update does not bring it back).
    Delete {
        /// Fact id or key.
        which: String,
    },
}

/// Progress on standard error: what is being read, each model call.
fn progress(json: bool) -> impl FnMut(Event) {
    move |e| {
        if json {
            if let Ok(line) = serde_json::to_string(&e) {
                eprintln!("{line}");
            }
            return;
        }
        match e {
            Event::Notice { message } => eprintln!("{message}"),
            Event::ModelCalled {
                role, ms, error, ..
            } => match error {
                Some(err) => eprintln!("  {role} model: {ms} ms, {err}"),
                None => eprintln!("  {role} model: {ms} ms"),
            },
            _ => {}
        }
    }
}

fn host_error(e: HostError) -> anyhow::Result<ExitCode> {
    eprintln!("deskhand: {e}");
    Ok(ExitCode::from(match e {
        HostError::ModelsNotConfigured(_) => 2,
        _ => 1,
    }))
}

/// `memory update`.
pub fn update(store: &mut SqliteMemory, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let cancel = Arc::new(AtomicBool::new(false));
    let report =
        match deskhand_host::profile::update_profile(config, store, cancel, &mut progress(json)) {
            Ok(r) => r,
            Err(e) => return host_error(e),
        };
    if json {
        json_line(&report)?;
    } else if report.run.is_none() {
        println!("every source has been read since it last changed; nothing to update");
    } else {
        println!(
            "read {} source(s): {} fact(s) added or updated, {} new shade(s), {} merged",
            report.sources_read, report.facts, report.new_shades, report.merged_shades
        );
        if report.kept_yours > 0 {
            println!(
                "kept {} of your own edits over what the sources say",
                report.kept_yours
            );
        }
        for d in &report.dropped {
            println!("left out: {d}");
        }
        for (uri, why) in &report.failed {
            println!(
                "not read (what it gave before stays; the next update tries again): {uri}: {why}"
            );
        }
        match (report.bio, &report.bio_error) {
            (Some(v), _) => println!("bio version {v} written (see `deskhand memory bio`)"),
            (None, Some(why)) => println!("bio not rewritten: {why}"),
            _ => {}
        }
    }
    Ok(if report.failed.is_empty() && report.bio_error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `memory ask`.
pub fn ask(
    store: &mut SqliteMemory,
    config: &Config,
    question: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let cancel = Arc::new(AtomicBool::new(false));
    let answer = match deskhand_host::profile::ask_memory(
        config,
        store,
        question,
        cancel,
        &mut progress(json),
    ) {
        Ok(a) => a,
        Err(e) => return host_error(e),
    };
    if json {
        json_line(&answer)?;
    } else {
        println!("{}", answer.answer);
        for s in &answer.sources {
            println!("  from {}: {}", s.source, s.text.replace('\n', " "));
        }
    }
    Ok(if answer.known {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn support_text(s: &Support) -> String {
    match s.chunk {
        Some(c) => format!("source {} chunk {c}", s.source),
        None => format!("source {} (that chunk has changed)", s.source),
    }
}

/// `memory bio`.
pub fn bio(
    store: &mut SqliteMemory,
    versions: bool,
    action: Option<BioCmd>,
    json: bool,
) -> anyhow::Result<()> {
    match action {
        None if versions => {
            let all = store.bios()?;
            if json {
                return json_line(&all);
            }
            if all.is_empty() {
                println!("no bio yet: run `deskhand memory update`");
            }
            for b in &all {
                println!(
                    "version {} by {} ({} source(s))",
                    b.version,
                    b.author.as_str(),
                    b.sources.len()
                );
                println!("  {}", b.first_person);
                println!("  {}", b.third_person);
            }
        }
        None => match store.bio()? {
            Some(b) if json => json_line(&b)?,
            Some(b) => {
                println!("{}\n\n{}", b.first_person, b.third_person);
                println!(
                    "\n(version {}, {})",
                    b.version,
                    match b.author {
                        Author::User => "written by you",
                        Author::Model => "written by the memory model",
                    }
                );
            }
            None if json => json_line(&serde_json::Value::Null)?,
            None => {
                println!("no bio yet: run `deskhand memory update` once memory holds some sources")
            }
        },
        Some(BioCmd::Edit {
            first_person,
            third_person,
        }) => {
            let current = store.bio()?;
            let first = first_person
                .or_else(|| current.as_ref().map(|b| b.first_person.clone()))
                .unwrap_or_default();
            let third = third_person
                .or_else(|| current.as_ref().map(|b| b.third_person.clone()))
                .unwrap_or_default();
            let b = store.add_bio(&first, &third, Author::User, &[])?;
            if json {
                json_line(&b)?;
            } else {
                println!("bio version {} is yours; updates keep it", b.version);
            }
        }
        Some(BioCmd::Delete) => {
            let n = store.delete_bio()?;
            if json {
                json_line(&serde_json::json!({ "deleted_bio_versions": n }))?;
            } else {
                println!("deleted {n} bio version(s)");
            }
        }
    }
    Ok(())
}

/// `memory shades`.
pub fn shades(
    store: &mut SqliteMemory,
    action: Option<ShadeCmd>,
    json: bool,
) -> anyhow::Result<()> {
    match action {
        None => {
            let all = store.shades()?;
            if json {
                return json_line(&all);
            }
            if all.is_empty() {
                println!("no shades yet: run `deskhand memory update`");
            }
            for s in &all {
                println!(
                    "{:>4}  {} ({:.2}{})",
                    s.id,
                    s.name,
                    s.confidence,
                    if s.author == Author::User {
                        ", yours"
                    } else {
                        ""
                    }
                );
                println!("      {}", s.description);
                if !s.support.is_empty() {
                    println!(
                        "      from {}",
                        s.support
                            .iter()
                            .map(support_text)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        Some(ShadeCmd::Edit {
            id,
            name,
            description,
        }) => {
            if name.is_none() && description.is_none() {
                anyhow::bail!("give --name or --description (or both)");
            }
            let s = store.edit_shade(id, name.as_deref(), description.as_deref())?;
            if json {
                json_line(&s)?;
            } else {
                println!("shade {id} is now: {}: {}", s.name, s.description);
            }
        }
        Some(ShadeCmd::Delete { id }) => {
            let s = store.delete_shade(id)?;
            if json {
                json_line(&serde_json::json!({ "deleted_shade": id, "name": s.name }))?;
            } else {
                println!(
                    "deleted shade {id} ({}); updates will not bring it back",
                    s.name
                );
            }
        }
    }
    Ok(())
}

/// `memory facts`.
pub fn facts(store: &mut SqliteMemory, action: Option<FactCmd>, json: bool) -> anyhow::Result<()> {
    match action {
        None => {
            let all = store.facts()?;
            if json {
                return json_line(&all);
            }
            if all.is_empty() {
                println!(
                    "no facts yet: run `deskhand memory update` or `memory facts set KEY VALUE`"
                );
            }
            for f in &all {
                let from = match (&f.support, f.author) {
                    (_, Author::User) => "set by you".to_string(),
                    (Some(s), _) => support_text(s),
                    (None, _) => String::new(),
                };
                println!(
                    "{:>4}  {:<20} {}   [{from}, {:.2}]",
                    f.id, f.key, f.value, f.confidence
                );
            }
        }
        Some(FactCmd::Set { key, value }) => {
            let f = store.set_fact(&key, &value)?;
            if json {
                json_line(&f)?;
            } else {
                println!("fact {}: {} = {}", f.id, f.key, f.value);
            }
        }
        Some(FactCmd::Delete { which }) => {
            let f = store.delete_fact(&which)?;
            if json {
                json_line(&serde_json::json!({ "deleted_fact": f.id, "key": f.key }))?;
            } else {
                println!(
                    "deleted fact {} ({}); updates will not bring it back",
                    f.id, f.key
                );
            }
        }
    }
    Ok(())
}
