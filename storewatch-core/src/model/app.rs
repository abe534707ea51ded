//! [`App`]: an app watched on one store.

use serde::{Deserialize, Serialize};

use super::{AppId, BundleId, CredentialId, Platform, Record, Spec};
use crate::{Error, Result};

/// What an app is; stored as an [`App`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Display name.
    pub name: String,
    /// The store.
    pub platform: Platform,
    /// Bundle id (iOS) or package name (Android); unique per platform.
    pub bundle_id: BundleId,
    /// Apple's numeric app id; resolved from the bundle id and cached when absent.
    #[serde(default)]
    pub store_id: Option<String>,
    /// The credential to collect with; `None` = the platform's only credential.
    #[serde(default)]
    pub credential_id: Option<CredentialId>,
    /// Inactive apps are kept but not collected, analysed or reported.
    #[serde(default = "yes")]
    pub is_active: bool,
}

pub(crate) fn yes() -> bool {
    true
}

impl AppSpec {
    /// An active app with a validated bundle id.
    pub fn new(name: impl Into<String>, platform: Platform, bundle_id: &str) -> Result<Self> {
        let spec = AppSpec {
            name: name.into(),
            platform,
            bundle_id: BundleId::parse(platform, bundle_id)?,
            store_id: None,
            credential_id: None,
            is_active: true,
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// A validated, non-blank display name.
pub(crate) fn validate_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::invalid_field(
            field,
            name,
            "a non-blank name of at most 200 bytes",
        ));
    }
    Ok(())
}

impl Spec for AppSpec {
    type Id = AppId;
    const KIND: &'static str = "app";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        BundleId::parse(self.platform, self.bundle_id.as_str())?;
        if let Some(store_id) = &self.store_id
            && (store_id.is_empty() || !store_id.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(Error::invalid_field(
                "store_id",
                store_id,
                "Apple's numeric app id",
            ));
        }
        Ok(())
    }
}

/// A stored app.
pub type App = Record<AppSpec>;
