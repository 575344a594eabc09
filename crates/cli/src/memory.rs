//! `deskhand memory ...`: your own memory (add files and notes, search them by meaning and
//! words, list and forget sources; what it says about you, in `profile`), and the tips and shortcuts that agents learned (list,
//! show, edit, delete, export, import), all kept in the same database as the runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use deskhand_core::experience::{Shortcut, Tip};
use deskhand_core::graph::Guideline;
use deskhand_core::ports::Embedder;
use deskhand_host::Config;
use deskhand_memory::{ExperienceExport, SearchOptions, SqliteMemory};

use crate::profile::{self, BioCmd, FactCmd, ShadeCmd};

/// What to do with the memory.
#[derive(Subcommand)]
pub enum MemoryCmd {
    /// Add text, Markdown or PDF files (or every file under a folder) to your memory: split on
    /// headings and paragraphs and embedded locally; adding a file again re-embeds only what
    /// changed. Binary files are skipped with the reason.
    Add {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A tag kept with each source ("work", "health").
        #[arg(long)]
        tag: Option<String>,
    },
    /// Keep a note: `deskhand memory note "Dentist: Dr. Alvarez, Baker Street"`.
    Note {
        /// The note's text.
        text: String,
        /// A tag kept with the note.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Search your memory by meaning and by words: each hit's text, source, score and why
    /// (keyword, vector or both).
    Search {
        /// What you are looking for, in your own words.
        query: String,
        /// Hits at most.
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        /// Words only (no embedding model needed).
        #[arg(long)]
        keywords: bool,
    },
    /// List the sources in your memory (files and notes) with their chunk counts.
    Sources,
    /// Delete a source and everything derived from it (chunks, vectors): by id or path.
    Forget {
        /// The source's id (see `memory sources`) or its file path.
        source: String,
    },
    /// Have the memory model read the sources added or changed since the last update and
    /// write what they say about you: each source's summary, facts, shades (interests) and a
    /// new version of your bio. Resumes where an interrupted update stopped; your own edits
    /// are kept. Sent only to a model on this machine or one in [memory] trusted_endpoints.
    Update,
    /// Ask your memory a question: answered as you would, from your own memory, citing the
    /// sources used, or saying that memory does not know.
    Ask {
        /// The question: `deskhand memory ask "who is my dentist?"`.
        question: String,
    },
    /// Show your bio (`--versions` for every version), or edit or delete it.
    Bio {
        /// Every version, oldest first.
        #[arg(long)]
        versions: bool,
        #[command(subcommand)]
        action: Option<BioCmd>,
    },
    /// List the shades (interests and traits) memory sees in you, or edit or delete one.
    Shades {
        #[command(subcommand)]
        action: Option<ShadeCmd>,
    },
    /// List the facts memory holds about you, or set or delete one.
    Facts {
        #[command(subcommand)]
        action: Option<FactCmd>,
    },
    /// List tips (`--app A` for one app), or show, edit or delete one.
    Tips {
        /// Only this application's tips.
        #[arg(long)]
        app: Option<String>,
        #[command(subcommand)]
        action: Option<TipCmd>,
    },
    /// List shortcuts (`--app A` for one app), or show or delete one.
    Shortcuts {
        /// Only this application's shortcuts.
        #[arg(long)]
        app: Option<String>,
        #[command(subcommand)]
        action: Option<ShortcutCmd>,
    },
    /// List the Steward's guidelines (how tasks across apps were split into one subtask per
    /// app in runs that succeeded; given to the Steward for similar tasks), or show, edit or
    /// delete one.
    Guidelines {
        #[command(subcommand)]
        action: Option<GuidelineCmd>,
    },
    /// Write everything memory holds as JSON to FILE (or standard output): your sources with
    /// their text, digests, bio versions, shades and facts, and the tips and shortcuts.
    Export {
        /// Only this application's tips and shortcuts (and none of your own memory).
        #[arg(long)]
        app: Option<String>,
        /// The file to write.
        file: Option<PathBuf>,
    },
    /// Read tips and shortcuts from a JSON file (as written by export): equivalent tips are
    /// skipped, shortcuts with the same app and name are replaced.
    Import {
        /// The file to read.
        file: PathBuf,
    },
}

/// One tip.
#[derive(Subcommand)]
pub enum TipCmd {
    /// Show a tip.
    Show {
        /// Tip id.
        id: i64,
    },
    /// Replace a tip's text: `deskhand memory tips edit 3 "new text"`.
    Edit {
        /// Tip id.
        id: i64,
        /// The new text.
        text: String,
    },
    /// Delete a tip.
    Delete {
        /// Tip id.
        id: i64,
    },
}

/// One guideline.
#[derive(Subcommand)]
pub enum GuidelineCmd {
    /// Show a guideline with its steps.
    Show {
        /// Guideline id.
        id: i64,
    },
    /// Replace a guideline's steps, one per line:
    /// `deskhand memory guidelines edit 2 "1. [xterm] count ... -> count\n2. [mousepad] ..."`.
    Edit {
        /// Guideline id.
        id: i64,
        /// The new steps.
        steps: String,
    },
    /// Delete a guideline.
    Delete {
        /// Guideline id.
        id: i64,
    },
}

/// One shortcut.
#[derive(Subcommand)]
pub enum ShortcutCmd {
    /// Show a shortcut with its parameters and steps.
    Show {
        /// Shortcut id or name.
        id: String,
    },
    /// Delete a shortcut.
    Delete {
        /// Shortcut id or name.
        id: String,
    },
}

fn json_line(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn app_label(app: &str) -> &str {
    if app.is_empty() {
        "(any app)"
    } else {
        app
    }
}

fn print_tips(tips: &[Tip]) {
    if tips.is_empty() {
        println!("no tips");
    }
    for t in tips {
        println!("{:>5}  {:<12} {}", t.id, app_label(&t.app), t.text);
    }
}

fn print_tip(t: &Tip) {
    println!("tip {}", t.id);
    println!("  app:     {}", app_label(&t.app));
    println!("  text:    {}", t.text);
    println!("  uses:    {}", t.uses);
    if let Some(run) = t.source_run {
        println!("  learned: run {run}");
    }
}

fn print_guideline(g: &Guideline) {
    println!("guideline {}: {}", g.id, g.task);
    println!("  apps: {}  used {} time(s)", g.apps.join(", "), g.uses);
    for line in g.steps.lines() {
        println!("  {line}");
    }
}

fn guidelines(
    store: &mut SqliteMemory,
    action: Option<GuidelineCmd>,
    json: bool,
) -> anyhow::Result<()> {
    match action {
        None => {
            let all = store.list_guidelines()?;
            if json {
                return json_line(&all);
            }
            if all.is_empty() {
                println!(
                    "no guidelines: the Steward learns one from each cross-app run that succeeds"
                );
            }
            for g in &all {
                print_guideline(g);
            }
        }
        Some(GuidelineCmd::Show { id }) => {
            let g = store.get_guideline(id)?;
            if json {
                return json_line(&g);
            }
            print_guideline(&g);
        }
        Some(GuidelineCmd::Edit { id, steps }) => {
            let g = store.update_guideline(id, &steps.replace("\\n", "\n"))?;
            if json {
                return json_line(&g);
            }
            print_guideline(&g);
        }
        Some(GuidelineCmd::Delete { id }) => {
            store.delete_guideline(id)?;
            if json {
                return json_line(&serde_json::json!({ "deleted_guideline": id }));
            }
            println!("deleted guideline {id}");
        }
    }
    Ok(())
}

fn print_shortcuts(shortcuts: &[Shortcut]) {
    if shortcuts.is_empty() {
        println!("no shortcuts");
    }
    for s in shortcuts {
        let params: Vec<&str> = s.parameters.iter().map(|p| p.name.as_str()).collect();
        println!(
            "{:>5}  {:<12} {}({})  {}  [{} step(s), used {}, succeeded {}]",
            s.id,
            app_label(&s.app),
            s.name,
            params.join(", "),
            s.description,
            s.steps.len(),
            s.uses,
            s.successes
        );
    }
}

fn print_shortcut(s: &Shortcut) {
    println!("shortcut {} ({})", s.name, s.id);
    println!("  app:          {}", app_label(&s.app));
    println!("  description:  {}", s.description);
    if !s.precondition.is_empty() {
        println!("  precondition: {}", s.precondition);
    }
    if let Some(r) = &s.requires {
        println!("  requires:     {r}");
    }
    println!("  used {} time(s), succeeded {}", s.uses, s.successes);
    if let Some(run) = s.source_run {
        println!("  learned:      run {run}");
    }
    if s.parameters.is_empty() {
        println!("  parameters:   none");
    } else {
        println!("  parameters:");
        for p in &s.parameters {
            println!("    {{{}}}  {}", p.name, p.description);
        }
    }
    println!("  steps:");
    for (i, step) in s.steps.iter().enumerate() {
        println!("    {}. {step}", i + 1);
    }
}

/// Reads an export file; a malformed one is an error naming the line and column.
fn read_export(file: &Path) -> anyhow::Result<ExperienceExport> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        let at = format!(" at line {} column {}", e.line(), e.column());
        let what = e.to_string();
        anyhow::anyhow!(
            "{}: not a Deskhand experience file: line {}, column {}: {}",
            file.display(),
            e.line(),
            e.column(),
            what.strip_suffix(&at).unwrap_or(&what)
        )
    })
}

