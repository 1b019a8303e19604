//! Turning curves into pictures.
//! - [`gpu`]: the wgpu renderer (compute rasteriser for the 1-px base layer, composite in lines
//!   or density mode, wide antialiased lines for highlighted curves; WGSL in `shaders/`).
//! - [`plot`]: the egui_plot item and egui_wgpu callback that put it inside a plot.
//! - [`headless`]: whole plots (axes, labels, title) drawn offscreen for PNG export and tests.
//! - [`cpu`]: the CPU reference renderer (the per-column rule of `curves::raster`) and PNG output.
//! - [`export`]: a whole store to a picture with either renderer (`lyceum render`).
//! - [`style`]: the one styling decision (colours, order, legend, title, axes) both renderers
//!   and the app use.
//!
//! Picture sizes are checked here once ([`check_image_size`], [`check_plot_size`]) so no
//! renderer is asked for a picture it cannot make.

pub mod cpu;
pub mod cpu_raster;
pub mod export;
pub mod gpu;
pub mod headless;
pub mod plot;
pub mod style;

/// The largest picture side either renderer makes (GPUs commonly allow 16,384; the CPU
/// renderer's memory stays ≤ 1 GiB).
pub const MAX_IMAGE_SIDE_PX: u32 = 16_384;
/// The smallest whole plot, in points: below this its axes, ticks and title leave no room
/// for curves.
pub const MIN_PLOT_POINTS: (f32, f32) = (100.0, 80.0);
/// Pixels per point a plot may be drawn at.
pub const PIXELS_PER_POINT_RANGE: std::ops::RangeInclusive<f32> = 0.25..=8.0;

/// A picture size no renderer should try.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SizeError {
    #[error("width and height must be 1 to {MAX_IMAGE_SIDE_PX} pixels, not {width} × {height}")]
    Side { width: u32, height: u32 },
    #[error(
        "pixels per point must be between {lo} and {hi}, not {0}",
        lo = PIXELS_PER_POINT_RANGE.start(),
        hi = PIXELS_PER_POINT_RANGE.end()
    )]
    PixelsPerPoint(f32),
    #[error(
        "at {pixels_per_point} pixels per point a {width} × {height} picture is {:.0} × {:.0} points, \
         too small for a plot's axes and title (at least {} × {} points)",
        *width as f32 / pixels_per_point, *height as f32 / pixels_per_point,
        MIN_PLOT_POINTS.0, MIN_PLOT_POINTS.1
    )]
    TooSmall {
        width: u32,
        height: u32,
        pixels_per_point: f32,
    },
}

/// A picture of curves alone: each side 1 to [`MAX_IMAGE_SIDE_PX`].
pub fn check_image_size(width: u32, height: u32) -> Result<(), SizeError> {
    if (1..=MAX_IMAGE_SIDE_PX).contains(&width) && (1..=MAX_IMAGE_SIDE_PX).contains(&height) {
        Ok(())
    } else {
        Err(SizeError::Side { width, height })
    }
}

/// A whole plot (axes, title): a valid picture whose size in points leaves room for curves.
pub fn check_plot_size(width: u32, height: u32, pixels_per_point: f32) -> Result<(), SizeError> {
    check_image_size(width, height)?;
    if !PIXELS_PER_POINT_RANGE.contains(&pixels_per_point) {
        return Err(SizeError::PixelsPerPoint(pixels_per_point));
    }
    if (width as f32) / pixels_per_point < MIN_PLOT_POINTS.0
        || (height as f32) / pixels_per_point < MIN_PLOT_POINTS.1
    {
        return Err(SizeError::TooSmall {
            width,
            height,
            pixels_per_point,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_no_renderer_can_make_are_refused() {
        assert!(check_image_size(1, 1).is_ok());
        assert!(check_image_size(0, 100).is_err());
        assert!(check_image_size(100_000, 100_000).is_err());
        assert!(check_plot_size(1920, 1080, 1.0).is_ok());
        assert!(check_plot_size(640, 360, 2.0).is_ok());
        for ppp in [0.0, -1.0, f32::NAN, 100.0] {
            assert!(
                matches!(
                    check_plot_size(1920, 1080, ppp),
                    Err(SizeError::PixelsPerPoint(_))
                ),
                "{ppp}"
            );
        }
        assert!(matches!(
            check_plot_size(300, 200, 4.0),
            Err(SizeError::TooSmall { .. })
        ));
    }
}
