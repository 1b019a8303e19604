//! Turning curves into pictures. For now the CPU reference renderer ([`cpu`]): the per-column
//! 1-px rasteriser of `curves::raster` over layers of curves, composed into an RGBA image and
//! written as PNG. The wgpu pipelines that draw the same pixels on a GPU will live here too.

pub mod cpu;
