//! The two Tree-of-Lens lens images for a point: lens 1 shows the local region marked inside
//! its global region with the point drawn; lens 2 shows the global region marked on the whole
//! screen with the point drawn.

use deskhand_core::{Frame, Point, Rect};

use super::canvas::{Canvas, Rgba};
use super::{check_frame, desktop_point_to_image, desktop_rect_to_image, RenderError};

/// Colour of the region outlines on lens images.
pub const LENS_BOX_COLOR: Rgba = [255, 0, 0, 255];
/// Colour of the point marker; the pixel at the point always has it.
pub const POINT_COLOR: Rgba = [0, 80, 255, 255];

/// A lens image and where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct Lens {
    /// The image. Its `monitor.bounds` is the desktop region it shows, so the usual desktop
    /// to image mappings (e.g. [`super::desktop_point_to_image`]) work on it.
    pub image: Frame,
    /// The desktop region the image shows.
    pub region: Rect,
    /// The marked point in image pixels, when it lies on the image.
    pub point: Option<(u32, u32)>,
}

/// Lens 1: the part of `frame` inside `global` (a panel), with `local` (a control in it)
/// outlined and `point` marked. All inputs are desktop coordinates; `global` is clipped to
/// the frame's monitor.
pub fn lens_local(
    frame: &Frame,
    global: Rect,
    local: Rect,
    point: Point,
) -> Result<Lens, RenderError> {
    check_frame(frame)?;
    let outside = || RenderError::OutsideFrame {
        region: global,
        monitor: frame.monitor.bounds,
    };
    let region = global
        .intersection(&frame.monitor.bounds)
        .ok_or_else(outside)?;
    let px = desktop_rect_to_image(region, frame).ok_or_else(outside)?;
    let stride = frame.width as usize * 4;
    let mut rgba = Vec::with_capacity(px.area() as usize * 4);
    for y in px.y as usize..px.bottom() as usize {
        let start = y * stride + px.x as usize * 4;
        rgba.extend_from_slice(&frame.rgba[start..start + px.width as usize * 4]);
    }
    let mut monitor = frame.monitor.clone();
    monitor.bounds = region;
    let image = Frame {
        monitor,
        width: px.width,
        height: px.height,
        rgba,
    };
    Ok(mark(image, region, Some(local), point, 2, false))
}

/// Lens 2: the whole of `frame` with `global` outlined and `point` marked (desktop
/// coordinates).
pub fn lens_global(frame: &Frame, global: Rect, point: Point) -> Result<Lens, RenderError> {
    check_frame(frame)?;
    if global.intersection(&frame.monitor.bounds).is_none() {
        return Err(RenderError::OutsideFrame {
            region: global,
            monitor: frame.monitor.bounds,
        });
    }
    Ok(mark(
        frame.clone(),
        frame.monitor.bounds,
        Some(global),
        point,
        3,
        true,
    ))
}

/// Outlines `outline` and marks `point` on an image whose monitor bounds are `region`; on a
/// full screen the marker gets crosshair arms so it is found at a glance.
fn mark(
    mut image: Frame,
    region: Rect,
    outline: Option<Rect>,
    point: Point,
    line: u32,
    arms: bool,
) -> Lens {
    let boxed = outline.and_then(|r| desktop_rect_to_image(r, &image));
    let p = desktop_point_to_image(point, &image);
    let on_image =
        p.x >= 0.0 && p.y >= 0.0 && p.x < f64::from(image.width) && p.y < f64::from(image.height);
    let (cx, cy) = (p.x.floor() as i32, p.y.floor() as i32);
    // A small dot on a crop, a larger one on a full screen.
    let radius = if arms { 4 } else { 2 };
    let mut canvas = Canvas::new(&mut image);
    if let Some(r) = boxed {
        canvas.stroke(r, line, LENS_BOX_COLOR);
    }
    canvas.point_marker(cx, cy, radius, arms, POINT_COLOR);
    Lens {
        image,
        region,
        point: on_image.then_some((cx as u32, cy as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::Monitor;

    fn frame() -> Frame {
        Frame {
            monitor: Monitor {
                index: 0,
                name: "m".into(),
                bounds: Rect::new(100, 0, 400, 300),
                scale: 1.0,
                primary: false,
            },
            width: 400,
            height: 300,
            rgba: vec![255; 400 * 300 * 4],
        }
    }

    #[test]
    fn lens_one_crops_the_global_region_and_marks_local_and_point() {
        let f = frame();
        let lens = lens_local(
            &f,
            Rect::new(150, 50, 200, 100),
            Rect::new(200, 60, 50, 30),
            Point::new(225.0, 75.0),
        )
        .unwrap();
        assert_eq!((lens.image.width, lens.image.height), (200, 100));
        assert_eq!(lens.point, Some((75, 25)));
        assert_eq!(lens.image.pixel(75, 25), Some(POINT_COLOR));
        assert_eq!(lens.image.pixel(50, 20), Some(LENS_BOX_COLOR)); // local's left edge
        assert_eq!(lens.image.pixel(150, 80), Some([255; 4]));
        // Partly off the monitor: clipped; wholly off: an error.
        let clipped = lens_local(
            &f,
            Rect::new(0, 0, 200, 50),
            Rect::new(0, 0, 1, 1),
            Point::new(0.0, 0.0),
        )
        .unwrap();
        assert_eq!(
            (clipped.image.width, clipped.region),
            (100, Rect::new(100, 0, 100, 50))
        );
        assert_eq!(clipped.point, None);
        assert!(matches!(
            lens_local(
                &f,
                Rect::new(0, 0, 50, 50),
                Rect::new(0, 0, 1, 1),
                Point::new(0.0, 0.0)
            ),
            Err(RenderError::OutsideFrame { .. })
        ));
    }

    #[test]
    fn lens_two_marks_the_global_region_on_the_full_frame() {
        let f = frame();
        let lens = lens_global(&f, Rect::new(150, 50, 200, 100), Point::new(225.0, 75.0)).unwrap();
        assert_eq!((lens.image.width, lens.image.height), (400, 300));
        assert_eq!(lens.image.pixel(125, 75), Some(POINT_COLOR));
        assert_eq!(lens.image.pixel(50, 100), Some(LENS_BOX_COLOR));
        assert_eq!(lens.image.pixel(52, 100), Some(LENS_BOX_COLOR));
        assert_eq!(lens.image.pixel(53, 100), Some([255; 4]));
    }
}
