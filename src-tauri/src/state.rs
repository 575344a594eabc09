//! The one Deskhand instance of the app, opened on first use.

use std::sync::{Arc, Mutex};

use deskhand_host::config::{Config, Overrides};
use deskhand_host::Deskhand;
use deskhand_memory::SqliteMemory;

/// Tauri managed state. Opening is lazy because it needs a display and the database, and a
/// failure must reach the UI as a message instead of stopping the app at start.
#[derive(Default)]
pub struct DesktopState {
    deskhand: Mutex<Option<Arc<Deskhand>>>,
    /// The Memory tab's own connection to the database (WAL lets it read and write while a
    /// run holds the host's), with the config it was opened from.
    memory: Mutex<Option<(Config, SqliteMemory)>>,
}

impl DesktopState {
    /// The instance, opening it now if this is the first use.
    pub fn deskhand(&self) -> Result<Arc<Deskhand>, String> {
        let mut slot = self
            .deskhand
            .lock()
            .map_err(|_| "state lock poisoned".to_string())?;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let config = Config::load(&Overrides::default()).map_err(|e| e.to_string())?;
        let d = Arc::new(Deskhand::open(config).map_err(|e| e.to_string())?);
        *slot = Some(d.clone());
        Ok(d)
    }

    /// The instance if it is already open; cancelling must not open one.
    pub fn opened(&self) -> Option<Arc<Deskhand>> {
        self.deskhand.lock().ok().and_then(|slot| slot.clone())
    }

    /// Runs `f` on the Memory tab's store (opened on first use; needs no display).
    pub fn with_memory<T>(
        &self,
        f: impl FnOnce(&Config, &mut SqliteMemory) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut slot = self
            .memory
            .lock()
            .map_err(|_| "memory lock poisoned".to_string())?;
        if slot.is_none() {
            let config = Config::load(&Overrides::default()).map_err(|e| e.to_string())?;
            let store = SqliteMemory::open(&config.database()).map_err(|e| e.to_string())?;
            *slot = Some((config, store));
        }
        let (config, store) = slot.as_mut().ok_or("the memory did not open")?;
        f(config, store)
    }
}
