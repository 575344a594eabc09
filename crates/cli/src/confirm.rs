//! The terminal as the user's voice during a run: confirming risky actions and going on after
//! the user took over. One reader thread owns stdin, so a question that timed out cannot eat
//! the answer to the next one. End of input or silence means no.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use deskhand_core::ports::{Confirmer, GateDecision, Resumer};

pub struct Terminal {
    pub timeout: Duration,
    pub cancel: Arc<AtomicBool>,
    lines: OnceLock<Mutex<Receiver<String>>>,
}

impl Terminal {
    pub fn new(timeout: Duration, cancel: Arc<AtomicBool>) -> Self {
        Self {
            timeout,
            cancel,
            lines: OnceLock::new(),
        }
    }

    /// The next line typed, waiting at most `wait`; None on silence, end of input or cancel.
    fn next_line(&self, wait: Duration) -> Option<String> {
        let lines = self.lines.get_or_init(|| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            Mutex::new(rx)
        });
        let rx = lines.lock().ok()?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            if self.cancel.load(Ordering::SeqCst) {
                return None;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => return Some(line),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Terminal {
    /// Asks a yes/no question on the terminal; silence past the timeout or end of input is no.
    pub fn ask(&self, question: &str) -> bool {
        eprint!(
            "{question} [y/N] (no answer in {} s means no) ",
            self.timeout.as_secs()
        );
        let _ = std::io::stderr().flush();
        let answer = self.next_line(self.timeout).unwrap_or_default();
        matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
    }
}

impl Confirmer for Terminal {
    fn confirm(&self, d: &GateDecision, announce: &mut dyn FnMut()) -> bool {
        announce();
        eprintln!("deskhand wants to: {}", d.shown);
        eprintln!("  because: {} ({})", d.reason, d.rule);
        eprint!(
            "  allow? [y/N] (no answer in {} s means no) ",
            self.timeout.as_secs()
        );
        let _ = std::io::stderr().flush();
        let answer = self.next_line(self.timeout).unwrap_or_default();
        let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
        eprintln!("{}", if yes { "allowed" } else { "refused" });
        yes
    }
}

impl Resumer for Terminal {
    fn wait_for_resume(&self, reason: &str) -> bool {
        eprintln!(
            "paused: {reason}. Press Enter to go on; end input (ctrl+d) or the kill switch stops."
        );
        // A person may take a while; the kill switch or closing stdin ends the wait.
        self.next_line(Duration::from_secs(24 * 3600)).is_some()
    }
}
