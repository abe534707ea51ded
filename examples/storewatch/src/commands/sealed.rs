//! The sealed JSON configs of credentials and channels: built from flags, changed field
//! by field on update (the rest of the opened config stays), and sealed for their record.
//!
//! Values of these configs are secrets or sit next to them: nothing here prints or
//! formats one, and errors name flags and files only.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use storewatch_core::secrets::{Keyring, SealedSecret, fingerprint};
use storewatch_core::{Error, ErrorKind, Result};

/// One config key settable from a flag.
pub(crate) struct Field {
    /// The flag that sets it, for messages.
    pub(crate) flag: &'static str,
    /// The config's JSON key.
    pub(crate) key: &'static str,
    /// What the flag gave, if it was given.
    pub(crate) value: Option<Value>,
    /// Whether a new config must have it.
    pub(crate) required: bool,
}

impl Field {
    /// A field a new config must have.
    pub(crate) fn required(flag: &'static str, key: &'static str, value: Option<Value>) -> Field {
        Field {
            flag,
            key,
            value,
            required: true,
        }
    }

    /// A field that may be left out.
    pub(crate) fn optional(flag: &'static str, key: &'static str, value: Option<Value>) -> Field {
        Field {
            flag,
            key,
            value,
            required: false,
        }
    }
}

/// A string flag's value.
pub(crate) fn text(v: &Option<String>) -> Option<Value> {
    v.as_ref().map(|s| Value::String(s.clone()))
}

/// A secret flag's value.
pub(crate) fn secret(v: Option<SecretString>) -> Option<Value> {
    v.map(|s| Value::String(s.expose_secret().to_owned()))
}

/// Writes the given `fields` over `config`. `kind` names what the fields are for; with
/// `new`, required fields must be given; flags of `others` (another kind's) are refused.
pub(crate) fn apply(
    config: &mut Map<String, Value>,
    kind: &str,
    fields: Vec<Field>,
    others: &[Field],
    new: bool,
) -> Result<()> {
    if let Some(f) = others.iter().find(|f| f.value.is_some()) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{} does not apply to {kind}", f.flag),
        ));
    }
    for f in fields {
        match f.value {
            Some(v) => {
                config.insert(f.key.to_owned(), v);
            }
            None if new && f.required => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{} is required for {kind}", f.flag),
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// The config as JSON text, held as a secret.
pub(crate) fn to_secret(config: Map<String, Value>) -> SecretString {
    SecretString::from(Value::Object(config).to_string())
}

/// Opens a record's sealed config as a JSON object.
pub(crate) fn open(
    keyring: &Keyring,
    record_kind: &str,
    id: i64,
    sealed: &SealedSecret,
) -> Result<Map<String, Value>> {
    let clear = keyring.open(record_kind, id, sealed)?;
    match serde_json::from_str(clear.expose_secret()) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("the sealed config of {record_kind} {id} is not a JSON object"),
        )),
    }
}

/// Seals `config` for record `id`, with its display fingerprint.
pub(crate) fn seal(
    keyring: &Keyring,
    record_kind: &str,
    id: i64,
    config: &SecretString,
) -> Result<(SealedSecret, String)> {
    Ok((keyring.seal(record_kind, id, config)?, fingerprint(config)))
}
