//! Direct RGBA drawing on a frame buffer: rectangles, outlines, text, point markers, and an
//! area-averaging downscale. Everything clips to the image; nothing allocates per pixel.

use deskhand_core::{Frame, Rect};

use super::font::{glyph, ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH};

/// An RGBA colour.
pub type Rgba = [u8; 4];

/// A mutable view of an RGBA8 image.
pub(crate) struct Canvas<'a> {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rgba: &'a mut [u8],
}

impl<'a> Canvas<'a> {
    /// A canvas over a frame whose buffer matches its size (checked by the caller).
    pub(crate) fn new(frame: &'a mut Frame) -> Self {
        Self {
            width: frame.width,
            height: frame.height,
            rgba: &mut frame.rgba,
        }
    }

    /// The part of `r` inside the image, as (x0, y0, x1, y1) with exclusive ends.
    fn clip(&self, r: Rect) -> Option<(usize, usize, usize, usize)> {
        let c = r.intersection(&Rect::new(0, 0, self.width, self.height))?;
        Some((
            c.x as usize,
            c.y as usize,
            c.right() as usize,
            c.bottom() as usize,
        ))
    }

    /// Fills a rectangle (clipped) with a colour.
    pub(crate) fn fill(&mut self, r: Rect, color: Rgba) {
        let Some((x0, y0, x1, y1)) = self.clip(r) else {
            return;
        };
        let stride = self.width as usize * 4;
        for y in y0..y1 {
            let row = &mut self.rgba[y * stride + x0 * 4..y * stride + x1 * 4];
            for px in row.chunks_exact_mut(4) {
                px.copy_from_slice(&color);
            }
        }
    }

    /// Draws the outline of `r`, `width` pixels thick, inside `r` (so a box never grows past
    /// the element it marks).
    pub(crate) fn stroke(&mut self, r: Rect, width: u32, color: Rgba) {
        if r.is_empty() {
            return;
        }
        let t = width.max(1).min(r.width).min(r.height);
        let inner_h = r.height.saturating_sub(2 * t);
        self.fill(Rect::new(r.x, r.y, r.width, t), color);
        self.fill(
            Rect::new(r.x, r.y + (r.height - t) as i32, r.width, t),
            color,
        );
        self.fill(Rect::new(r.x, r.y + t as i32, t, inner_h), color);
        self.fill(
            Rect::new(r.x + (r.width - t) as i32, r.y + t as i32, t, inner_h),
            color,
        );
    }

    /// Writes `text` with its top-left corner at (x, y), each font cell `scale` pixels wide.
    pub(crate) fn text(&mut self, x: i32, y: i32, text: &str, scale: u32, color: Rgba) {
        let s = scale.max(1);
        for (i, c) in text.chars().enumerate() {
            let gx = x + (i as u32 * ADVANCE * s) as i32;
            for (row, bits) in glyph(c).iter().enumerate() {
                for col in 0..GLYPH_WIDTH {
                    if bits & (1 << (GLYPH_WIDTH - 1 - col)) != 0 {
                        let px = gx + (col * s) as i32;
                        let py = y + (row as u32 * s) as i32;
                        self.fill(Rect::new(px, py, s, s), color);
                    }
                }
            }
        }
    }

    /// A filled disc of `radius` around (cx, cy).
    pub(crate) fn disc(&mut self, cx: i32, cy: i32, radius: i32, color: Rgba) {
        let r2 = radius * radius + radius; // rounder edges than r*r for small radii
        for dy in -radius..=radius {
            let half = (0..=radius)
                .rev()
                .find(|dx| dx * dx + dy * dy <= r2)
                .unwrap_or(0);
            self.fill(
                Rect::new(cx - half, cy + dy, (2 * half + 1) as u32, 1),
                color,
            );
        }
    }

