//! The one pixel diff. For change-driven perception a frame is summarised by one hash per tile
//! (a [`FrameSignature`]), so the previous frame's pixels need not be kept; two signatures give
//! the changed rectangles in desktop coordinates and a cheap "unchanged" verdict. What an
//! action changed is the exact box of differing pixels ([`changed_region`]).

use crate::{Frame, Monitor, Rect};

/// Default tile edge in image pixels.
pub const DEFAULT_TILE: u32 = 32;

/// The tile hashes of one frame, with what is needed to compare it to another.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameSignature {
    monitor: Monitor,
    width: u32,
    height: u32,
    tile: u32,
    cols: u32,
    rows: u32,
    hashes: Vec<u64>,
}

const K: u64 = 0x517c_c1b7_2722_0a95;

#[inline(always)]
fn step(h: u64, w: u64) -> u64 {
    // Bijective in both `h` and `w` for the other fixed: one changed word always changes the
    // tile's hash; colliding multi-word changes are as likely as a random 64-bit match.
    (h.rotate_left(5) ^ w).wrapping_mul(K)
}

#[inline(always)]
fn finish(h: u64) -> u64 {
    let h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl FrameSignature {
    /// Hashes `frame` in tiles of `tile` x `tile` image pixels (a tile of 0 is taken as 1).
    /// A frame whose buffer is shorter than its size says is hashed as far as it goes.
    pub fn of(frame: &Frame, tile: u32) -> Self {
        let tile = tile.max(1);
        let (width, height) = (frame.width, frame.height);
        let cols = width.div_ceil(tile);
        let rows = height.div_ceil(tile);
        let mut hashes = Vec::with_capacity(cols as usize * rows as usize);
        let stride = width as usize * 4;
        let tile_bytes = tile as usize * 4;
        let mut acc = vec![0u64; cols as usize];
        for ty in 0..rows {
            for (c, a) in acc.iter_mut().enumerate() {
                *a = (u64::from(ty) << 32 | c as u64).wrapping_mul(K) ^ 0x9e37_79b9_7f4a_7c15;
            }
            let y0 = (ty * tile) as usize;
            let y1 = ((ty + 1) * tile).min(height) as usize;
            for y in y0..y1 {
                let Some(row) = frame.rgba.get(y * stride..(y + 1) * stride) else {
                    break;
                };
                for (a, part) in acc.iter_mut().zip(row.chunks(tile_bytes)) {
                    let mut h = *a;
                    let mut words = part.chunks_exact(8);
                    for w in &mut words {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(w);
                        h = step(h, u64::from_le_bytes(b));
                    }
                    for &byte in words.remainder() {
                        h = step(h, u64::from(byte) | 0x100);
                    }
                    *a = h;
                }
            }
            hashes.extend(acc.iter().map(|&h| finish(h)));
        }
        Self {
            monitor: frame.monitor.clone(),
            width,
            height,
            tile,
            cols,
            rows,
            hashes,
        }
    }

    /// The monitor the frame showed.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// Image size of the frame (width, height).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Tile edge in image pixels.
    pub fn tile(&self) -> u32 {
        self.tile
    }

    /// Number of tiles.
    pub fn tiles(&self) -> usize {
        self.hashes.len()
    }

    /// True when the two signatures describe frames that can be compared tile by tile (same
    /// monitor geometry, image size and tile size).
    pub fn comparable(&self, other: &FrameSignature) -> bool {
        self.width == other.width
            && self.height == other.height
            && self.tile == other.tile
            && self.monitor.index == other.monitor.index
            && self.monitor.bounds == other.monitor.bounds
            && self.monitor.scale == other.monitor.scale
    }

    /// Maps an image-pixel rectangle of this frame to desktop coordinates (rounded outwards).
    fn to_desktop(&self, x: u32, y: u32, w: u32, h: u32) -> Rect {
        let s = if self.monitor.scale > 0.0 {
            self.monitor.scale
        } else {
            1.0
        };
        let x0 = (f64::from(x) / s).floor();
        let y0 = (f64::from(y) / s).floor();
        let x1 = (f64::from(x + w) / s).ceil();
        let y1 = (f64::from(y + h) / s).ceil();
        Rect::new(
            self.monitor.bounds.x + x0 as i32,
            self.monitor.bounds.y + y0 as i32,
            (x1 - x0) as u32,
            (y1 - y0) as u32,
        )
    }
}

/// What changed between two frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// True when every tile hashed the same.
    pub unchanged: bool,
    /// True when the frames could not be compared tile by tile (first frame, different size,
    /// monitor or tile size): everything is to be treated as changed.
    pub everything: bool,
    /// Changed rectangles in desktop coordinates: adjacent changed tiles merged, clipped to the
    /// frame; disjoint. The whole monitor when `everything`.
    pub rects: Vec<Rect>,
    /// How many tiles changed.
    pub changed_tiles: usize,
    /// How many tiles the frame has.
    pub total_tiles: usize,
}

