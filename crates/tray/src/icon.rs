//! The icon, drawn here as ARGB32 pixels (what StatusNotifierItem's
//! IconPixmap carries), so it looks the same whatever icon theme the
//! desktop has: a disc in the state's colour, hollow when Wimsy is not
//! running, with a red dot at the top right while messages are unread.

use crate::model::Overall;

/// The sizes offered; the host picks the one that fits its panel.
pub const SIZES: [u32; 3] = [16, 24, 48];

/// One pixmap: `width * height` pixels, each A, R, G, B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixmap {
    pub width: u32,
    pub height: u32,
    pub argb: Vec<u8>,
}

/// The state's colour (R, G, B).
pub fn colour(overall: Overall) -> [u8; 3] {
    match overall {
        Overall::Connected => [0x2e, 0x9e, 0x5b],
        Overall::Connecting => [0xe0, 0x9b, 0x1a],
        Overall::Offline | Overall::NotRunning => [0x8a, 0x8f, 0x98],
        Overall::Error => [0xd0, 0x3b, 0x3b],
    }
}

const UNREAD: [u8; 3] = [0xe5, 0x1c, 0x23];

pub fn draw(overall: Overall, unread: bool, size: u32) -> Pixmap {
    let s = size as f32;
    let centre = s / 2.0;
    let radius = s * 0.42;
    let ring = (s * 0.12).max(1.5);
    let dot_centre = (s * 0.78, s * 0.22);
    let dot_radius = s * 0.2;
    let mut argb = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let d = ((px - centre).powi(2) + (py - centre).powi(2)).sqrt();
            let in_disc = if overall == Overall::NotRunning {
                d <= radius && d >= radius - ring
            } else {
                d <= radius
            };
            let dd = ((px - dot_centre.0).powi(2) + (py - dot_centre.1).powi(2)).sqrt();
            let pixel = if unread && dd <= dot_radius {
                Some(UNREAD)
            } else if unread && dd <= dot_radius + s * 0.06 {
                // A clear gap, so the dot reads on the disc's colour.
                None
            } else if in_disc {
                Some(colour(overall))
            } else {
                None
            };
            match pixel {
                Some([r, g, b]) => argb.extend_from_slice(&[0xff, r, g, b]),
                None => argb.extend_from_slice(&[0, 0, 0, 0]),
            }
        }
    }
    Pixmap {
        width: size,
        height: size,
        argb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(p: &Pixmap, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * p.width + x) * 4) as usize;
        [p.argb[i], p.argb[i + 1], p.argb[i + 2], p.argb[i + 3]]
    }

    #[test]
    fn the_centre_has_the_states_colour_and_unread_adds_a_red_dot() {
        for size in SIZES {
            let p = draw(Overall::Connected, false, size);
            assert_eq!(p.argb.len(), (size * size * 4) as usize);
            let [a, r, g, b] = pixel(&p, size / 2, size / 2);
            assert_eq!([a, r, g, b], [0xff, 0x2e, 0x9e, 0x5b]);
            assert_eq!(pixel(&p, 0, 0)[0], 0, "corners are clear");
            let unread = draw(Overall::Connected, true, size);
            let dot = pixel(&unread, size * 78 / 100, size * 22 / 100);
            assert_eq!(dot, [0xff, 0xe5, 0x1c, 0x23]);
        }
    }

    #[test]
    fn not_running_is_a_hollow_ring() {
        let p = draw(Overall::NotRunning, false, 48);
        assert_eq!(pixel(&p, 24, 24)[0], 0, "hollow");
        assert_eq!(pixel(&p, 24, 24 - 19)[0], 0xff, "the ring");
        assert_ne!(
            draw(Overall::Error, false, 24),
            draw(Overall::Offline, false, 24)
        );
    }
}
