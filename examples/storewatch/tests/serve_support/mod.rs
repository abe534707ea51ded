//! Running `storewatch serve` processes from tests: start one with its settings in the
//! environment, learn its address and instance id from its JSON log, call its HTTP
//! endpoints, signal it and wait for its exit.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine;

/// A fresh master key, as `STOREWATCH_MASTER_KEY` takes it, with its raw bytes.
pub fn master_key() -> (String, [u8; 32]) {
    let raw: [u8; 32] = rand::random();
    (base64::engine::general_purpose::STANDARD.encode(raw), raw)
}

/// Waits until `check` gives `Some`, polling every 200 ms for at most `limit`; panics
/// with `what` (and the last state `describe` gives) when time runs out.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(state) => state,
        };
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}; last state: {last}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A running `storewatch serve`.
pub struct Serve {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Where it serves HTTP.
    pub listen: SocketAddr,
    /// Its scheduler instance id.
    pub instance: String,
    log: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `storewatch serve` in `dir` with `env` (plus JSON logs on an ephemeral
    /// port unless `env` says otherwise) and waits until it serves.
    pub fn start(dir: &Path, env: &[(&str, String)]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storewatch"));
        cmd.arg("serve")
            .current_dir(dir)
            .env("STOREWATCH_LOG_FORMAT", "json")
            .env("STOREWATCH_LOG_LEVEL", "info")
            .env("STOREWATCH_LISTEN", "127.0.0.1:0")
            .env_remove("STOREWATCH_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("storewatch serve starts");
        let pid = child.id();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (started_tx, started_rx) = mpsc::channel();
        {
            let out = child.stdout.take().unwrap();
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                        let f = &v["fields"];
                        if f["message"] == "storewatch serve started" {
                            let _ = started_tx.send((
                                f["listen"].as_str().unwrap_or_default().to_owned(),
                                f["instance"].as_str().unwrap_or_default().to_owned(),
                            ));
                        }
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let stderr_reader = {
            let mut err = child.stderr.take().unwrap();
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                stderr.lock().unwrap().push_str(&text);
            })
        };
        let started = started_rx.recv_timeout(Duration::from_secs(120));
        let Ok((listen, instance)) = started else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = stderr_reader.join();
            panic!(
                "storewatch serve (pid {pid}) did not start within 120 s\nstdout:\n{}\nstderr:\n{}",
                log.lock().unwrap().join("\n"),
                stderr.lock().unwrap()
            );
        };
        Serve {
            child,
            pid,
            listen: listen.parse().expect("the logged listen address parses"),
            instance,
            log,
            stderr,
        }
    }

    /// `http://<listen><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }

    /// GETs `path`: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} of pid {}: {e}", self.pid));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid);
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait works")
    }

    /// Waits for the exit, at most `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            if start.elapsed() > limit {
                panic!(
                    "storewatch serve (pid {}) still runs {limit:?} after being asked to stop\n{}",
                    self.pid,
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything it logged so far, stdout then stderr.
    pub fn output(&self) -> String {
        format!(
            "--- pid {} stdout ---\n{}\n--- stderr ---\n{}",
            self.pid,
            self.log.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// The log lines whose message is `message`.
    pub fn logged(&self, message: &str) -> Vec<serde_json::Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == message)
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // A test that failed half-way must not leave servers behind.
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
