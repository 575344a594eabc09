//! One geometry model: logical desktop coordinates (the X root window) <-> monitor <->
//! screenshot pixels (possibly resized for a model) <-> normalised [0,1].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A point in some coordinate space (which one is stated by the context that holds it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

impl Point {
    /// Creates a point.
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}

/// A width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// An axis-aligned rectangle in integer desktop pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width; a rectangle with zero width or height is empty.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// Creates a rectangle.
    pub fn new(x: i32, y: i32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// True when the rectangle covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Right edge (exclusive).
    pub fn right(&self) -> i64 {
        i64::from(self.x) + i64::from(self.width)
    }

    /// Bottom edge (exclusive).
    pub fn bottom(&self) -> i64 {
        i64::from(self.y) + i64::from(self.height)
    }

    /// The centre of the rectangle.
    pub fn center(&self) -> Point {
        Point::new(
            f64::from(self.x) + f64::from(self.width) / 2.0,
            f64::from(self.y) + f64::from(self.height) / 2.0,
        )
    }

    /// True when the point lies inside (left/top inclusive, right/bottom exclusive).
    pub fn contains(&self, p: Point) -> bool {
        p.x >= f64::from(self.x)
            && p.y >= f64::from(self.y)
            && p.x < self.right() as f64
            && p.y < self.bottom() as f64
    }

    /// The overlap of two rectangles, if any.
    pub fn intersection(&self, other: &Rect) -> Option<Rect> {
        let x0 = i64::from(self.x).max(i64::from(other.x));
        let y0 = i64::from(self.y).max(i64::from(other.y));
        let x1 = self.right().min(other.right());
        let y1 = self.bottom().min(other.bottom());
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        Some(Rect::new(
            x0 as i32,
            y0 as i32,
            (x1 - x0) as u32,
            (y1 - y0) as u32,
        ))
    }

    /// Area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// True when `other` lies entirely inside this rectangle.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// The smallest rectangle covering both.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let x0 = self.x.min(other.x);
        let y0 = self.y.min(other.y);
        let x1 = self.right().max(other.right());
        let y1 = self.bottom().max(other.bottom());
        Rect::new(
            x0,
            y0,
            (x1 - i64::from(x0)) as u32,
            (y1 - i64::from(y0)) as u32,
        )
    }

    /// Intersection over union in [0,1]; 0 when either is empty.
    pub fn iou(&self, other: &Rect) -> f64 {
        let inter = self.intersection(other).map_or(0, |r| r.area());
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f64 / union as f64
        }
    }

    /// The share of this rectangle's area that `other` covers, in [0,1].
    pub fn covered_by(&self, other: &Rect) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.intersection(other).map_or(0, |r| r.area()) as f64 / self.area() as f64
    }

    /// Distance from the point to the rectangle (0 inside).
    pub fn distance_to(&self, p: Point) -> f64 {
        let dx = (f64::from(self.x) - p.x)
            .max(p.x - self.right() as f64)
            .max(0.0);
        let dy = (f64::from(self.y) - p.y)
            .max(p.y - self.bottom() as f64)
            .max(0.0);
        (dx * dx + dy * dy).sqrt()
    }
}

/// One monitor: where it sits on the desktop and its scale factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Monitor {
    /// Stable index in the order the display server reports monitors.
    pub index: usize,
    /// Output name (e.g. "screen" under Xvfb, "DP-1" on hardware).
    pub name: String,
    /// Bounds in logical desktop coordinates.
    pub bounds: Rect,
    /// Physical pixels per logical pixel.
    pub scale: f64,
    /// Whether the display server calls it primary (Xvfb reports none).
    pub primary: bool,
}

/// The coordinate space a point is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", tag = "space")]
pub enum CoordSpace {
    /// Logical desktop coordinates of the X root window.
    #[default]
    Desktop,
    /// Pixels of a screenshot of the given size taken of the given monitor, possibly
    /// resized (e.g. downscaled before it was sent to a model).
    Screenshot {
        /// Monitor the screenshot shows.
        monitor: usize,
        /// Width of the image the point refers to.
        width: u32,
        /// Height of the image the point refers to.
        height: u32,
    },
    /// [0,1] x [0,1] over the given monitor.
    Normalized {
        /// Monitor the coordinates are relative to.
        monitor: usize,
    },
}

