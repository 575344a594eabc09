//! Confirmations answered through the protocol: the runner waits on a request while a front
//! end (the desktop dialog) answers with `Op::Confirm`. No answer in time means no.

use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::Duration;

use deskhand_core::ports::{Confirmer, GateDecision, Resumer};

/// Waits for `Op::Confirm` for at most `timeout`.
#[derive(Debug)]
pub struct OpConfirmer {
    pending: Mutex<Option<Sender<bool>>>,
    timeout: Duration,
}

impl OpConfirmer {
    /// A confirmer that gives up (denies) after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            pending: Mutex::new(None),
            timeout,
        }
    }

    /// Delivers the answer to the request waiting now; false when none is waiting.
    pub fn answer(&self, allow: bool) -> bool {
        let sender = self.pending.lock().ok().and_then(|mut p| p.take());
        sender.is_some_and(|tx| tx.send(allow).is_ok())
    }
}

impl Confirmer for OpConfirmer {
    fn confirm(&self, _decision: &GateDecision, announce: &mut dyn FnMut()) -> bool {
        let (tx, rx) = channel();
        match self.pending.lock() {
            Ok(mut p) => *p = Some(tx),
            Err(_) => return false,
        }
        announce();
        let answer = rx.recv_timeout(self.timeout).unwrap_or(false);
        if let Ok(mut p) = self.pending.lock() {
            p.take();
        }
        answer
    }
}

/// Waits for `Op::Resume` after the user took over; stops when the run is cancelled.
#[derive(Debug)]
pub struct OpResumer {
    resumed: std::sync::atomic::AtomicBool,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl OpResumer {
    /// A resumer that gives up when `cancel` is set.
    pub fn new(cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self {
            resumed: std::sync::atomic::AtomicBool::new(false),
            cancel,
        }
    }

    /// Lets a paused run go on.
    pub fn resume(&self) {
        self.resumed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Resumer for OpResumer {
    fn wait_for_resume(&self, _reason: &str) -> bool {
        use std::sync::atomic::Ordering;
        self.resumed.store(false, Ordering::SeqCst);
        loop {
            if self.cancel.load(Ordering::SeqCst) {
                return false;
            }
            if self.resumed.swap(false, Ordering::SeqCst) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::ports::Verdict;
    use std::sync::Arc;

    fn decision() -> GateDecision {
        GateDecision {
            verdict: Verdict::Confirm,
            rule: "builtin:destructive-click".into(),
            reason: "Delete".into(),
            shown: "click \"Delete\"".into(),
        }
    }

    #[test]
    fn an_answer_reaches_the_waiting_request_and_silence_means_no() {
        let c = Arc::new(OpConfirmer::new(Duration::from_secs(5)));
        let answering = c.clone();
        let t = std::thread::spawn(move || {
            while !answering.answer(true) {
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        assert!(c.confirm(&decision(), &mut || {}));
        t.join().unwrap();
        assert!(!c.answer(true), "nobody is waiting any more");
        let quick = OpConfirmer::new(Duration::from_millis(20));
        assert!(!quick.confirm(&decision(), &mut || {}));
    }
}
