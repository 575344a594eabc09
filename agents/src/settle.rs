//! Waiting until the screen stops changing after an action, instead of sleeping.

use std::time::{Duration, Instant};

use deskhand_core::ports::Screen;
use deskhand_core::{Frame, PortError};

/// Bounds for one settle wait.
#[derive(Debug, Clone, Copy)]
pub struct SettlePolicy {
    /// Always wait at least this long (apps react after the event arrives).
    pub min: Duration,
    /// Never wait longer than this.
    pub max: Duration,
    /// How many consecutive identical frames count as settled.
    pub stable_frames: u32,
}

impl Default for SettlePolicy {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(40),
            max: Duration::from_millis(2_000),
            stable_frames: 2,
        }
    }
}

/// What a settle wait saw.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The last frames captured (the settled screen).
    pub frames: Vec<Frame>,
    /// How long it took.
    pub elapsed: Duration,
    /// False when `max` ran out while the screen was still changing.
    pub stable: bool,
}

/// Captures until `stable_frames` consecutive captures are identical, or `max` passes.
pub fn wait_for_settle(screen: &dyn Screen, policy: SettlePolicy) -> Result<Settled, PortError> {
    let start = Instant::now();
    std::thread::sleep(policy.min);
    let mut last = screen.capture_all()?;
    let mut same = 1;
    loop {
        if same >= policy.stable_frames {
            return Ok(Settled {
                frames: last,
                elapsed: start.elapsed(),
                stable: true,
            });
        }
        if start.elapsed() >= policy.max {
            return Ok(Settled {
                frames: last,
                elapsed: start.elapsed(),
                stable: false,
            });
        }
        std::thread::sleep(Duration::from_millis(15));
        let next = screen.capture_all()?;
        if next == last {
            same += 1;
        } else {
            same = 1;
            last = next;
        }
    }
}
