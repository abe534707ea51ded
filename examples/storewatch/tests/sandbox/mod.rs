//! A temp directory with its own SQLite database and master key, to run the
//! `storewatch` binary in, and to seed records the binary cannot create from a file
//! (credentials and channels carry secrets).

#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use secrecy::SecretString;
use storewatch_core::model::Platform;
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

/// base64 of 32 bytes of 7.
pub(crate) const MASTER_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// One test's directory and database.
pub(crate) struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    /// A fresh directory; the database file is created on first use.
    pub(crate) fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `sqlite://<dir>/sw.db`.
    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("sw.db").display())
    }

    /// A path inside the directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file inside the directory and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// The binary, run in the directory against its database.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("storewatch").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env("DATABASE_URL", self.url())
            .env("STOREWATCH_MASTER_KEY", MASTER_KEY)
            .env_remove("STOREWATCH_DATABASE_URL")
            .env_remove("STOREWATCH_MASTER_KEYS")
            .env_remove("STOREWATCH_CONFIG");
        cmd
    }

    /// Runs the binary with `args`; panics with its output unless it succeeds.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.cmd().args(args).output().expect("binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "storewatch {args:?} failed:\n{}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Runs the binary with `args`; panics unless it fails. Returns stdout and stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> (String, String) {
        let output: Output = self.cmd().args(args).output().expect("binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !output.status.success(),
            "storewatch {args:?} succeeded but should fail:\n{stdout}"
        );
        (stdout, stderr)
    }

    /// Adds credentials `(name, platform, kind)` and channels `(name, kind)` with dummy
    /// sealed secrets, as `storewatch credentials add` / `channels add` would.
    pub(crate) fn seed_secrets(
        &self,
        credentials: &[(&str, Platform, &str)],
        channels: &[(&str, &str)],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let location = self.path("sw.db").display().to_string();
            let store = SqliteStore::open(&location, SqliteConfig::default())
                .await
                .expect("open the database");
            let keyring = Keyring::single(MASTER_KEY).expect("keyring");
            for (name, platform, kind) in credentials {
                create_credential(
                    &store,
                    &keyring,
                    name,
                    *platform,
                    kind,
                    &SecretString::from("{\"planted\":\"credential-secret\"}"),
                )
                .await
                .expect("credential");
            }
            for (name, kind) in channels {
                create_channel(
                    &store,
                    &keyring,
                    name,
                    kind,
                    &SecretString::from("{\"planted\":\"channel-secret\"}"),
                )
                .await
                .expect("channel");
            }
            store.close().await;
        });
    }
}
