//! The CPU renderer: curves rasterised with the reference 1-px rule and composed into RGBA,
//! and [`write_png`].
//!
//! - [`render_styled`] draws curves with the same per-curve [`CurveStyle`]s as the GPU
//!   (from [`super::style`]): a pixel takes the colour of the curve with the highest
//!   `priority << 24 | curve` lighting it, as the GPU's base layer does; hidden curves are
//!   skipped, highlighted ones go on top.
//! - [`render_layers`]: layers of curves in one colour each, topmost layer wins (the
//!   reference the GPU tests compare with).
//!
//! Either way the picture depends only on which pixels are lit, so drawing every sample or
//! the M4-decimated curves gives byte-identical images.

use std::io::BufWriter;
use std::path::Path;

use super::SizeError;
use super::gpu::CurveStyle;
use crate::curves::{Decimated, Raster, RowMap, light_curve};

/// An RGBA8 image, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// One layer: curves (already mapped to pixel x) and their colour.
#[derive(Debug)]
pub struct Layer<'a> {
    pub curves: &'a Decimated,
    pub rgba: [u8; 4],
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {}: {detail}", path.display())]
    Encode {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error("the curves have {curves} entries but the style table has {styles}")]
    StyleCount { curves: usize, styles: usize },
}

/// Byte offset in the RGBA image of raster pixel `i`: raster row 0 is the bottom, image row 0
/// the top.
fn rgba_offset(i: usize, width: u32, height: u32) -> usize {
    let (row, column) = (i / width as usize, i % width as usize);
    ((height as usize - 1 - row) * width as usize + column) * 4
}

/// Rasterise `curves` (pixel x, data y) with `styles[curve]` over a `background`.
pub fn render_styled(
    curves: &Decimated,
    styles: &[CurveStyle],
    rows: RowMap,
    width: u32,
    background: [u8; 4],
) -> Result<Image, RenderError> {
    let height = rows.height_px;
    super::check_image_size(width, height)?;
    if styles.len() < curves.ranges.len() {
        return Err(RenderError::StyleCount {
            curves: curves.ranges.len(),
            styles: styles.len(),
        });
    }
    // Per pixel the winning key: priority above curve id + 1 (0: nothing lit), as on the GPU.
    let mut keys = vec![0u32; width as usize * height as usize];
    for (curve, style) in styles.iter().enumerate().take(curves.ranges.len()) {
        if !style.is_visible() {
            continue;
        }
        let priority = if style.is_highlighted() {
            0xff
        } else {
            style.priority.min(0xfe)
        };
        let key = priority << 24 | (curve as u32 + 1);
        light_curve(curves, curve, rows, (width, height), |pixel| {
            keys[pixel] = keys[pixel].max(key);
        });
    }
    let mut rgba = background.repeat(keys.len());
    for (i, &key) in keys.iter().enumerate() {
        if key == 0 {
            continue;
        }
        let [r, g, b, a] = styles[(key & 0x00ff_ffff) as usize - 1].rgba.to_le_bytes();
        let at = rgba_offset(i, width, height);
        let blend = |fg: u8, bg: u8| {
            ((u32::from(fg) * u32::from(a) + u32::from(bg) * (255 - u32::from(a)) + 127) / 255)
                as u8
        };
        let pixel = &mut rgba[at..at + 4];
        pixel.copy_from_slice(&[
            blend(r, pixel[0]),
            blend(g, pixel[1]),
            blend(b, pixel[2]),
            pixel[3].max(a),
        ]);
    }
    Ok(Image {
        width,
        height,
        rgba,
    })
}

/// Rasterise `layers` (first at the bottom) over a `background`.
pub fn render_layers(
    layers: &[Layer<'_>],
    rows: RowMap,
    width: u32,
    background: [u8; 4],
) -> Result<Image, RenderError> {
    let height = rows.height_px;
    super::check_image_size(width, height)?;
    let mut rgba = background.repeat(width as usize * height as usize);
    for layer in layers {
        let mut raster = Raster::new(width, height);
        raster.draw(layer.curves, rows);
        for (i, &hits) in raster.counts.iter().enumerate() {
            if hits > 0 {
                let at = rgba_offset(i, width, height);
                rgba[at..at + 4].copy_from_slice(&layer.rgba);
            }
        }
    }
    Ok(Image {
        width,
        height,
        rgba,
    })
}

/// Write `image` as an 8-bit RGBA PNG.
pub fn write_png(image: &Image, path: &Path) -> Result<(), RenderError> {
    let io = |source| RenderError::Io {
        path: path.to_owned(),
        source,
    };
    let encode = |e: png::EncodingError| RenderError::Encode {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    // fdeflate: several times faster than the default for a 1920 × 1080 plot, nearly as small.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(&image.rgba).map_err(encode)?;
    writer.finish().map_err(encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::{PixelMap, all_points, decimate_m4};
    use crate::source::demo::{Plant, PlantConfig};

    #[test]
    fn decimated_and_full_demo_curves_give_identical_images() {
        let plant = Plant::new(PlantConfig {
            curves: 1_000,
            samples: 2_000,
            ..PlantConfig::default()
        });
        let store = plant.process_curves().unwrap();
        let map = PixelMap::new(0.0, 720.0, 320);
        let rows = RowMap::new(-1.0, 30.0, 180);
        let image = |curves: &Decimated| {
            render_layers(
                &[Layer {
                    curves,
                    rgba: [0, 0, 0, 255],
                }],
                rows,
                320,
                [255; 4],
            )
            .unwrap()
        };
        let (m4, full) = (decimate_m4(&store, &map), all_points(&store, &map));
        assert!(
            m4.point_count() * 2 < full.point_count(),
            "M4 must shrink this view: {} vs {}",
            m4.point_count(),
            full.point_count()
        );
        let (a, b) = (image(&m4), image(&full));
        assert_eq!(a, b);
        assert!(
            a.rgba.chunks(4).filter(|p| p[0] == 0).count() > 1000,
            "the curves are drawn"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        write_png(&a, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        assert_eq!(pixels, a.rgba);
    }

    #[test]
    fn bad_targets_are_errors_that_name_the_file() {
        let image = Image {
            width: 1,
            height: 1,
            rgba: vec![0; 4],
        };
        let err = write_png(&image, Path::new("/nonexistent-dir/x.png")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x.png"), "{err}");
        let rows = RowMap::new(0.0, 1.0, 0);
        assert!(matches!(
            render_layers(&[], rows, 10, [0; 4]),
            Err(RenderError::Size(_))
        ));
    }
}
