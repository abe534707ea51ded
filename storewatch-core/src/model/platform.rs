//! [`Platform`] and the validated [`BundleId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The store an app is published on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Apple App Store (App Store Connect).
    Ios,
    /// Google Play.
    Android,
}

impl Platform {
    /// `"ios"` or `"android"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ios" | "apple" => Ok(Platform::Ios),
            "android" | "google" => Ok(Platform::Android),
            _ => Err(Error::invalid_field(
                "platform",
                s,
                "\"ios\" or \"android\"",
            )),
        }
    }
}

/// An app's bundle id (iOS) or package name (Android), validated.
///
/// Both are dot-separated: at least two non-empty segments of ASCII letters, digits,
/// `-` (iOS only) and `_` (Android only); an Android segment starts with a letter.
///
/// ```
/// use storewatch_core::model::{BundleId, Platform};
///
/// assert!(BundleId::parse(Platform::Ios, "com.example.my-app").is_ok());
/// assert!(BundleId::parse(Platform::Android, "com.example.my_app").is_ok());
/// let err = BundleId::parse(Platform::Android, "com.example.my-app").unwrap_err();
/// assert!(err.to_string().contains("bundle_id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BundleId(String);

impl BundleId {
    /// Longest accepted id (Apple allows 155 characters).
    pub const MAX_LEN: usize = 155;

    /// Validates `s` as a bundle id of `platform`.
    pub fn parse(platform: Platform, s: &str) -> Result<Self> {
        let expected = match platform {
            Platform::Ios => {
                "a reverse-DNS bundle id like com.example.app (letters, digits, '-' and '.', at least two segments)"
            }
            Platform::Android => {
                "a package name like com.example.app (segments of letters, digits and '_' starting with a letter, at least two)"
            }
        };
        let bad = || Error::invalid_field("bundle_id", s, expected);
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad());
        }
        let segments: Vec<&str> = s.split('.').collect();
        if segments.len() < 2 {
            return Err(bad());
        }
        for seg in segments {
            let first = seg.chars().next().ok_or_else(bad)?;
            let ok = match platform {
                Platform::Ios => seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                Platform::Android => {
                    first.is_ascii_alphabetic()
                        && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                }
            };
            if !ok {
                return Err(bad());
            }
        }
        Ok(BundleId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_bundle_ids() {
        for bad in [
            "",
            "app",
            "com..app",
            ".com.app",
            "com.app.",
            "com.ex ample",
            "com.例.app",
        ] {
            for platform in [Platform::Ios, Platform::Android] {
                let err = BundleId::parse(platform, bad).unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
                assert!(err.message().contains("bundle_id"), "{err}");
                assert!(err.message().contains(&format!("{bad:?}")), "{err}");
            }
        }
        assert!(BundleId::parse(Platform::Android, "com.1app").is_err());
        assert!(BundleId::parse(Platform::Ios, "com.1app").is_ok());
        assert!(BundleId::parse(Platform::Ios, &format!("com.{}", "a".repeat(160))).is_err());
    }

    #[test]
    fn platform_round_trips() {
        for p in [Platform::Ios, Platform::Android] {
            assert_eq!(p.to_string().parse::<Platform>().unwrap(), p);
        }
        assert!(
            "windows"
                .parse::<Platform>()
                .unwrap_err()
                .to_string()
                .contains("windows")
        );
    }
}
