//! The password path end to end through the CLI: `lyceum login` checks the password against
//! the server and stores it in the Secret Service (a headless GNOME Keyring inside a private
//! D-Bus session); `lyceum caps` then connects with it from the keychain; `lyceum logout`
//! removes it, after which the server refuses the connection.

use std::process::Command;

use crate::support::{ClickHouseServer, PASSWORD, PASSWORD_USER};

#[test]
fn login_stores_the_password_in_the_keychain_and_later_commands_use_it() {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .unwrap()
                .status
                .success(),
            "{tool} is needed for the keychain test: apt-get install dbus gnome-keyring (scripts/test.sh does)"
        );
    }
    let server = ClickHouseServer::start();
    let bin = env!("CARGO_BIN_EXE_lyceum");
    let url = server.url();
    let script = format!(
        r#"set -e
# A fresh login keyring, unlocked (an empty unlock password would leave it uncreated).
eval "$(printf 'unlock' | gnome-keyring-daemon --unlock --components=secrets)"
printf '%s\n' 'wrong password' | "{bin}" login --url {url} --user {PASSWORD_USER} && exit 10
printf '%s\n' '{PASSWORD}' | "{bin}" login --url {url} --user {PASSWORD_USER}
"{bin}" caps --url {url} --user {PASSWORD_USER}
"{bin}" logout --url {url} --user {PASSWORD_USER}
"{bin}" caps --url {url} --user {PASSWORD_USER} && exit 11
echo keychain-ok"#
    );
    let home = tempfile::tempdir().unwrap();
    let runtime_dir = home.path().join("run");
    std::fs::create_dir_all(home.path().join(".cache")).unwrap();
    std::fs::create_dir_all(&runtime_dir).unwrap();
    std::fs::set_permissions(
        &runtime_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let out = Command::new("timeout")
        .args(["120", "dbus-run-session", "--", "sh", "-c", &script])
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("keychain-ok"),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains("checked and stored in"), "{stdout}");
    assert!(
        stdout.contains("ClickHouse 18.") || stdout.contains("ClickHouse 2"),
        "{stdout}"
    );
    assert!(
        stderr.contains("authentication failed for user `lyceum_tester`"),
        "{stderr}"
    );
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password was printed"
    );
}
