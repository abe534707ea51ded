//! The fake's deterministic numbers: every value is a hash of (seed, package, day) shaped
//! by a weekly pattern (weekends busier), so tests can compute what a collection must have
//! stored and an analysis finds the week-over-week structure of a real app.

use chrono::{Datelike, NaiveDate, Weekday};

/// FNV-1a over the parts, then a final avalanche so close inputs differ widely.
fn hash(seed: u64, package: &str, day: NaiveDate, salt: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in package
        .bytes()
        .chain(day.to_string().into_bytes())
        .chain(salt.bytes())
    {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The weekday multiplier of daily activity: more installs and users on weekends, a
/// little more on Fridays (the same shape as the Apple fake's downloads).
pub fn weekly_factor(day: NaiveDate) -> f64 {
    match day.weekday() {
        Weekday::Sat | Weekday::Sun => 1.4,
        Weekday::Fri => 1.1,
        _ => 1.0,
    }
}

/// `base` scaled by `factor`, rounded to a count.
fn scale(base: u64, factor: f64) -> u64 {
    (base as f64 * factor).round() as u64
}

/// Reporting API values of one app on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vitals {
    /// `crashRate` (a fraction).
    pub crash_rate: f64,
    /// `userPerceivedCrashRate`.
    pub user_perceived_crash_rate: f64,
    /// `anrRate`.
    pub anr_rate: f64,
    /// `userPerceivedAnrRate`.
    pub user_perceived_anr_rate: f64,
    /// `distinctUsers`, rounded to tens as Google does for this magnitude.
    pub distinct_users: f64,
}

/// The vitals the fake serves for `package` on `day`.
pub fn vitals(seed: u64, package: &str, day: NaiveDate) -> Vitals {
    let h = |salt| hash(seed, package, day, salt);
    // Integers over a power of ten print and parse back to the same f64.
    let crash = (2_000 + h("crash") % 18_000) as f64 / 1_000_000.0;
    let anr = (1_000 + h("anr") % 9_000) as f64 / 1_000_000.0;
    Vitals {
        crash_rate: crash,
        user_perceived_crash_rate: (h("upcrash") % 2_000) as f64 / 1_000_000.0,
        anr_rate: anr,
        user_perceived_anr_rate: (h("upanr") % 1_000) as f64 / 1_000_000.0,
        distinct_users: (scale(10_000 + h("users") % 90_000, weekly_factor(day)) / 10 * 10) as f64,
    }
}

/// One installs-overview row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Installs {
    /// `Daily Device Installs`.
    pub daily_device_installs: u64,
    /// `Daily Device Uninstalls`.
    pub daily_device_uninstalls: u64,
    /// `Daily Device Upgrades`.
    pub daily_device_upgrades: u64,
    /// `Daily User Installs` (→ `downloads`).
    pub daily_user_installs: u64,
    /// `Daily User Uninstalls` (→ `uninstalls`).
    pub daily_user_uninstalls: u64,
    /// `Active Device Installs` (→ `active_devices`).
    pub active_device_installs: u64,
    /// `Install events`.
    pub install_events: u64,
    /// `Update events` (→ `updates`).
    pub update_events: u64,
    /// `Uninstall events`.
    pub uninstall_events: u64,
}

impl Installs {
    /// The row with its install counts (device and user installs, install events)
    /// multiplied by `factor`, as an anomaly of the day does; uninstalls, updates and the
    /// 30-day active-device snapshot do not jump with a day's installs.
    #[must_use]
    pub fn with_install_factor(mut self, factor: f64) -> Installs {
        self.daily_device_installs = scale(self.daily_device_installs, factor);
        self.daily_user_installs = scale(self.daily_user_installs, factor);
        self.install_events = scale(self.install_events, factor);
        self
    }
}

/// The installs row of `package` on `day` before any anomaly (see
/// [`FakeGooglePlay::installs`](super::FakeGooglePlay::installs) for the row served).
pub fn installs(seed: u64, package: &str, day: NaiveDate) -> Installs {
    let h = |salt| hash(seed, package, day, salt);
    let weekly = weekly_factor(day);
    let user_installs = scale(50 + h("ui") % 500, weekly);
    let user_uninstalls = 5 + h("uu") % 80;
    Installs {
        daily_device_installs: user_installs + h("di") % 40,
        daily_device_uninstalls: user_uninstalls + h("du") % 10,
        daily_device_upgrades: 100 + h("dg") % 900,
        daily_user_installs: user_installs,
        daily_user_uninstalls: user_uninstalls,
        active_device_installs: 10_000 + h("ad") % 50_000,
        install_events: user_installs + h("ie") % 60,
        update_events: 100 + h("ue") % 1_000,
        uninstall_events: user_uninstalls + h("ve") % 12,
    }
}

/// The ratings row: (`Daily Average Rating`, `Total Average Rating`); the daily one is
/// `None` (written `NA`) on about one day in four, as on days without new ratings.
pub fn ratings(seed: u64, package: &str, day: NaiveDate) -> (Option<f64>, f64) {
    let h = |salt| hash(seed, package, day, salt);
    let daily = (h("na") % 4 != 0).then(|| (100 + h("dr") % 401) as f64 / 100.0);
    let total = (300 + hash(seed, package, NaiveDate::MIN, "tr") % 200) as f64 / 100.0;
    (daily, total)
}

/// Header of the installs overview, exactly as Play Console writes it.
pub const INSTALLS_HEADER: &str = "Date,Package Name,Daily Device Installs,Daily Device Uninstalls,Daily Device Upgrades,Total User Installs,Daily User Installs,Daily User Uninstalls,Active Device Installs,Install events,Update events,Uninstall events";

/// Header of the ratings overview.
pub const RATINGS_HEADER: &str = "Date,Package Name,Daily Average Rating,Total Average Rating";

/// An installs-overview line of `row`; `None` writes the 0s Play shows for an unfinished
/// day.
pub(crate) fn installs_line(package: &str, day: NaiveDate, row: Option<Installs>) -> String {
    let Some(i) = row else {
        return format!("{day},{package},0,0,0,0,0,0,0,0,0,0");
    };
    format!(
        "{day},{package},{},{},{},0,{},{},{},{},{},{}",
        i.daily_device_installs,
        i.daily_device_uninstalls,
        i.daily_device_upgrades,
        i.daily_user_installs,
        i.daily_user_uninstalls,
        i.active_device_installs,
        i.install_events,
        i.update_events,
        i.uninstall_events
    )
}

/// A ratings-overview line.
pub(crate) fn ratings_line(seed: u64, package: &str, day: NaiveDate) -> String {
    let (daily, total) = ratings(seed, package, day);
    let daily = daily.map_or_else(|| "NA".to_owned(), |d| format!("{d:.2}"));
    format!("{day},{package},{daily},{total:.2}")
}

/// UTF-16LE with a BOM, as Play writes its reports.
pub fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}
