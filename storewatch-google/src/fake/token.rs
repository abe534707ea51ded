//! The fake's OAuth token endpoint: verifies the RS256 JWT-bearer assertion the way
//! Google does and issues tokens bound to their scopes.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use storewatch_core::clock::{Clock, SystemClock};

use super::{IssuedToken, Shared, TokenFault, json_response};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({"error": error, "error_description": description}),
    )
}

/// yup-oauth2 pads its base64url segments with `=`; Google accepts both forms.
fn b64(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()
}

pub(super) fn token(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return oauth_error("invalid_request", "Bad Request");
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type: ");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts.as_slice() else {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    };
    let header: Option<serde_json::Value> =
        b64(header_b64).and_then(|b| serde_json::from_slice(&b).ok());
    let claims: Option<serde_json::Value> =
        b64(claims_b64).and_then(|b| serde_json::from_slice(&b).ok());
    let (Some(header), Some(claims)) = (header, claims) else {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    };
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let iss = claims.get("iss").and_then(|v| v.as_str()).unwrap_or("");
    let public_key = shared.lock().accounts.get(iss).cloned();
    let Some(public_key) = public_key else {
        return oauth_error("invalid_grant", "Invalid grant: account not found");
    };
    // The signature covers the segments exactly as sent, padding included.
    let message = format!("{header_b64}.{claims_b64}");
    let verified = DecodingKey::from_rsa_pem(public_key.as_bytes())
        .ok()
        .and_then(|key| {
            jsonwebtoken::crypto::verify(
                signature_b64.trim_end_matches('='),
                message.as_bytes(),
                &key,
                Algorithm::RS256,
            )
            .ok()
        })
        .unwrap_or(false);
    if !verified {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let expected_aud = format!("{}/token", shared.base);
    if claims.get("aud").and_then(|v| v.as_str()) != Some(expected_aud.as_str()) {
        return oauth_error("invalid_grant", "Invalid JWT: Failed audience check.");
    }
    if !claims
        .get("sub")
        .is_none_or(|s| s.is_null() || s.is_string())
    {
        return oauth_error("invalid_grant", "Invalid JWT: bad sub claim.");
    }
    let iat = claims.get("iat").and_then(serde_json::Value::as_i64);
    let exp = claims.get("exp").and_then(serde_json::Value::as_i64);
    let now = SystemClock.now().timestamp();
    let timely = match (iat, exp) {
        (Some(iat), Some(exp)) => {
            exp > iat && exp - iat <= 3600 && iat <= now + 300 && exp >= now - 300
        }
        _ => false,
    };
    if !timely {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let scope = claims
        .get("scope")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .trim();
    if scope.is_empty() {
        return oauth_error("invalid_scope", "Empty or missing scope not allowed.");
    }
    let mut state = shared.lock();
    match state.token_fault.clone() {
        Some(TokenFault::InvalidGrant) => {
            return oauth_error("invalid_grant", "Invalid JWT Signature.");
        }
        Some(TokenFault::InvalidScope) => {
            return oauth_error("invalid_scope", "Empty or missing scope not allowed.");
        }
        Some(TokenFault::NonJson) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html>gateway</html>",
            )
                .into_response();
        }
        _ => {}
    }
    state.issued += 1;
    let access_token = format!("ya29.fake-{}-{}", state.issued, state.seed);
    let scopes = state
        .granted_scopes
        .clone()
        .unwrap_or_else(|| scope.split_whitespace().map(str::to_owned).collect());
    let lifetime = match state.token_fault {
        Some(TokenFault::ShortExpiresIn(secs)) => Some(secs),
        Some(TokenFault::NoExpiresIn) => None,
        _ => Some(3599),
    };
    state.tokens.insert(
        access_token.clone(),
        IssuedToken {
            scopes,
            email: iss.to_owned(),
            expires_at: lifetime
                .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s)),
        },
    );
    let mut body = serde_json::json!({"access_token": access_token, "token_type": "Bearer"});
    if let Some(secs) = lifetime {
        body["expires_in"] = secs.into();
    }
    if state.token_fault == Some(TokenFault::NoAccessToken)
        && let Some(object) = body.as_object_mut()
    {
        object.remove("access_token");
    }
    json_response(StatusCode::OK, &body)
}
