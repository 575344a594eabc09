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

/// The bounding box (desktop coordinates) of every pixel that differs between two captures
/// of the same monitors; `None` when nothing changed. Monitors that changed size count as
/// changed in full.
pub fn changed_region(before: &[Frame], after: &[Frame]) -> Option<deskhand_core::Rect> {
    let mut union: Option<deskhand_core::Rect> = None;
    let mut add = |r: deskhand_core::Rect| {
        union = Some(match union {
            None => r,
            Some(u) => {
                let x0 = u.x.min(r.x);
                let y0 = u.y.min(r.y);
                let x1 = u.right().max(r.right());
                let y1 = u.bottom().max(r.bottom());
                deskhand_core::Rect::new(
                    x0,
                    y0,
                    (x1 - i64::from(x0)) as u32,
                    (y1 - i64::from(y0)) as u32,
                )
            }
        });
    };
    for a in after {
        let Some(b) = before.iter().find(|b| b.monitor.index == a.monitor.index) else {
            add(a.monitor.bounds);
            continue;
        };
        if b.width != a.width || b.height != a.height {
            add(a.monitor.bounds);
            continue;
        }
        if let Some(local) = frame_diff(b, a) {
            // Physical pixels back to logical desktop coordinates.
            let s = a.monitor.scale.max(f64::EPSILON);
            add(deskhand_core::Rect::new(
                a.monitor.bounds.x + (f64::from(local.x) / s).floor() as i32,
                a.monitor.bounds.y + (f64::from(local.y) / s).floor() as i32,
                (f64::from(local.width) / s).ceil() as u32,
                (f64::from(local.height) / s).ceil() as u32,
            ));
        }
    }
    union
}

/// Bounding box of differing pixels between two same-sized frames, in image pixels.
fn frame_diff(a: &Frame, b: &Frame) -> Option<deskhand_core::Rect> {
    let row = a.width as usize * 4;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
    for (y, (ra, rb)) in a
        .rgba
        .chunks_exact(row)
        .zip(b.rgba.chunks_exact(row))
        .enumerate()
    {
        if ra == rb {
            continue;
        }
        let first = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .position(|(p, q)| p != q);
        let last = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .rposition(|(p, q)| p != q);
        if let (Some(f), Some(l)) = (first, last) {
            x0 = x0.min(f);
            x1 = x1.max(l);
            y0 = y0.min(y);
            y1 = y;
        }
    }
    (x0 != usize::MAX).then(|| {
        deskhand_core::Rect::new(
            x0 as i32,
            y0 as i32,
            (x1 - x0 + 1) as u32,
            (y1 - y0 + 1) as u32,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{Monitor, Rect};

    fn frame(index: usize, x: i32, fill: impl Fn(u32, u32) -> u8) -> Frame {
        let (w, h) = (8u32, 6u32);
        let rgba = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| [fill(x, y), 0, 0, 255])
            .collect();
        Frame {
            monitor: Monitor {
                index,
                name: "m".into(),
                bounds: Rect::new(x, 0, w, h),
                scale: 1.0,
                primary: false,
            },
            width: w,
            height: h,
            rgba,
        }
    }

    #[test]
    fn changed_region_is_the_box_of_changed_pixels_in_desktop_coordinates() {
        let before = vec![frame(0, 0, |_, _| 0), frame(1, 8, |_, _| 0)];
        assert_eq!(changed_region(&before, &before), None);
        let after = vec![
            frame(0, 0, |_, _| 0),
            frame(1, 8, |x, y| u8::from((2..5).contains(&x) && y == 3)),
        ];
        assert_eq!(
            changed_region(&before, &after),
            Some(Rect::new(10, 3, 3, 1))
        );
        let both = vec![
            frame(0, 0, |x, y| u8::from(x == 0 && y == 0)),
            after[1].clone(),
        ];
        assert_eq!(changed_region(&before, &both), Some(Rect::new(0, 0, 13, 4)));
    }
}
