//! The real window: the built `lyceum` binary (the test profile's, so nothing is built twice)
//! opened on an Xvfb display with no subcommand, as a user starts it, on the software Vulkan
//! driver. The screen is captured with `xwd` until the demo plant's curves are drawn; the
//! picture is kept in the target's test folder (`window.png`) for people to look at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills a child process when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Xvfb on a display it picks itself (`-displayfd`): the display name.
fn start_xvfb() -> (Running, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs (scripts/test.sh installs the `xvfb` package)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let display = format!(":{}", line.trim());
    assert!(display.len() > 1, "Xvfb named no display");
    (Running(child), display)
}

/// An RGB screen capture.
struct Screen {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

/// The root window of `display` through `xwd` (a 24-bit TrueColor ZPixmap, as Xvfb serves).
fn capture(display: &str) -> Screen {
    let output = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .output()
        .expect("xwd runs (scripts/test.sh installs `x11-apps`)");
    assert!(output.status.success(), "xwd failed");
    parse_xwd(&output.stdout)
}

fn parse_xwd(bytes: &[u8]) -> Screen {
    let field = |i: usize| u32::from_be_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
    let (header_size, format, width, height) = (field(0), field(2), field(4), field(5));
    let (byte_order, bits_per_pixel, bytes_per_line) = (field(7), field(11), field(12));
    let (red_mask, green_mask, blue_mask, colours) = (field(14), field(15), field(16), field(19));
    assert_eq!((format, bits_per_pixel), (2, 32), "a 32-bit ZPixmap");
    let pixels = &bytes[header_size + colours * 12..];
    let channel = |pixel: usize, mask: usize| ((pixel & mask) >> mask.trailing_zeros()) as u8;
    let mut rgb = Vec::with_capacity(width * height);
    for row in 0..height {
        for column in 0..width {
            let at = row * bytes_per_line + column * 4;
            let word: [u8; 4] = pixels[at..at + 4].try_into().unwrap();
            let pixel = if byte_order == 0 {
                u32::from_le_bytes(word)
            } else {
                u32::from_be_bytes(word)
            } as usize;
            rgb.push([
                channel(pixel, red_mask),
                channel(pixel, green_mask),
                channel(pixel, blue_mask),
            ]);
        }
    }
    Screen { width, height, rgb }
}

fn save_png(screen: &Screen, path: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut encoder = png::Encoder::new(file, screen.width as u32, screen.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = screen.rgb.iter().flatten().copied().collect();
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&data)
        .unwrap();
}

/// Pixels near `colour` (each channel within 12).
fn count_near(screen: &Screen, colour: [u8; 3]) -> usize {
    screen
        .rgb
        .iter()
        .filter(|p| p.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 12))
        .count()
}

/// The binary started on a fresh Xvfb display and home, with `env` set too.
struct Started {
    home: tempfile::TempDir,
    _xvfb: Running,
    display: String,
    log: std::path::PathBuf,
    app: Running,
}

fn start_app(env: &[(&str, &str)]) -> Started {
    let home = tempfile::tempdir().unwrap();
    let runtime_dir = home.path().join("runtime");
    std::fs::create_dir(&runtime_dir).unwrap();
    std::fs::set_permissions(
        &runtime_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let (xvfb, display) = start_xvfb();
    let log = home.path().join("lyceum.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_lyceum"));
    command
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        // Settings, logs and the embedded control plane go to a fresh home.
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let app = Running(command.spawn().unwrap());
    Started {
        home,
        _xvfb: xvfb,
        display,
        log,
        app,
    }
}

