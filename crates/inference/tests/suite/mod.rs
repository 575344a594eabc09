mod embed;
mod ocr;
mod rec;
mod runtime;

use std::path::Path;
use std::process::Command;

/// Renders one tight line of black DejaVu Sans text on white, with a white border of
/// `border` pixels (like the box a text detector gives), with ImageMagick.
pub fn render_label(
    dir: &Path,
    name: &str,
    text: &str,
    points: u32,
    border: u32,
) -> image::RgbaImage {
    let out = dir.join(format!("{name}.png"));
    let status = Command::new("convert")
        .args(["-font", "DejaVu-Sans", "-pointsize", &points.to_string()])
        .args(["-bordercolor", "white", "-border", &border.to_string()])
        .arg(format!("label:{text}"))
        .arg(&out)
        .status()
        .expect("ImageMagick `convert` must be installed");
    assert!(status.success(), "convert failed for {name}");
    image::open(&out).unwrap().to_rgba8()
}

/// Draws text at baseline positions on a white canvas with ImageMagick and loads it.
pub fn render(
    dir: &Path,
    name: &str,
    size: (u32, u32),
    lines: &[(i32, i32, &str)],
) -> image::RgbaImage {
    let out = dir.join(format!("{name}.png"));
    let mut cmd = Command::new("convert");
    cmd.arg("-size")
        .arg(format!("{}x{}", size.0, size.1))
        .arg("xc:white");
    cmd.args(["-font", "DejaVu-Sans", "-pointsize", "24", "-fill", "black"]);
    for (x, y, text) in lines {
        cmd.arg("-annotate").arg(format!("+{x}+{y}")).arg(text);
    }
    let status = cmd
        .arg(&out)
        .status()
        .expect("ImageMagick `convert` must be installed");
    assert!(status.success(), "convert failed for {name}");
    image::open(&out).unwrap().to_rgba8()
}
