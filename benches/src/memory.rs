//! Process memory as Linux reports it in `/proc/self/status`: current (`VmRSS`) and peak
//! (`VmHWM`) resident set size, and resetting the peak so one phase can be measured.

use std::fs;

/// Resident set sizes of this process, in bytes. `None` where `/proc` is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    /// `VmRSS`: resident now.
    pub current: u64,
    /// `VmHWM`: the peak since the process started or since [`reset_peak`].
    pub peak: u64,
}

/// Reads `VmRSS` and `VmHWM` of this process.
pub fn resident() -> Option<Resident> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    Some(Resident {
        current: field_bytes(&status, "VmRSS:")?,
        peak: field_bytes(&status, "VmHWM:")?,
    })
}

/// Resets `VmHWM` to the current resident size (`echo 5 > /proc/self/clear_refs`), so the
/// next [`resident`] reports the peak of what ran in between. Returns whether the
/// kernel accepted it; when not, the peak is the process's lifetime peak.
pub fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in bytes.
pub(crate) fn field_bytes(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..]
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Bytes as MiB, for reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let status = "Name:\tbench\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(field_bytes(status, "VmHWM:"), Some(200 * 1024 * 1024));
        assert_eq!(field_bytes(status, "VmRSS:"), Some(100 * 1024 * 1024));
        assert_eq!(field_bytes(status, "VmSwap:"), None);
    }

    #[test]
    fn reads_this_process() {
        let r = resident().expect("/proc/self/status on Linux");
        assert!(r.current > 0 && r.peak >= r.current);
    }
}