/// A captured image of one monitor, RGBA8 row-major.
#[derive(Clone, PartialEq)]
pub struct Frame {
    /// The monitor the frame shows.
    pub monitor: Monitor,
    /// Image width in physical pixels.
    pub width: u32,
    /// Image height in physical pixels.
    pub height: u32,
    /// RGBA8 pixels, `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("monitor", &self.monitor.index)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// The RGBA value at an image pixel, if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.rgba.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// Copies out a region given in desktop coordinates, clipped to the frame.
    pub fn crop_desktop(&self, region: Rect) -> Option<Frame> {
        let local = Rect::new(
            ((f64::from(region.x - self.monitor.bounds.x)) * self.monitor.scale).round() as i32,
            ((f64::from(region.y - self.monitor.bounds.y)) * self.monitor.scale).round() as i32,
            (f64::from(region.width) * self.monitor.scale).round() as u32,
            (f64::from(region.height) * self.monitor.scale).round() as u32,
        );
        let clip = local.intersection(&Rect::new(0, 0, self.width, self.height))?;
        let mut rgba = Vec::with_capacity(clip.area() as usize * 4);
        for row in clip.y..clip.y + clip.height as i32 {
            let start = (row as usize * self.width as usize + clip.x as usize) * 4;
            rgba.extend_from_slice(self.rgba.get(start..start + clip.width as usize * 4)?);
        }
        Some(Frame {
            monitor: self.monitor.clone(),
            width: clip.width,
            height: clip.height,
            rgba,
        })
    }
}

/// Errors from mapping a point between spaces.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// The point refers to a monitor that is not connected.
    #[error("monitor {0} does not exist (connected monitors: {1})")]
    NoSuchMonitor(usize, usize),
    /// The point lies outside every monitor.
    #[error("point ({x:.1}, {y:.1}) lies outside every monitor of the desktop")]
    OffScreen {
        /// Desktop x.
        x: f64,
        /// Desktop y.
        y: f64,
    },
    /// The point or the space is malformed (NaN, zero-sized screenshot, ...).
    #[error("invalid coordinates: {0}")]
    Invalid(String),
}

/// Maps a point in `space` to logical desktop coordinates, checking that it lands on a monitor.
/// This is the single place where coordinates from any source become desktop coordinates.
pub fn to_desktop(
    p: Point,
    space: CoordSpace,
    monitors: &[Monitor],
) -> Result<Point, GeometryError> {
    if !p.x.is_finite() || !p.y.is_finite() {
        return Err(GeometryError::Invalid(format!(
            "({}, {}) is not a finite point",
            p.x, p.y
        )));
    }
    let monitor_of = |index: usize| {
        monitors
            .iter()
            .find(|m| m.index == index)
            .ok_or(GeometryError::NoSuchMonitor(index, monitors.len()))
    };
    let desktop = match space {
        CoordSpace::Desktop => p,
        CoordSpace::Screenshot {
            monitor,
            width,
            height,
        } => {
            if width == 0 || height == 0 {
                return Err(GeometryError::Invalid(format!(
                    "screenshot size {width}x{height} is empty"
                )));
            }
            let m = monitor_of(monitor)?;
            Point::new(
                f64::from(m.bounds.x) + p.x * f64::from(m.bounds.width) / f64::from(width),
                f64::from(m.bounds.y) + p.y * f64::from(m.bounds.height) / f64::from(height),
            )
        }
        CoordSpace::Normalized { monitor } => {
            if !(0.0..=1.0).contains(&p.x) || !(0.0..=1.0).contains(&p.y) {
                return Err(GeometryError::Invalid(format!(
                    "normalised point ({}, {}) is outside [0,1]",
                    p.x, p.y
                )));
            }
            let m = monitor_of(monitor)?;
            Point::new(
                f64::from(m.bounds.x) + p.x * f64::from(m.bounds.width),
                f64::from(m.bounds.y) + p.y * f64::from(m.bounds.height),
            )
        }
    };
    if monitors.iter().any(|m| m.bounds.contains(desktop)) {
        Ok(desktop)
    } else {
        Err(GeometryError::OffScreen {
            x: desktop.x,
            y: desktop.y,
        })
    }
}