impl Change {
    /// Total changed area in desktop pixels.
    pub fn changed_area(&self) -> u64 {
        self.rects.iter().map(Rect::area).sum()
    }

    /// True when the change touches the desktop rectangle `r`.
    pub fn touches(&self, r: &Rect) -> bool {
        self.rects.iter().any(|c| c.intersection(r).is_some())
    }

    fn everything(after: &FrameSignature) -> Self {
        Change {
            unchanged: false,
            everything: true,
            rects: vec![after.to_desktop(0, 0, after.width, after.height)],
            changed_tiles: after.tiles(),
            total_tiles: after.tiles(),
        }
    }
}

/// Compares two signatures. Frames that cannot be compared tile by tile (see
/// [`FrameSignature::comparable`]) count as everything changed.
pub fn diff(before: &FrameSignature, after: &FrameSignature) -> Change {
    if !before.comparable(after) {
        return Change::everything(after);
    }
    let total_tiles = after.tiles();
    if before.hashes == after.hashes {
        return Change {
            unchanged: true,
            everything: false,
            rects: Vec::new(),
            changed_tiles: 0,
            total_tiles,
        };
    }
    let cols = after.cols as usize;
    let changed: Vec<bool> = before
        .hashes
        .iter()
        .zip(&after.hashes)
        .map(|(a, b)| a != b)
        .collect();
    let changed_tiles = changed.iter().filter(|c| **c).count();
    // Runs of changed tiles per tile row; a run extends the open rectangle above it when it has
    // exactly the same columns, otherwise it opens a new one.
    // open: (col0, col1 exclusive, row0, rows)
    let mut open: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut done: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (r, row) in changed.chunks(cols.max(1)).enumerate() {
        let mut runs = Vec::new();
        let mut c = 0;
        while c < row.len() {
            if row[c] {
                let start = c;
                while c < row.len() && row[c] {
                    c += 1;
                }
                runs.push((start, c));
            } else {
                c += 1;
            }
        }
        let mut next = Vec::with_capacity(runs.len());
        for (c0, c1) in runs {
            if let Some(i) = open.iter().position(|o| o.0 == c0 && o.1 == c1) {
                let mut o = open.swap_remove(i);
                o.3 += 1;
                next.push(o);
            } else {
                next.push((c0, c1, r, 1));
            }
        }
        done.append(&mut open);
        open = next;
    }
    done.append(&mut open);
    done.sort_by_key(|&(c0, _, r0, _)| (r0, c0));
    let t = after.tile;
    let rects = done
        .into_iter()
        .map(|(c0, c1, r0, n)| {
            let x = c0 as u32 * t;
            let y = r0 as u32 * t;
            let w = (c1 as u32 * t).min(after.width) - x;
            let h = ((r0 + n) as u32 * t).min(after.height) - y;
            after.to_desktop(x, y, w, h)
        })
        .collect();
    Change {
        unchanged: false,
        everything: false,
        rects,
        changed_tiles,
        total_tiles,
    }
}

/// Compares two frames directly (hashes both); see [`diff`].
pub fn diff_frames(before: &Frame, after: &Frame, tile: u32) -> Change {
    diff(
        &FrameSignature::of(before, tile),
        &FrameSignature::of(after, tile),
    )
}

/// Keeps the last frame's signature and reports what each new frame changed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FrameDiff {
    tile: u32,
    last: Option<FrameSignature>,
}

