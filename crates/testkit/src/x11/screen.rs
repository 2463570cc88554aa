//! Looking at the screen: its pixels as PNG screenshots, numbered in an
//! artifact directory, and a fingerprint to tell when it changed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};

use super::X11;

/// How many pixels in a row make a painted area rather than a stroke of
/// text.
pub const SOLID_RUN: usize = 24;

impl X11 {
    /// A fingerprint of what the screen shows, to tell when it changed.
    pub fn screen_digest(&self) -> anyhow::Result<u64> {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.screen_rgb()?.2.hash(&mut hasher);
        Ok(hasher.finish())
    }

    /// Waits up to `deadline` until the screen no longer shows what
    /// `before` fingerprinted (a redraw after something happened that
    /// has no hook); whether it changed.
    pub fn wait_screen_change(&self, before: u64, deadline: Duration) -> anyhow::Result<bool> {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            if self.screen_digest()? != before {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(false)
    }

    /// Saves what the screen shows as a PNG at `path` (its directory is
    /// created).
    pub fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let (width, height, rgb) = self.screen_rgb()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut encoder =
            png::Encoder::new(std::io::BufWriter::new(file), width.into(), height.into());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer
            .write_image_data(&rgb)
            .with_context(|| format!("writing {}", path.display()))?;
        writer.finish()?;
        Ok(())
    }

    /// The middle of the area painted solid in exactly `rgb` (the
    /// bounding box of its runs of at least [`SOLID_RUN`] pixels in a row,
    /// so text drawn in the same colour does not count), if there is one:
    /// how a test finds a button by its colour, as a person finds it by
    /// eye.
    pub fn find_colour(&self, rgb: [u8; 3]) -> anyhow::Result<Option<(i16, i16)>> {
        let (width, _, pixels) = self.screen_rgb()?;
        let width = usize::from(width);
        let mut bounds: Option<(usize, usize, usize, usize)> = None;
        for (y, line) in pixels.chunks_exact(width * 3).enumerate() {
            let mut run_start = None;
            // One step past the end closes a run that reaches the edge.
            for x in 0..=width {
                let painted = x < width && line[x * 3..x * 3 + 3] == rgb;
                match (painted, run_start) {
                    (true, None) => run_start = Some(x),
                    (false, Some(start)) => {
                        run_start = None;
                        if x - start >= SOLID_RUN {
                            let (x0, x1) = (start, x - 1);
                            bounds = Some(match bounds {
                                None => (x0, y, x1, y),
                                Some((a, b, c, _)) => (a.min(x0), b, c.max(x1), y),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(bounds.map(|(x0, y0, x1, y1)| {
            let middle = |a: usize, b: usize| i16::try_from(a.midpoint(b)).unwrap_or(i16::MAX);
            (middle(x0, x1), middle(y0, y1))
        }))
    }

    /// The colour of the pixel at (`x`, `y`).
    pub fn colour_at(&self, x: u16, y: u16) -> anyhow::Result<[u8; 3]> {
        let (width, height, pixels) = self.screen_rgb()?;
        if x >= width || y >= height {
            bail!("({x}, {y}) is off the {width}x{height} screen");
        }
        let i = (usize::from(y) * usize::from(width) + usize::from(x)) * 3;
        Ok([pixels[i], pixels[i + 1], pixels[i + 2]])
    }

    /// The whole screen: width, height and RGB bytes.
    fn screen_rgb(&self) -> anyhow::Result<(u16, u16, Vec<u8>)> {
        let geometry = self.conn.get_geometry(self.root)?.reply()?;
        let (width, height) = (geometry.width, geometry.height);
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, 0, 0, width, height, !0)?
            .reply()
            .context("reading the screen")?;
        let pixels = usize::from(width) * usize::from(height);
        if image.depth != 24 || image.data.len() != pixels * 4 {
            bail!(
                "unexpected screen format: depth {}, {} bytes for {width}x{height}",
                image.depth,
                image.data.len()
            );
        }
        // Xvfb's 24-bit visual on a little-endian server: B, G, R, pad.
        let rgb: Vec<u8> = image
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        Ok((width, height, rgb))
    }
}

/// Numbered screenshots of one test in one directory, each path printed
/// as it is taken so a failed run points at what the screen showed.
#[derive(Debug)]
pub struct Screenshots {
    dir: PathBuf,
    taken: usize,
}

impl Screenshots {
    /// Screenshots into `dir`, emptied first (a rerun replaces a run).
    pub fn new(dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.into();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir, taken: 0 })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves the screen as `NN-<step>.png`; its path.
    pub fn take(&mut self, x: &X11, step: &str) -> anyhow::Result<PathBuf> {
        self.taken += 1;
        let path = self.dir.join(format!("{:02}-{step}.png", self.taken));
        x.screenshot(&path)?;
        eprintln!("screenshot: {}", path.display());
        Ok(path)
    }
}

/// Save ARGB32 pixels (a StatusNotifierItem's IconPixmap) as a PNG at
/// `path`, so a person can look at an icon no panel drew.
pub fn save_argb_png(path: &Path, width: u32, height: u32, argb: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let rgba: Vec<u8> = argb
        .chunks_exact(4)
        .flat_map(|p| [p[1], p[2], p[3], p[0]])
        .collect();
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer
        .write_image_data(&rgba)
        .with_context(|| format!("writing {}", path.display()))?;
    writer.finish()?;
    Ok(())
}
