//! Test support: a real `clickhouse-server` on free loopback ports in a temporary directory.
//!
//! The server runs under a small `sh` guard that kills it as soon as the guard's standard
//! input closes, so a test process that dies (panic, Ctrl-C, CI timeout) never leaves a
//! server behind; dropping [`ClickHouseServer`] closes it on purpose. A missing binary is a
//! test failure that says how to install one, never a silent skip.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use lyceum::secrets::Password;
use lyceum::source::clickhouse::{Connection, ConnectionProfile};

/// A user with a password, for authentication tests.
pub const PASSWORD_USER: &str = "lyceum_tester";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct ClickHouseServer {
    dir: tempfile::TempDir,
    guard: Option<Child>,
    guard_stdin: Option<ChildStdin>,
    pub http_port: u16,
    /// Native protocol port, for `clickhouse-client` baselines.
    pub tcp_port: u16,
    pub https_port: Option<u16>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// The server binary: `$LYCEUM_CLICKHOUSE_SERVER`, else `clickhouse-server` on PATH or in /usr/sbin.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LYCEUM_CLICKHOUSE_SERVER") {
        return PathBuf::from(path);
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("clickhouse-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/clickhouse-server"), PathBuf::from("/usr/bin/clickhouse-server")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "clickhouse-server was not found (PATH, /usr/sbin, $LYCEUM_CLICKHOUSE_SERVER). \
                 Install it with `apt-get install clickhouse-server`, or run scripts/test.sh, which does."
            )
        })
}

fn sha256_hex(text: &str) -> String {
    // `sha256sum` keeps the harness free of a hashing dependency just for one config value.
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) is needed by the test harness");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn write_config(dir: &Path, http_port: u16, tcp_port: u16, https_port: Option<u16>) {
    let d = dir.display();
    // HTTPS with the test CA's server certificate (tests/data/tls), where asked for.
    let tls = https_port.map_or_else(String::new, |port| {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
        format!(
            "<https_port>{port}</https_port>\n  <openSSL><server><certificateFile>{}</certificateFile>\
             <privateKeyFile>{}</privateKeyFile><verificationMode>none</verificationMode>\
             <loadDefaultCAFile>false</loadDefaultCAFile><disableProtocols>sslv2,sslv3</disableProtocols>\
             </server></openSSL>",
            data.join("server.pem").display(),
            data.join("server.key").display()
        )
    });
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog><console>0</console></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  {tls}
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>500</flush_interval_milliseconds></query_log>
</yandex>
"#
    );
    let users = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <{PASSWORD_USER}><password_sha256_hex>{}</password_sha256_hex><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></{PASSWORD_USER}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#,
        sha256_hex(PASSWORD)
    );
    std::fs::write(dir.join("config.xml"), config).expect("write config.xml");
    std::fs::write(dir.join("users.xml"), users).expect("write users.xml");
}