impl Default for FrameDiff {
    fn default() -> Self {
        Self::new(DEFAULT_TILE)
    }
}

impl FrameDiff {
    /// A differ with tiles of `tile` x `tile` image pixels (0 is taken as 1).
    pub fn new(tile: u32) -> Self {
        Self {
            tile: tile.max(1),
            last: None,
        }
    }

    /// Tile edge in image pixels.
    pub fn tile(&self) -> u32 {
        self.tile
    }

    /// Compares `frame` with the previous one and remembers it; the first frame is reported as
    /// everything changed.
    pub fn update(&mut self, frame: &Frame) -> Change {
        let sig = FrameSignature::of(frame, self.tile);
        let change = match &self.last {
            Some(last) => diff(last, &sig),
            None => Change::everything(&sig),
        };
        self.last = Some(sig);
        change
    }

    /// The signature of the last frame seen.
    pub fn last(&self) -> Option<&FrameSignature> {
        self.last.as_ref()
    }

    /// Forgets the last frame; the next one counts as everything changed.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// The bounding box (desktop coordinates) of every pixel that differs between two captures
/// of the same monitors; `None` when nothing changed. Monitors that changed size count as
/// changed in full.
pub fn changed_region(before: &[Frame], after: &[Frame]) -> Option<Rect> {
    let mut union: Option<Rect> = None;
    let mut add = |r: Rect| {
        union = Some(match union {
            None => r,
            Some(u) => {
                let x0 = u.x.min(r.x);
                let y0 = u.y.min(r.y);
                let x1 = u.right().max(r.right());
                let y1 = u.bottom().max(r.bottom());
                Rect::new(
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
            add(Rect::new(
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
fn frame_diff(a: &Frame, b: &Frame) -> Option<Rect> {
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
        Rect::new(
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

    fn frame(w: u32, h: u32, x: i32) -> Frame {
        Frame {
            monitor: Monitor {
                index: 0,
                name: "m".into(),
                bounds: Rect::new(x, 0, w, h),
                scale: 1.0,
                primary: false,
            },
            width: w,
            height: h,
            rgba: vec![200; (w * h * 4) as usize],
        }
    }

    fn paint(f: &mut Frame, x: u32, y: u32) {
        let i = ((y * f.width + x) * 4) as usize;
        f.rgba[i] = 0;
    }

    #[test]
    fn single_pixel_changes_are_found_and_merged_into_rectangles() {
        let a = frame(100, 70, 1920);
        let mut b = a.clone();
        assert!(diff_frames(&a, &b, 32).unchanged);
        paint(&mut b, 99, 69); // the partial corner tile
        let c = diff_frames(&a, &b, 32);
        assert!(!c.unchanged && !c.everything);
        assert_eq!(c.rects, vec![Rect::new(1920 + 96, 64, 4, 6)]);
        // Two vertically adjacent tiles with the same span merge; a lone tile stays apart.
        paint(&mut b, 0, 0);
        paint(&mut b, 5, 40);
        let c = diff_frames(&a, &b, 32);
        assert_eq!(
            c.rects,
            vec![Rect::new(1920, 0, 32, 64), Rect::new(1920 + 96, 64, 4, 6)]
        );
        assert_eq!(c.changed_tiles, 3);
        assert_eq!(c.total_tiles, 4 * 3);
    }

    #[test]
    fn other_size_or_monitor_is_everything_and_bad_frames_do_not_panic() {
        let a = frame(64, 64, 0);
        let c = diff_frames(&a, &frame(64, 32, 0), 32);
        assert!(c.everything && !c.unchanged);
        assert_eq!(c.rects, vec![Rect::new(0, 0, 64, 32)]);
        assert!(diff_frames(&a, &frame(64, 64, 10), 32).everything);
        let empty = frame(0, 0, 0);
        assert!(diff_frames(&empty, &empty, 32).unchanged);
        let mut short = frame(8, 8, 0);
        short.rgba.truncate(10);
        let _ = diff_frames(&short, &frame(8, 8, 0), 0);
        let mut d = FrameDiff::new(16);
        assert!(d.update(&a).everything);
        assert!(d.update(&a).unchanged);
    }
}