/// The app's own log (a daily file in its data folder).
fn app_log(home: &Path) -> String {
    let dir = home.join("data/lyceum/logs");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// On a GL driver (no storage buffers in compute shaders) the app builds no GPU curve
/// pipelines (validation would fail) and draws the curves on the CPU, with no GPU error on
/// the way.
#[test]
fn on_a_gl_driver_the_window_draws_the_curves_on_the_cpu() {
    let mut started = start_app(&[("WGPU_BACKEND", "gl")]);
    let began = Instant::now();
    let ok_blue = [70, 110, 170];
    let screen = loop {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(status) = started.app.0.try_wait().unwrap() {
            panic!(
                "the app exited ({status}): {}{}",
                std::fs::read_to_string(&started.log).unwrap_or_default(),
                app_log(started.home.path())
            );
        }
        let screen = capture(&started.display);
        if count_near(&screen, ok_blue) > 20_000 {
            break screen;
        }
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "no curves on screen; log: {}",
            app_log(started.home.path())
        );
    };
    save_png(
        &screen,
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("window_gl.png"),
    );
    assert!(count_near(&screen, [220, 40, 40]) > 1_000, "NOK curves");
    let log = app_log(started.home.path());
    assert!(
        log.contains("curves are drawn on the CPU") && log.contains("backend=Gl"),
        "{log}"
    );
    assert!(!log.contains("uncaptured GPU error"), "{log}");
    assert!(started.app.0.try_wait().unwrap().is_none(), "still running");
}

#[test]
fn the_binary_opens_a_window_that_draws_the_demo_plant() {
    let Started {
        home,
        _xvfb,
        display,
        log,
        mut app,
    } = start_app(&[]);
    // The plant's OK colour (`render::style::OK_RGBA`) over a large area: curves drawn.
    let ok_blue = [70, 110, 170];
    let started = Instant::now();
    let screen = loop {
        std::thread::sleep(Duration::from_secs(2));
        if let Some(status) = app.0.try_wait().unwrap() {
            panic!(
                "the app exited ({status}) before drawing: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let screen = capture(&display);
        if count_near(&screen, ok_blue) > 20_000 {
            break screen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no curves on screen after 3 minutes; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("window.png");
    save_png(&screen, &shot);
    assert_eq!((screen.width, screen.height), (1280, 800));
    // NOK curves in red, and the dark theme's background around them.
    assert!(count_near(&screen, [220, 40, 40]) > 1_000, "NOK curves");
    let dark = screen
        .rgb
        .iter()
        .filter(|p| p.iter().all(|&c| c < 40))
        .count();
    assert!(
        dark > screen.rgb.len() / 4,
        "a dark window, {dark} dark pixels"
    );
    // lavapipe is a software adapter: the CPU draws the curves, and the log says so.
    let app_log = app_log(home.path());
    assert!(
        app_log.contains("a software adapter: curves are drawn on the CPU"),
        "{app_log}"
    );
    // Still running: nothing panicked on the way.
    assert!(app.0.try_wait().unwrap().is_none(), "the app is still open");
}

/// No Vulkan driver, and GL not tried: no graphics adapter at all.
const NO_DRIVER: &[(&str, &str)] = &[
    ("WGPU_BACKEND", "vulkan"),
    ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
    ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
];

/// `lyceum render` with no graphics driver (its default, `--renderer auto`): the curves alone,
/// drawn on the CPU, with a note saying why; not an error.
#[test]
fn without_any_graphics_driver_render_draws_the_curves_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("curves.png");
    let output = Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(["render", "--curves", "40", "--samples", "200"])
        .args(["--width", "320", "--height", "200", "--out"])
        .arg(&out)
        .envs(NO_DRIVER.iter().copied())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("drawing the curves alone on the CPU"),
        "{stderr}"
    );
    let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgba).unwrap();
    assert_eq!((info.width, info.height), (320, 200));
    let drawn = rgba.chunks(4).filter(|p| p[..3] != [255, 255, 255]).count();
    assert!(drawn > 1_000, "{drawn} pixels of curves");
}

/// With no graphics driver at all (no Vulkan ICD, GL not tried) the binary says what to
/// install, that `WGPU_BACKEND` kept it from trying GL, and how to draw without a window, and
/// exits with an error: no panic.
#[test]
fn without_any_graphics_driver_the_app_says_what_to_install() {
    let mut started = start_app(NO_DRIVER);
    let began = Instant::now();
    let status = loop {
        if let Some(status) = started.app.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the app kept running without a driver"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let stderr = std::fs::read_to_string(&started.log).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("no graphics driver can show the Lyceum window")
            && stderr.contains("WGPU_BACKEND=vulkan allows that backend only")
            && stderr.contains("mesa-vulkan-drivers")
            && stderr.contains("lyceum render --out"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