impl ClickHouseServer {
    /// Start a server and wait until it answers `/ping`. A free port can be taken by a server
    /// of a parallel test between choosing and binding it; then start again on new ports.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// [`Self::start`] with HTTPS too, on [`Self::https_url`], with the test CA's certificate.
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        for _ in 0..3 {
            let mut server = Self::spawn(tls);
            match server.wait_ready() {
                Ok(()) => return server,
                Err(logs) if logs.contains("Address already in use") => server.stop(),
                Err(logs) => panic!("clickhouse-server did not start:\n{logs}"),
            }
        }
        panic!("clickhouse-server found its ports taken three times");
    }

    fn spawn(tls: bool) -> Self {
        let binary = server_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let (http_port, tcp_port) = (free_port(), free_port());
        let https_port = tls.then(free_port);
        write_config(dir.path(), http_port, tcp_port, https_port);
        // The guard kills the server when its stdin closes (test process gone or drop).
        let script = r#""$0" --config-file="$1" >"$2/stdout.log" 2>&1 &
pid=$!
read _ignored
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
exit 0"#;
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&binary)
            .arg(dir.path().join("config.xml"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh is needed by the test harness");
        let guard_stdin = guard.stdin.take();
        Self {
            dir,
            guard: Some(guard),
            guard_stdin,
            http_port,
            tcp_port,
            https_port,
        }
    }

    fn logs(&self) -> String {
        let mut text = String::new();
        for name in ["stdout.log", "server.err.log"] {
            if let Ok(mut f) = std::fs::File::open(self.dir.path().join(name)) {
                let _ = f.read_to_string(&mut text);
            }
        }
        text.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Ok once `/ping` answers; otherwise the server's last log lines.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(guard) = self.guard.as_mut()
                && let Ok(Some(status)) = guard.try_wait()
            {
                return Err(format!("exited during start ({status}):\n{}", self.logs()));
            }
            if ping(self.http_port) {
                return Ok(());
            }
            let logs = self.logs();
            // The server gives up on a taken port but the guard shell keeps waiting.
            if logs.contains("Address already in use") {
                return Err(logs);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("no answer to /ping within 60 s:\n{}", self.logs()))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The HTTPS endpoint of a server started with [`Self::start_tls`].
    pub fn https_url(&self) -> String {
        format!(
            "https://127.0.0.1:{}",
            self.https_port.expect("a server started with TLS")
        )
    }

    pub fn profile(&self, database: &str) -> ConnectionProfile {
        ConnectionProfile::new(self.url(), database, "default")
    }

    pub async fn connect(&self, database: &str) -> Connection {
        Connection::open(self.profile(database), None)
            .await
            .expect("connect to the test server")
    }

    pub async fn connect_with_password(&self, database: &str) -> Connection {
        let profile = ConnectionProfile::new(self.url(), database, PASSWORD_USER);
        Connection::open(profile, Some(Password::new(PASSWORD)))
            .await
            .expect("connect with password")
    }

    /// Kill the server now (for dropped-connection tests).
    pub fn stop(&mut self) {
        self.guard_stdin.take();
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        ping(self.http_port)
    }
}

impl Drop for ClickHouseServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    use std::io::Write;
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"GET /ping HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("Ok.")
}

/// The Python interpreter that has `chdb` (ClickHouse 26.9 in-process): `$LYCEUM_PYTHON`
/// (set by scripts/test.sh to its venv) or `python3`.
pub fn chdb_python() -> PathBuf {
    std::env::var_os("LYCEUM_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Run SQL statements in chdb, one after another; returns each statement's output (TSV).
/// Fails the test, with chdb's message, if a statement is invalid there.
pub fn run_in_chdb(statements: &[String]) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chdb_check.py");
    let input = serde_json::to_string(statements).expect("json");
    let mut child = Command::new(chdb_python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} for chdb: {e}; run scripts/test.sh, which sets up a venv",
                chdb_python().display()
            )
        });
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), input.as_bytes())
        .expect("write");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("chdb run");
    assert!(
        out.status.success(),
        "chdb (ClickHouse 26.9) rejected the SQL:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("chdb_check.py prints a JSON list")
}

/// Per pixel column of `[x_start, x_end)` over `width` columns (the plot's columns: the
/// floor of `PixelMap::px`, a sample's pixel x on a grid of 2^-9 px or finer): the first,
/// minimum, maximum and last sample, as `(column, [(x, y); ..4])`, a reference for
/// server-side M4. NaN skipped.
pub fn reference_m4(
    xs: &[f64],
    ys: &[f32],
    x_start: f64,
    x_end: f64,
    width: u32,
) -> Vec<(i64, Vec<(f64, f32)>)> {
    let map = lyceum::curves::PixelMap::new(x_start, x_end, width);
    let mut columns: Vec<(i64, Vec<(f64, f32)>)> = Vec::new();
    for (&x, &y) in xs.iter().zip(ys) {
        if !(x >= x_start && x < x_end && y.is_finite()) {
            continue;
        }
        let px = map.px(x).floor() as i64;
        match columns.last_mut() {
            Some((p, samples)) if *p == px => samples.push((x, y)),
            _ => columns.push((px, vec![(x, y)])),
        }
    }
    columns
        .into_iter()
        .map(|(px, samples)| {
            let first = samples[0];
            let last = samples[samples.len() - 1];
            let low = samples
                .iter()
                .copied()
                .fold(first, |a, b| if b.1 < a.1 { b } else { a });
            let high = samples
                .iter()
                .copied()
                .fold(first, |a, b| if b.1 > a.1 { b } else { a });
            let mut points = vec![first, low, high, last];
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            points.dedup();
            (px, points)
        })
        .collect()
}