/// Maps a desktop point into the pixel space of a screenshot of `monitor` of size `image`.
pub fn desktop_to_screenshot(p: Point, monitor: &Monitor, image: Size) -> Point {
    Point::new(
        (p.x - f64::from(monitor.bounds.x)) * f64::from(image.width)
            / f64::from(monitor.bounds.width.max(1)),
        (p.y - f64::from(monitor.bounds.y)) * f64::from(image.height)
            / f64::from(monitor.bounds.height.max(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_monitors() -> Vec<Monitor> {
        vec![
            Monitor {
                index: 0,
                name: "left".into(),
                bounds: Rect::new(0, 0, 1920, 1080),
                scale: 1.0,
                primary: false,
            },
            Monitor {
                index: 1,
                name: "right".into(),
                bounds: Rect::new(1920, 0, 1280, 800),
                scale: 1.0,
                primary: false,
            },
        ]
    }

    #[test]
    fn screenshot_point_on_second_monitor_maps_with_offset_and_resize() {
        let ms = two_monitors();
        // A 640x400 downscaled screenshot of the right monitor: (320,200) is its centre.
        let space = CoordSpace::Screenshot {
            monitor: 1,
            width: 640,
            height: 400,
        };
        let p = to_desktop(Point::new(320.0, 200.0), space, &ms).unwrap();
        assert_eq!(p, Point::new(1920.0 + 640.0, 400.0));
        let back = desktop_to_screenshot(
            p,
            &ms[1],
            Size {
                width: 640,
                height: 400,
            },
        );
        assert_eq!(back, Point::new(320.0, 200.0));
    }

    #[test]
    fn normalised_and_off_screen_points() {
        let ms = two_monitors();
        let p = to_desktop(
            Point::new(0.5, 0.5),
            CoordSpace::Normalized { monitor: 0 },
            &ms,
        );
        assert_eq!(p.unwrap(), Point::new(960.0, 540.0));
        // Below the shorter right monitor: on no monitor at all.
        let err = to_desktop(Point::new(2000.0, 900.0), CoordSpace::Desktop, &ms).unwrap_err();
        assert!(matches!(err, GeometryError::OffScreen { .. }));
        let err = to_desktop(Point::new(-5.0, 10.0), CoordSpace::Desktop, &ms).unwrap_err();
        assert!(matches!(err, GeometryError::OffScreen { .. }));
        let err = to_desktop(
            Point::new(1.5, 0.0),
            CoordSpace::Normalized { monitor: 0 },
            &ms,
        )
        .unwrap_err();
        assert!(matches!(err, GeometryError::Invalid(_)));
        let err = to_desktop(
            Point::new(1.0, 1.0),
            CoordSpace::Normalized { monitor: 7 },
            &ms,
        )
        .unwrap_err();
        assert_eq!(err, GeometryError::NoSuchMonitor(7, 2));
        let err = to_desktop(Point::new(f64::NAN, 1.0), CoordSpace::Desktop, &ms).unwrap_err();
        assert!(matches!(err, GeometryError::Invalid(_)));
    }

    #[test]
    fn crop_clips_to_frame_and_respects_monitor_offset() {
        let m = two_monitors()[1].clone();
        let (w, h) = (4u32, 3u32);
        let rgba: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 0, 0, 255]).collect();
        let frame = Frame {
            monitor: m,
            width: w,
            height: h,
            rgba,
        };
        let crop = frame.crop_desktop(Rect::new(1921, 1, 10, 10)).unwrap();
        assert_eq!((crop.width, crop.height), (3, 2));
        assert_eq!(crop.pixel(0, 0), Some([5, 0, 0, 255]));
        assert!(frame.crop_desktop(Rect::new(0, 0, 10, 10)).is_none());
    }
}
