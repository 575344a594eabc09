//! Confirmation at the terminal: the exact action is shown, and only "y" or "yes" typed in
//! time lets it run. End of input or silence means no.

use std::io::{BufRead, Write};
use std::sync::mpsc::channel;
use std::time::Duration;

use deskhand_core::ports::{Confirmer, GateDecision};

pub struct TerminalConfirmer {
    pub timeout: Duration,
}

impl Confirmer for TerminalConfirmer {
    fn confirm(&self, d: &GateDecision) -> bool {
        eprintln!("deskhand wants to: {}", d.shown);
        eprintln!("  because: {} ({})", d.reason, d.rule);
        eprint!("  allow? [y/N] (no answer in {} s means no) ", self.timeout.as_secs());
        let _ = std::io::stderr().flush();
        let (tx, rx) = channel();
        // The reader thread may outlive a timed-out question; it only ever sends one line.
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().lock().read_line(&mut line);
            let _ = tx.send(read.map(|_| line).unwrap_or_default());
        });
        let answer = rx.recv_timeout(self.timeout).unwrap_or_default();
        let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
        eprintln!("{}", if yes { "allowed" } else { "refused" });
        yes
    }
}
