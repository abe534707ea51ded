//! Another process's resident memory and CPU time as Linux reports them in
//! `/proc/<pid>/status` (`VmRSS`) and `/proc/<pid>/stat` (`utime` + `stime`), for
//! benchmarks that measure a running server from outside.

use std::fs;
use std::process::Command;
use std::time::Duration;

/// One look at a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// `VmRSS`: resident now, in bytes.
    pub rss: u64,
    /// User plus system CPU time so far, in clock ticks.
    pub cpu_ticks: u64,
}

/// Reads `pid`'s resident size and CPU time; `None` when it does not exist (or `/proc`
/// is unavailable).
pub fn sample(pid: u32) -> Option<Sample> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(Sample {
        rss: vm_rss(&status)?,
        cpu_ticks: cpu_ticks(&stat)?,
    })
}

/// `VmRSS:   1234 kB` in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    crate::memory::field_bytes(status, "VmRSS:")
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name
/// (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100, Linux's value, when it cannot be
/// asked).
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// CPU used between two samples over `wall`, as a percentage of one core.
pub fn cpu_percent(before: Sample, after: Sample, wall: Duration, ticks_per_second: u64) -> f64 {
    let cpu = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / ticks_per_second as f64;
    100.0 * cpu / wall.as_secs_f64().max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_tricky_command_name() {
        let stat = "4242 (we ird) name)) S 1 4242 4242 0 -1 4194560 500 0 0 0 \
                    173 42 0 0 20 0 4 0 1000 10000000 700 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(215));
        assert_eq!(vm_rss("Name:\tx\nVmRSS:\t  2048 kB\n"), Some(2048 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let me = sample(std::process::id()).expect("/proc is mounted");
        assert!(me.rss > 0);
        assert!(ticks_per_second() > 0);
        let later = Sample {
            rss: me.rss,
            cpu_ticks: me.cpu_ticks + 50,
        };
        let pct = cpu_percent(me, later, Duration::from_secs(10), 100);
        assert!((pct - 5.0).abs() < 1e-9, "{pct}");
    }
}
