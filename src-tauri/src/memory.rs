//! IPC commands of the Memory tab: what the user's memory holds (sources, facts, shades,
//! bio), search by meaning and words, and the user's edits. Each is one call on the store.

use std::sync::Arc;

use deskhand_core::profile::{Author, Bio, Fact, Shade};
use deskhand_memory::{Hit, SearchOptions, Source};
use serde::Serialize;
use tauri::State;

use crate::DesktopState;

/// Everything the tab shows.
#[derive(Debug, Serialize)]
pub struct MemoryView {
    sources: Vec<Source>,
    facts: Vec<Fact>,
    shades: Vec<Shade>,
    bio: Option<Bio>,
}

fn view(state: &DesktopState) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        let e = |e: deskhand_core::PortError| e.to_string();
        Ok(MemoryView {
            sources: m.sources().map_err(e)?,
            facts: m.facts().map_err(e)?,
            shades: m.shades().map_err(e)?,
            bio: m.bio().map_err(e)?,
        })
    })
}

/// The memory as the tab shows it.
#[tauri::command]
pub async fn memory_view(state: State<'_, DesktopState>) -> Result<MemoryView, String> {
    view(&state)
}

/// Searches the user's memory by meaning and words (by words only when the embedding model
/// is missing, with the reason in the first hit's place as an error).
#[tauri::command]
pub async fn memory_search(
    state: State<'_, DesktopState>,
    query: String,
) -> Result<Vec<Hit>, String> {
    state.with_memory(|config, m| {
        if m.embedder().is_none() {
            let e = deskhand_host::recall::embedder(config).map_err(|e| e.to_string())?;
            m.set_embedder(Arc::new(e));
        }
        let e = m.embedder();
        m.search_memory(
            &query,
            e.as_deref(),
            SearchOptions {
                k: 8,
                ..SearchOptions::default()
            },
        )
        .map_err(|e| e.to_string())
    })
}

/// Keeps a note typed into the tab.
#[tauri::command]
pub async fn memory_note(
    state: State<'_, DesktopState>,
    text: String,
) -> Result<MemoryView, String> {
    state.with_memory(|config, m| {
        if m.embedder().is_none() {
            if let Ok(e) = deskhand_host::recall::embedder(config) {
                m.set_embedder(Arc::new(e));
            }
        }
        let e = m.embedder();
        m.add_note(&text, None, e.as_deref())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}

/// Sets a fact as the user states it.
#[tauri::command]
pub async fn memory_set_fact(
    state: State<'_, DesktopState>,
    key: String,
    value: String,
) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        m.set_fact(&key, &value)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}

/// Deletes a fact (by id).
#[tauri::command]
pub async fn memory_delete_fact(
    state: State<'_, DesktopState>,
    id: i64,
) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        m.delete_fact(&id.to_string())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}

/// Changes a shade's description.
#[tauri::command]
pub async fn memory_edit_shade(
    state: State<'_, DesktopState>,
    id: i64,
    description: String,
) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        m.edit_shade(id, None, Some(&description))
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}

/// Deletes a shade.
#[tauri::command]
pub async fn memory_delete_shade(
    state: State<'_, DesktopState>,
    id: i64,
) -> Result<MemoryView, String> {
    state.with_memory(|_, m| m.delete_shade(id).map(|_| ()).map_err(|e| e.to_string()))?;
    view(&state)
}

/// Saves the user's own bio.
#[tauri::command]
pub async fn memory_edit_bio(
    state: State<'_, DesktopState>,
    first_person: String,
    third_person: String,
) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        m.add_bio(&first_person, &third_person, Author::User, &[])
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}

/// Forgets a source and everything derived from it.
#[tauri::command]
pub async fn memory_forget(state: State<'_, DesktopState>, id: i64) -> Result<MemoryView, String> {
    state.with_memory(|_, m| {
        m.forget(&id.to_string())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    view(&state)
}