    /// A point marker: a disc of `radius` with a white ring, centred on (cx, cy), and with
    /// `arms` thin crosshair arms that start clear of the disc (so they do not hide what is
    /// under the point); the centre pixel always has `color`.
    pub(crate) fn point_marker(&mut self, cx: i32, cy: i32, radius: i32, arms: bool, color: Rgba) {
        let r = radius.max(1);
        let white = [255, 255, 255, 255];
        if arms {
            let (gap, len) = (r + 4, 3 * r);
            for (x, y, w, h) in [
                (cx - gap - len, cy, len, 1),
                (cx + gap + 1, cy, len, 1),
                (cx, cy - gap - len, 1, len),
                (cx, cy + gap + 1, 1, len),
            ] {
                self.fill(Rect::new(x - 1, y - 1, w as u32 + 2, h as u32 + 2), white);
                self.fill(Rect::new(x, y, w as u32, h as u32), color);
            }
        }
        self.disc(cx, cy, r + 1, white);
        self.disc(cx, cy, r, color);
    }
}

/// Height in pixels of one line of text at `scale`.
pub(crate) fn text_height(scale: u32) -> u32 {
    GLYPH_HEIGHT * scale.max(1)
}

/// Black or white, whichever reads better on `background`.
pub(crate) fn ink_for(background: Rgba) -> Rgba {
    let [r, g, b, _] = background.map(u32::from);
    if 299 * r + 587 * g + 114 * b > 150_000 {
        [0, 0, 0, 255]
    } else {
        [255, 255, 255, 255]
    }
}

/// Source index ranges each output index averages over when `from` pixels shrink to `to`.
fn spans(from: u32, to: u32) -> Vec<(usize, usize)> {
    (0..to as u64)
        .map(|i| {
            let a = (i * u64::from(from) / u64::from(to)) as usize;
            let b = (((i + 1) * u64::from(from)).div_ceil(u64::from(to)) as usize).max(a + 1);
            (a, b.min(from as usize))
        })
        .collect()
}

/// The most a frame is shrunk in one dimension: keeps the column sums of [`downscale`] within
/// `u16` (a source span of at most 257 rows of 255).
pub(crate) const MAX_SHRINK: u32 = 256;

/// Shrinks a frame to `width` x `height` (at most [`MAX_SHRINK`] times smaller) by averaging
/// the source pixels under each output pixel (a box filter: sharp enough for text, no
/// ringing). The monitor is kept and its `scale` set to the new image pixels per desktop
/// pixel.
pub(crate) fn downscale(frame: &Frame, width: u32, height: u32) -> Frame {
    let (w, h) = (width.max(1), height.max(1));
    let xs = spans(frame.width, w);
    let ys = spans(frame.height, h);
    let src_stride = frame.width as usize * 4;
    let out_stride = w as usize * 4;
    // Per output row: sum the source rows under it (a tight loop over bytes), then average
    // horizontally; dividing by a table of fixed-point reciprocals, not per channel.
    let longest = |s: &[(usize, usize)]| s.iter().map(|(a, b)| b - a).max().unwrap_or(1);
    let recips: Vec<u64> = (0..=(longest(&xs) * longest(&ys)) as u64)
        .map(|n| (1u64 << 24) / n.max(1))
        .collect();
    let mut columns = vec![0u16; src_stride];
    let mut out = vec![0u8; out_stride * h as usize];
    for (oy, &(y0, y1)) in ys.iter().enumerate() {
        columns.fill(0);
        for y in y0..y1 {
            let row = &frame.rgba[y * src_stride..(y + 1) * src_stride];
            for (c, &b) in columns.iter_mut().zip(row) {
                *c += u16::from(b);
            }
        }
        let out_row = &mut out[oy * out_stride..(oy + 1) * out_stride];
        for (px, &(x0, x1)) in out_row.chunks_exact_mut(4).zip(&xs) {
            let mut sum = [0u32; 4];
            for p in columns[x0 * 4..x1 * 4].chunks_exact(4) {
                sum[0] += u32::from(p[0]);
                sum[1] += u32::from(p[1]);
                sum[2] += u32::from(p[2]);
                sum[3] += u32::from(p[3]);
            }
            let recip = recips[(x1 - x0) * (y1 - y0)];
            for (o, v) in px.iter_mut().zip(sum) {
                *o = ((u64::from(v) * recip + (1 << 23)) >> 24) as u8;
            }
        }
    }
    let mut monitor = frame.monitor.clone();
    monitor.scale = f64::from(w) / f64::from(monitor.bounds.width.max(1));
    Frame {
        monitor,
        width: w,
        height: h,
        rgba: out,
    }
}
