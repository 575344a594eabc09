//! Versioned schema migrations, applied in one transaction each; `user_version` holds the
//! version reached.

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry; append.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs and steps.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        status TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        summary TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        request TEXT NOT NULL,
        action_json TEXT,
        point_x REAL,
        point_y REAL,
        target TEXT,
        ok INTEGER NOT NULL,
        error TEXT,
        screenshot TEXT,
        perceive_ms INTEGER NOT NULL,
        act_ms INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, idx)
    );
    CREATE INDEX runs_by_start ON runs(started_ms);",
    // 2: what each action did (changed region, settle time).
    "ALTER TABLE steps ADD COLUMN effect_json TEXT;",
    // 3: the policy's decision for each action (allowed ones too).
    "ALTER TABLE steps ADD COLUMN policy_json TEXT;",
    // 4: what an agent step adds (subgoal, thought, outcome, calls, tokens, module times).
    "ALTER TABLE steps ADD COLUMN agent_json TEXT;",
    // 5: every model call of a run, in order.
    "CREATE TABLE model_calls (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        step INTEGER NOT NULL,
        role TEXT NOT NULL,
        prompt TEXT NOT NULL,
        reply TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        ms INTEGER NOT NULL,
        error TEXT,
        PRIMARY KEY (run_id, seq)
    );",
    // 6: tips (lessons), searchable by words.
    "CREATE TABLE tips (
        id INTEGER PRIMARY KEY,
        app TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        norm_text TEXT NOT NULL,
        source_run INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX tips_by_app ON tips(app, norm_text);
    CREATE VIRTUAL TABLE tips_fts USING fts5(
        text, content='tips', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER tips_ai AFTER INSERT ON tips BEGIN
        INSERT INTO tips_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER tips_ad AFTER DELETE ON tips BEGIN
        INSERT INTO tips_fts(tips_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER tips_au AFTER UPDATE OF text ON tips BEGIN
        INSERT INTO tips_fts(tips_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO tips_fts(rowid, text) VALUES (new.id, new.text);
    END;",
    // 7: shortcuts, unique by app and name, searchable by name, description and precondition.
    "CREATE TABLE shortcuts (
        id INTEGER PRIMARY KEY,
        app TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        parameters_json TEXT NOT NULL,
        precondition TEXT NOT NULL DEFAULT '',
        requires TEXT,
        steps_json TEXT NOT NULL,
        source_run INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        successes INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        UNIQUE (app, name)
    );
    CREATE VIRTUAL TABLE shortcuts_fts USING fts5(
        name, description, precondition, content='shortcuts', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER shortcuts_ai AFTER INSERT ON shortcuts BEGIN
        INSERT INTO shortcuts_fts(rowid, name, description, precondition)
            VALUES (new.id, new.name, new.description, new.precondition);
    END;
    CREATE TRIGGER shortcuts_ad AFTER DELETE ON shortcuts BEGIN
        INSERT INTO shortcuts_fts(shortcuts_fts, rowid, name, description, precondition)
            VALUES ('delete', old.id, old.name, old.description, old.precondition);
    END;
    CREATE TRIGGER shortcuts_au AFTER UPDATE OF name, description, precondition ON shortcuts BEGIN
        INSERT INTO shortcuts_fts(shortcuts_fts, rowid, name, description, precondition)
            VALUES ('delete', old.id, old.name, old.description, old.precondition);
        INSERT INTO shortcuts_fts(rowid, name, description, precondition)
            VALUES (new.id, new.name, new.description, new.precondition);
    END;",
    // 8: who owns a running run (pid and the process's start time), so that only runs whose
    // process is gone are marked interrupted.
    "ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
     ALTER TABLE runs ADD COLUMN owner_start INTEGER;",
    // 9: the user's own memory (level 0): sources, their chunks (full-text indexed) and the
    // vectors of chunk texts, keyed by embedding model and content hash.
    "CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        tag TEXT,
        hash TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        added_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX chunks_source ON chunks(source_id);
    CREATE INDEX chunks_hash ON chunks(hash);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        heading, text, content='chunks', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END;
    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
            VALUES ('delete', old.id, old.heading, old.text);
    END;
    CREATE TABLE vectors (
        model TEXT NOT NULL,
        hash TEXT NOT NULL,
        dims INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, hash)
    ) WITHOUT ROWID;",
    // 10: which items of the user's memory each model call's prompt held.
    "ALTER TABLE model_calls ADD COLUMN memory_json TEXT;",
    // 11: what the memory says about the user (level 1): each source's digest, the bio's
    // versions, shades with their supporting chunks and facts (named by source and chunk
    // hash, so they outlive a re-added file whose chunk is unchanged); deleted shades and
    // facts stay as tombstones so that a regeneration does not bring them back. And the
    // vectors of short items (facts, shades, tips, shortcuts), keyed by kind and id.
    "CREATE TABLE digests (
        source_id INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        summary TEXT NOT NULL,
        keywords_json TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE bios (
        version INTEGER PRIMARY KEY,
        first_person TEXT NOT NULL,
        third_person TEXT NOT NULL,
        author TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE bio_sources (
        version INTEGER NOT NULL REFERENCES bios(version) ON DELETE CASCADE,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (version, source_id)
    ) WITHOUT ROWID;
    CREATE TABLE shades (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        norm_name TEXT NOT NULL,
        description TEXT NOT NULL,
        confidence REAL NOT NULL,
        author TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX shades_by_name ON shades(norm_name);
    CREATE TABLE shade_support (
        shade_id INTEGER NOT NULL REFERENCES shades(id) ON DELETE CASCADE,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        PRIMARY KEY (shade_id, source_id, hash)
    ) WITHOUT ROWID;
    CREATE TABLE facts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        norm_key TEXT NOT NULL UNIQUE,
        value TEXT NOT NULL,
        source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
        hash TEXT,
        confidence REAL NOT NULL,
        author TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE item_vectors (
        model TEXT NOT NULL,
        kind TEXT NOT NULL,
        item INTEGER NOT NULL,
        hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, kind, item)
    ) WITHOUT ROWID;",
    // 12: the Steward's graphs (one row per node and revision) and its guideline memory.
    "CREATE TABLE run_nodes (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        revision INTEGER NOT NULL,
        node TEXT NOT NULL,
        position INTEGER NOT NULL,
        node_json TEXT NOT NULL,
        state TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        reason TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, revision, node)
    ) WITHOUT ROWID;
    CREATE TABLE guidelines (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        norm_task TEXT NOT NULL UNIQUE,
        steps TEXT NOT NULL,
        apps_json TEXT NOT NULL,
        source_run INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE guidelines_fts USING fts5(
        task, steps, content='guidelines', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER guidelines_ai AFTER INSERT ON guidelines BEGIN
        INSERT INTO guidelines_fts(rowid, task, steps) VALUES (new.id, new.task, new.steps);
    END;
    CREATE TRIGGER guidelines_ad AFTER DELETE ON guidelines BEGIN
        INSERT INTO guidelines_fts(guidelines_fts, rowid, task, steps)
            VALUES ('delete', old.id, old.task, old.steps);
    END;
    CREATE TRIGGER guidelines_au AFTER UPDATE OF task, steps ON guidelines BEGIN
        INSERT INTO guidelines_fts(guidelines_fts, rowid, task, steps)
            VALUES ('delete', old.id, old.task, old.steps);
        INSERT INTO guidelines_fts(rowid, task, steps) VALUES (new.id, new.task, new.steps);
    END;",
    // 13: prompt tokens read from the provider's prompt cache, per call.
    "ALTER TABLE model_calls ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;",
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, rusqlite::Error> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(current)
}
