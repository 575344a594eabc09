//! Screen capture through xcap: every monitor, with its place on the desktop and its scale.

use deskhand_core::ports::Screen;
use deskhand_core::{Frame, Monitor, PortError, Rect};

/// Captures the X display named by DISPLAY.
#[derive(Debug, Default, Clone, Copy)]
pub struct XcapScreen;

impl XcapScreen {
    /// A capturer for the current display.
    pub fn new() -> Self {
        Self
    }
}

fn xcap_error(what: &str, e: xcap::XCapError) -> PortError {
    let text = e.to_string();
    if std::env::var_os("DISPLAY").is_none() {
        return PortError::unavailable(format!(
            "cannot {what}: no X display (DISPLAY is not set); run under a desktop session, \
             or use `./x demo`, which starts a virtual one"
        ));
    }
    PortError::failed(format!("cannot {what}: {text}"))
}

fn describe(index: usize, m: &xcap::Monitor) -> Result<Monitor, PortError> {
    let err = |e| xcap_error("read monitor geometry", e);
    Ok(Monitor {
        index,
        name: m.name().map_err(err)?,
        bounds: Rect::new(
            m.x().map_err(err)?,
            m.y().map_err(err)?,
            m.width().map_err(err)?,
            m.height().map_err(err)?,
        ),
        scale: f64::from(m.scale_factor().map_err(err)?),
        primary: m.is_primary().map_err(err)?,
    })
}

fn all_monitors() -> Result<Vec<(Monitor, xcap::Monitor)>, PortError> {
    let monitors = xcap::Monitor::all().map_err(|e| xcap_error("list monitors", e))?;
    if monitors.is_empty() {
        return Err(PortError::unavailable("the display reports no monitors"));
    }
    monitors
        .into_iter()
        .enumerate()
        .map(|(i, m)| Ok((describe(i, &m)?, m)))
        .collect()
}

impl Screen for XcapScreen {
    fn monitors(&self) -> Result<Vec<Monitor>, PortError> {
        Ok(all_monitors()?.into_iter().map(|(m, _)| m).collect())
    }

    fn capture_all(&self) -> Result<Vec<Frame>, PortError> {
        all_monitors()?
            .into_iter()
            .map(|(monitor, m)| {
                let image = m
                    .capture_image()
                    .map_err(|e| xcap_error("capture the screen", e))?;
                let (width, height) = image.dimensions();
                if width == 0 || height == 0 {
                    return Err(PortError::failed(format!(
                        "monitor {} gave an empty image",
                        monitor.name
                    )));
                }
                Ok(Frame {
                    monitor,
                    width,
                    height,
                    rgba: image.into_raw(),
                })
            })
            .collect()
    }
}

/// Encodes a frame as PNG.
pub fn encode_png(frame: &Frame) -> Result<Vec<u8>, PortError> {
    let image = image::RgbaImage::from_raw(frame.width, frame.height, frame.rgba.clone())
        .ok_or_else(|| PortError::invalid("frame buffer does not match its size"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| PortError::failed(format!("encode PNG: {e}")))?;
    Ok(out.into_inner())
}

/// Picks the monitor to treat as main: the primary one, or the first where none is primary
/// (Xvfb reports none).
pub fn main_frame(frames: &[Frame]) -> Option<&Frame> {
    frames
        .iter()
        .find(|f| f.monitor.primary)
        .or_else(|| frames.first())
}
