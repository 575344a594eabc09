//! The writer the SIGKILL test kills: records steps and model calls into the database named
//! by DESKHAND_MEMORY_KILL_DB as fast as it can, printing "recorded N" after each step, until
//! it is killed (bounded, in case nobody does).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use deskhand_core::experience::Experience;
use deskhand_core::ports::MemoryStore;
use deskhand_memory::SqliteMemory;

#[allow(dead_code)]
#[path = "../tests/suite/records.rs"]
mod records;

fn main() {
    let Some(path) = std::env::var_os(records::KILL_DB_ENV) else {
        eprintln!("set {} to the database to write", records::KILL_DB_ENV);
        std::process::exit(2);
    };
    let mut m = SqliteMemory::open(std::path::Path::new(&path)).unwrap();
    let run = m.start_run("killed mid-run", 1).unwrap();
    for i in 0..200_000 {
        m.record_step(run, &records::agent_step(i)).unwrap();
        for role in records::KILL_ROLES {
            m.record_call(run, &records::call(i, role)).unwrap();
        }
        println!("recorded {i}");
    }
}