/// Every file named, folders walked (sorted, hidden entries skipped).
fn files_of(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|e| {
                    !e.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            entries.sort();
            out.extend(files_of(&entries)?);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{} does not exist", p.display());
        }
    }
    Ok(out)
}

/// Adds files, printing one line per file and embedding progress on long ones.
fn add(
    store: &mut SqliteMemory,
    embedder: &dyn Embedder,
    paths: &[PathBuf],
    tag: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let files = files_of(paths)?;
    let (mut added, mut skipped) = (0, 0);
    for file in &files {
        let mut shown = false;
        let mut progress = |done: usize, total: usize| {
            if !json && total >= 64 {
                eprint!("\r  embedding {done}/{total} chunks of {}", file.display());
                shown = true;
            }
        };
        match store.add_file(file, tag, Some(embedder), &mut progress) {
            Ok(r) => {
                if shown {
                    eprintln!();
                }
                added += 1;
                if json {
                    json_line(&serde_json::json!({"file": file, "report": r}))?;
                } else {
                    println!(
                        "{:<9} {} ({} chunks, {} embedded{})",
                        r.status,
                        file.display(),
                        r.chunks,
                        r.embedded,
                        if r.cut > 0 {
                            format!(", {} longer than the model reads", r.cut)
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Err(e) => {
                skipped += 1;
                if json {
                    json_line(&serde_json::json!({"file": file, "skipped": e.message}))?;
                } else {
                    println!("skipped   {}", e.message);
                }
            }
        }
    }
    if !json {
        println!("{added} added or up to date, {skipped} skipped");
    }
    Ok(if added == 0 && skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_hits(hits: &[deskhand_memory::Hit]) {
    if hits.is_empty() {
        println!("nothing in memory matches");
    }
    for (i, h) in hits.iter().enumerate() {
        let similarity = h
            .similarity
            .map(|s| format!(", similarity {s:.2}"))
            .unwrap_or_default();
        println!(
            "{}. [{}] score {:.4}{similarity}  {}{}",
            i + 1,
            h.why,
            h.score,
            h.source,
            if h.heading.is_empty() {
                String::new()
            } else {
                format!(" > {}", h.heading)
            }
        );
        for line in h.text.lines() {
            println!("   {line}");
        }
    }
}

/// Runs a `deskhand memory` command on the configured database.
pub fn run(cmd: MemoryCmd, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    // Read the import file before opening the store: a malformed file changes nothing.
    let import = match &cmd {
        MemoryCmd::Import { file } => Some(read_export(file)?),
        _ => None,
    };
    let mut store = SqliteMemory::open(&config.database())?;
    let embedder = || deskhand_host::recall::embedder(config);
    match cmd {
        MemoryCmd::Add { paths, tag } => {
            let e = embedder()?;
            return add(&mut store, &e, &paths, tag.as_deref(), json);
        }
        MemoryCmd::Note { text, tag } => {
            let e = embedder()?;
            let r = store.add_note(&text, tag.as_deref(), Some(&e))?;
            if json {
                json_line(&r)?;
            } else {
                println!("kept note {} ({} chunk)", r.source, r.chunks);
            }
        }
        MemoryCmd::Search { query, k, keywords } => {
            let options = SearchOptions {
                k: k.max(1),
                keywords_only: keywords,
                ..SearchOptions::default()
            };
            let hits = if keywords {
                store.search_memory(&query, None, options)?
            } else {
                let e = embedder()?;
                store.search_memory(&query, Some(&e), options)?
            };
            if json {
                json_line(&hits)?;
            } else {
                print_hits(&hits);
            }
        }
        MemoryCmd::Sources => {
            let sources = store.sources()?;
            if json {
                json_line(&sources)?;
            } else if sources.is_empty() {
                println!(
                    "no sources: add some with `deskhand memory add FILE` or `memory note TEXT`"
                );
            } else {
                for s in &sources {
                    println!(
                        "{:>5}  {:<5} {:>4} chunks  {}{}",
                        s.id,
                        s.kind,
                        s.chunks,
                        s.uri,
                        s.tag
                            .as_deref()
                            .map(|t| format!("  [{t}]"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        MemoryCmd::Forget { source } => {
            let uri = store.forget(&source)?;
            if json {
                json_line(&serde_json::json!({ "forgot": uri }))?;
            } else {
                println!("forgot {uri} and everything derived from it");
            }
        }
        MemoryCmd::Update => return profile::update(&mut store, config, json),
        MemoryCmd::Ask { question } => return profile::ask(&mut store, config, &question, json),
        MemoryCmd::Bio { versions, action } => {
            profile::bio(&mut store, versions, action, json)?;
        }
        MemoryCmd::Shades { action } => profile::shades(&mut store, action, json)?,
        MemoryCmd::Facts { action } => profile::facts(&mut store, action, json)?,
        MemoryCmd::Guidelines { action } => guidelines(&mut store, action, json)?,
        MemoryCmd::Tips { app, action: None } => {
            let tips = store.list_tips(app.as_deref())?;
            if json {
                json_line(&tips)?;
            } else {
                print_tips(&tips);
            }
        }
        MemoryCmd::Tips {
            action: Some(TipCmd::Show { id }),
            ..
        } => {
            let tip = store.get_tip(id)?;
            if json {
                json_line(&tip)?;
            } else {
                print_tip(&tip);
            }
        }
        MemoryCmd::Tips {
            action: Some(TipCmd::Edit { id, text }),
            ..
        } => {
            let tip = store.update_tip(id, &text)?;
            if json {
                json_line(&tip)?;
            } else {
                println!("tip {id} is now: {}", tip.text);
            }
        }
        MemoryCmd::Tips {
            action: Some(TipCmd::Delete { id }),
            ..
        } => {
            store.delete_tip(id)?;
            if json {
                json_line(&serde_json::json!({ "deleted_tip": id }))?;
            } else {
                println!("deleted tip {id}");
            }
        }
        MemoryCmd::Shortcuts { app, action: None } => {
            let shortcuts = store.list_shortcuts(app.as_deref())?;
            if json {
                json_line(&shortcuts)?;
            } else {
                print_shortcuts(&shortcuts);
            }
        }
        MemoryCmd::Shortcuts {
            action: Some(ShortcutCmd::Show { id }),
            ..
        } => {
            let s = store.get_shortcut(&id)?;
            if json {
                json_line(&s)?;
            } else {
                print_shortcut(&s);
            }
        }
        MemoryCmd::Shortcuts {
            action: Some(ShortcutCmd::Delete { id }),
            ..
        } => {
            let s = store.get_shortcut(&id)?;
            store.delete_shortcut(s.id)?;
            if json {
                json_line(&serde_json::json!({ "deleted_shortcut": s.id, "name": s.name }))?;
            } else {
                println!("deleted shortcut {} ({})", s.name, s.id);
            }
        }
        MemoryCmd::Export { app, file } => {
            let mut doc = store.export_experience(app.as_deref())?;
            if app.is_none() {
                doc.personal = Some(store.export_personal()?);
            }
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match file {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    if json {
                        json_line(&serde_json::json!({
                            "file": path,
                            "tips": doc.tips.len(),
                            "shortcuts": doc.shortcuts.len(),
                            "sources": doc.personal.as_ref().map_or(0, |p| p.sources.len()),
                            "facts": doc.personal.as_ref().map_or(0, |p| p.facts.len()),
                        }))?;
                    } else {
                        let personal = doc
                            .personal
                            .as_ref()
                            .map(|p| {
                                format!(
                                    ", {} source(s), {} fact(s), {} shade(s), {} bio version(s)",
                                    p.sources.len(),
                                    p.facts.len(),
                                    p.shades.len(),
                                    p.bios.len()
                                )
                            })
                            .unwrap_or_default();
                        println!(
                            "wrote {} tip(s), {} shortcut(s){personal} to {}",
                            doc.tips.len(),
                            doc.shortcuts.len(),
                            path.display()
                        );
                    }
                }
                None => print!("{text}"),
            }
        }
        MemoryCmd::Import { .. } => {
            let Some(doc) = import else {
                return Ok(ExitCode::from(2));
            };
            if doc.personal.is_some() {
                eprintln!(
                    "deskhand: the file's own memory (sources, facts, bio) is not imported: add \
                     the files again with `deskhand memory add`; tips and shortcuts are"
                );
            }
            let report = store.import_experience(&doc)?;
            if json {
                json_line(&report)?;
            } else {
                println!(
                    "tips: {} added, {} already known; shortcuts: {} added, {} updated",
                    report.tips_added,
                    report.tips_skipped,
                    report.shortcuts_added,
                    report.shortcuts_updated
                );
                if report.guidelines_added + report.guidelines_updated > 0 {
                    println!(
                        "guidelines: {} added, {} updated",
                        report.guidelines_added, report.guidelines_updated
                    );
                }
            }
            if !report.invalid.is_empty() {
                for problem in &report.invalid {
                    eprintln!("deskhand: not imported: {problem}");
                }
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
