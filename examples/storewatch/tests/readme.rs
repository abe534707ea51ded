//! The ops guide in README.md shows what works: its settings file is accepted as it is,
//! its setup and configuration-as-code steps run as written (with stand-in key files),
//! and every other `storewatch …` command it shows exists (its `--help` succeeds).

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap()
}

/// The fenced blocks of `lang` in `text`.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    text.split(fence.as_str())
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect()
}

#[test]
fn the_settings_file_of_the_guide_is_accepted() {
    let text = readme();
    let file = blocks(&text, "toml")
        .into_iter()
        .find(|b| b.contains("[scheduler]"))
        .expect("README shows a storewatch.toml with a [scheduler] table");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("storewatch.toml"), file).unwrap();
    let out = Command::cargo_bin("storewatch")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env(
            "STOREWATCH_DATABASE_URL",
            format!("sqlite://{}/sw.db", dir.path().display()),
        )
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's storewatch.toml is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_command_the_guide_shows_exists() {
    let text = readme();
    let mut checked = 0;
    for block in blocks(&text, "sh") {
        for line in block.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("storewatch ") else {
                continue;
            };
            // The command path: the words before the first flag or argument value.
            let path: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| {
                    w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
                })
                .collect();
            let out = Command::cargo_bin("storewatch")
                .unwrap()
                .args(&path)
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "README shows `{line}` but `storewatch {} --help` fails: {}",
                path.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "the guide shows only {checked} storewatch commands"
    );
}

/// The `sh` block of the guide that contains `marker`.
fn sh_block(text: &str, marker: &str) -> String {
    blocks(text, "sh")
        .into_iter()
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("README has no sh block with {marker:?}"))
        .to_owned()
}

/// Runs a README shell block with `sh -e` in `dir`, the built binary first on PATH.
fn run_sh(dir: &std::path::Path, script: &str) {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_storewatch"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .env_remove("STOREWATCH_MASTER_KEY")
        .env_remove("STOREWATCH_MASTER_KEYS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "README steps failed:\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_setup_and_configuration_steps_run_as_written() {
    let text = readme();
    let dir = tempfile::tempdir().unwrap();
    // Stand-ins for the files the guide names: a throwaway .p8 key, the fake's test
    // service account, a webhook URL and a signing secret.
    let key = storewatch_apple::fake::TestKey::generate("readme");
    std::fs::write(
        dir.path().join("AuthKey_2X9R4HXF34.p8"),
        secrecy::ExposeSecret::expose_secret(&key.private_pem),
    )
    .unwrap();
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "storewatch-test",
        "private_key_id": "0123456789abcdef",
        "private_key": include_str!("../../../storewatch-google/tests/fixtures/test_only_service_account_key.pem"),
        "client_email": storewatch_google::fake::TEST_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    std::fs::write(dir.path().join("play-reports.json"), account.to_string()).unwrap();
    std::fs::write(
        dir.path().join("hook.txt"),
        "https://open.larksuite.com/open-apis/bot/v2/hook/readme-0000-token\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("sign.txt"), "readme-signing-secret\n").unwrap();

    // `channels test` would reach Lark itself: the entities tests send one to FakeLark.
    let setup: String = sh_block(&text, "storewatch migrate")
        .lines()
        .filter(|l| !l.contains("channels test"))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = blocks(&text, "toml")
        .into_iter()
        .find(|b| b.contains("[[apps]]"))
        .expect("README shows a configuration file");
    std::fs::write(dir.path().join("guide-config.toml"), config).unwrap();
    let steps = format!(
        "{setup}storewatch config apply guide-config.toml\n{}",
        sh_block(&text, "storewatch config export")
    );
    run_sh(dir.path(), &steps);
    let exported = std::fs::read_to_string(dir.path().join("storewatch-config.toml")).unwrap();
    for name in [
        "Pocket Planner Android",
        "Trail Maps",
        "Downloads fell",
        "Crash rate too high",
        "Nightly",
    ] {
        assert!(
            exported.contains(name),
            "{name} missing from the export:\n{exported}"
        );
    }
    assert!(
        !exported.contains("readme-0000-token"),
        "a secret reached the export"
    );
}
