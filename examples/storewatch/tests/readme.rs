//! The ops guide in README.md shows what works: its settings file is accepted as it is,
//! and every `storewatch …` command it shows exists (its `--help` succeeds).

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
