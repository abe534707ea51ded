//! Webhook signing: `sign = base64(HMAC-SHA256(key = "<timestamp>\n<secret>", message = ""))`.
//!
//! The message really is empty and the key holds the secret: the reverse of DingTalk's
//! scheme, which Lark refuses with code 19021.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature of a webhook request sent at `timestamp` (seconds) with `secret`.
///
/// ```
/// assert_eq!(storewatch_lark::sign(1599360473, "demo"), "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=");
/// ```
pub fn sign(timestamp: i64, secret: &str) -> String {
    let key = format!("{timestamp}\n{secret}");
    // HMAC accepts keys of any length, so this cannot fail.
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).map(Mac::finalize);
    mac.map(|m| STANDARD.encode(m.into_bytes()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_vectors() {
        assert_eq!(
            sign(1599360473, "demo"),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
        assert_eq!(
            sign(1700000000, "test-secret"),
            "mbm4Y4oluIPQ00qlBIhX8vAZ0EKv3nw0LuTb91jPL84="
        );
        assert_ne!(
            sign(1599360473, "demo"),
            "DkEDUyVoOOJ539qBvUgMyzkzIdRWlf4e/V3Rq+ONJnQ="
        );
    }
}
