//! [`Credential`]: sealed provider credentials (App Store Connect key, Play service account).

use serde::{Deserialize, Serialize};

use super::app::validate_name;
use super::{CredentialId, Platform, Record, Spec};
use crate::Result;
use crate::secrets::SealedSecret;

/// A provider credential; its config is sealed and never returned in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// Display name.
    pub name: String,
    /// The store it is for.
    pub platform: Platform,
    /// The source kind that opens it, e.g. `app_store_connect` or `google_play`.
    pub kind: String,
    /// The source's JSON config (keys, ids, bucket), sealed.
    pub sealed: SealedSecret,
    /// A short fingerprint of the clear config, for display.
    pub fingerprint: String,
}

impl Spec for CredentialSpec {
    type Id = CredentialId;
    const KIND: &'static str = "credential";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        super::validate_kind("kind", &self.kind)
    }
}

/// A stored credential.
pub type Credential = Record<CredentialSpec>;
