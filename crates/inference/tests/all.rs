//! Real ONNX inference on real rendered text (needs `./x setup` and ImageMagick).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod suite;
