//! `deskhand look`, `deskhand read --at X,Y` and `deskhand find "description"`: the fused
//! layout tree, point-and-read and grounding by description, without any model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use deskhand_core::{Frame, Point};
use deskhand_host::{Deskhand, LookOptions};
use deskhand_perception::capture::{encode_png, main_frame};
use deskhand_perception::render::{
    compact_text, lens_global, lens_local, set_of_marks, MarkOptions,
};

/// How to look.
#[derive(Args, Debug, Clone)]
pub struct LookFlags {
    /// Skip OCR (faster; only accessibility and pixel segments).
    #[arg(long)]
    pub no_ocr: bool,
    /// Ignore the accessibility tree (vision only).
    #[arg(long)]
    pub no_accessibility: bool,
}

impl LookFlags {
    fn options(&self) -> LookOptions {
        LookOptions {
            ocr: !self.no_ocr,
            accessibility: !self.no_accessibility,
        }
    }
}

/// `deskhand look`.
#[derive(Args, Debug, Clone)]
pub struct LookArgs {
    /// What to use.
    #[command(flatten)]
    pub flags: LookFlags,
    /// Token budget of the printed tree (about 4 characters per token).
    #[arg(long, default_value_t = 2000)]
    pub budget: usize,
    /// Save a Set-of-Marks screenshot (numbered boxes matching node ids) here.
    #[arg(long)]
    pub som: Option<PathBuf>,
}

/// `deskhand read --at X,Y`.
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// The desktop point, `X,Y`.
    #[arg(long, value_parser = parse_point)]
    pub at: Point,
    /// What to use.
    #[command(flatten)]
    pub flags: LookFlags,
    /// Save the two Tree-of-Lens images (lens-local.png, lens-global.png) in this directory.
    #[arg(long)]
    pub lens: Option<PathBuf>,
}

/// `deskhand find "the Save button"`.
#[derive(Args, Debug, Clone)]
pub struct FindArgs {
    /// What to find: "the Save button", "the text field", "second item in the File menu",
    /// "the button right of 'Open'".
    pub description: String,
    /// What to use.
    #[command(flatten)]
    pub flags: LookFlags,
}

fn parse_point(s: &str) -> Result<Point, String> {
    let (x, y) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not a point: write X,Y, e.g. 640,400"))?;
    let num = |v: &str, what: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("bad {what} {v:?} in {s:?}: write X,Y, e.g. 640,400"))
    };
    Ok(Point::new(num(x, "x")?, num(y, "y")?))
}

fn write_png(path: &Path, frame: &Frame) -> anyhow::Result<()> {
    std::fs::write(path, encode_png(frame)?).with_context(|| format!("write {}", path.display()))
}

/// Runs `deskhand look`.
pub fn look(deskhand: &Deskhand, args: &LookArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (p, frames) = deskhand.look(args.flags.options())?;
    if let Some(path) = &args.som {
        let frame = main_frame(&frames).context("no monitor to draw on")?;
        let marked = set_of_marks(frame, &p.tree, &MarkOptions::default())?;
        write_png(path, &marked.image)?;
        eprintln!(
            "Set-of-Marks: {} marks -> {}",
            marked.marks.len(),
            path.display()
        );
    }
    if json {
        println!("{}", serde_json::to_string(&p)?);
    } else {
        print!("{}", compact_text(&p.tree, args.budget, None));
        let t = p.timings;
        println!(
            "-- {} nodes, {} text lines ({} read now), {} segments{}; {:.0} ms (capture {:.0}, accessibility {:.0}, ocr {:.0}, segmentation {:.0}, fusion {:.0})",
            p.tree.len(),
            p.text_lines,
            p.text_lines_read,
            p.segments,
            if p.unchanged { ", unchanged" } else { "" },
            t.total_ms,
            t.capture_ms,
            t.accessibility_ms,
            t.ocr_ms,
            t.segment_ms,
            t.fuse_ms
        );
    }
    for note in &p.notes {
        eprintln!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `deskhand read --at X,Y`.
pub fn read(deskhand: &Deskhand, args: &ReadArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (reading, p, frames) = deskhand.read_at(args.at, args.flags.options())?;
    if let Some(dir) = &args.lens {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let frame = frames
            .iter()
            .find(|f| f.monitor.bounds.contains(args.at))
            .context("no monitor under the point")?;
        let bounds = |id: &Option<deskhand_core::NodeId>| {
            id.as_ref()
                .and_then(|id| p.tree.get(id))
                .and_then(|n| n.bounds)
        };
        let window = bounds(&reading.path.window).unwrap_or(frame.monitor.bounds);
        let global = bounds(&reading.path.global).unwrap_or(window);
        let local = bounds(&reading.path.local).unwrap_or(global);
        write_png(
            &dir.join("lens-local.png"),
            &lens_local(frame, global, local, args.at)?.image,
        )?;
        write_png(
            &dir.join("lens-global.png"),
            &lens_global(frame, global, args.at)?.image,
        )?;
        eprintln!("lenses -> {}", dir.display());
    }
    if json {
        println!("{}", serde_json::to_string(&reading)?);
    } else {
        println!("{}", reading.description);
    }
    Ok(if reading.path.local.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `deskhand find`.
pub fn find(deskhand: &Deskhand, args: &FindArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (node, point) = deskhand.find(&args.description, args.flags.options())?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": node.id,
                "role": node.role,
                "name": node.name,
                "bounds": node.bounds,
                "sources": node.sources(),
                "point": point,
            })
        );
    } else {
        println!("{} at {:.0},{:.0}", node.describe(), point.x, point.y);
    }
    Ok(ExitCode::SUCCESS)
}
