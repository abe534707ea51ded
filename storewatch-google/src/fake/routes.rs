//! Routing of the fake: Google's paths hold `:` verbs and `%2F`-encoded object names, so
//! requests are matched on the raw path rather than with a router pattern.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;

use super::{Shared, google_error, publisher, reporting, storage, token};

/// The fake's endpoints, for request counts and fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /token` (G0).
    Token,
    /// `GET /v1beta1/apps/{package}/{metricSet}` (G1).
    Freshness,
    /// `POST /v1beta1/apps/{package}/{metricSet}:query` (G2).
    Query,
    /// `GET /v1beta1/apps:search` (G3).
    AppsSearch,
    /// `GET /storage/v1/b/{bucket}/o` (G4).
    List,
    /// `GET /storage/v1/b/{bucket}/o/{object}?alt=media` (G5).
    Download,
    /// `GET /storage/v1/b/{bucket}/o/{object}` without `alt=media`: metadata.
    Metadata,
    /// `GET /androidpublisher/v3/applications/{package}/reviews` (G6).
    Reviews,
}

pub(super) enum Route {
    Token,
    Freshness {
        package: String,
        set: String,
    },
    Query {
        package: String,
        set: String,
    },
    AppsSearch,
    List {
        bucket: String,
    },
    Object {
        bucket: String,
        raw_name: String,
        media: bool,
    },
    Reviews {
        package: String,
    },
    Unknown,
}

impl Route {
    pub(super) fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Route::Token => Endpoint::Token,
            Route::Freshness { .. } => Endpoint::Freshness,
            Route::Query { .. } => Endpoint::Query,
            Route::AppsSearch => Endpoint::AppsSearch,
            Route::List { .. } => Endpoint::List,
            Route::Object { media: true, .. } => Endpoint::Download,
            Route::Object { media: false, .. } => Endpoint::Metadata,
            Route::Reviews { .. } => Endpoint::Reviews,
            Route::Unknown => return None,
        })
    }
}

pub(super) fn query_params(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

pub(super) fn route(method: &Method, uri: &Uri) -> Route {
    let path = uri.path();
    let params = query_params(uri);
    let media = params.get("alt").is_some_and(|a| a == "media");
    if method == Method::POST && path == "/token" {
        return Route::Token;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["v1beta1", "apps:search"]) => Route::AppsSearch,
        (Method::GET, ["v1beta1", "apps", package, set]) if !set.contains(':') => {
            Route::Freshness {
                package: decode(package),
                set: decode(set),
            }
        }
        (Method::POST, ["v1beta1", "apps", package, verb]) => match verb.split_once(':') {
            Some((set, "query")) => Route::Query {
                package: decode(package),
                set: decode(set),
            },
            _ => Route::Unknown,
        },
        (Method::GET, ["storage", "v1", "b", bucket, "o"]) => Route::List {
            bucket: decode(bucket),
        },
        (Method::GET, ["storage", "v1", "b", bucket, "o", rest @ ..]) if !rest.is_empty() => {
            Route::Object {
                bucket: decode(bucket),
                raw_name: rest.join("/"),
                media,
            }
        }
        (Method::GET, ["download", "storage", "v1", "b", bucket, "o", rest @ ..])
            if !rest.is_empty() =>
        {
            Route::Object {
                bucket: decode(bucket),
                raw_name: rest.join("/"),
                media: true,
            }
        }
        (Method::GET, ["androidpublisher", "v3", "applications", package, "reviews"]) => {
            Route::Reviews {
                package: decode(package),
            }
        }
        _ => Route::Unknown,
    }
}

pub(super) fn dispatch(
    shared: &Arc<Shared>,
    route: Route,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let params = query_params(uri);
    match route {
        Route::Token => token::token(shared, headers, body),
        Route::Freshness { package, set } => reporting::freshness(shared, headers, &package, &set),
        Route::Query { package, set } => reporting::query(shared, headers, &package, &set, body),
        Route::AppsSearch => reporting::apps_search(shared, headers, &params),
        Route::List { bucket } => storage::list(shared, headers, &bucket, &params),
        Route::Object {
            bucket,
            raw_name,
            media,
        } => storage::object(shared, headers, &bucket, &raw_name, media),
        Route::Reviews { package } => publisher::reviews(shared, headers, &package, &params),
        Route::Unknown => google_error(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on this server.",
            "NOT_FOUND",
            None,
        ),
    }
}

/// Who a bearer token belongs to, or the 401/403 Google gives.
pub(super) enum Caller {
    Ok { email: String },
    Refused(Response),
}

/// Checks `Authorization: Bearer` and that the token carries one of `scopes`.
pub(super) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    scopes: &[&str],
    storage: bool,
) -> Caller {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let state = shared.lock();
    let issued = bearer.and_then(|b| state.tokens.get(b));
    let unauthenticated = || {
        if storage {
            super::storage_error(StatusCode::UNAUTHORIZED, "Invalid Credentials", "authError")
        } else {
            google_error(
                StatusCode::UNAUTHORIZED,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
                "UNAUTHENTICATED",
                None,
            )
        }
    };
    let Some(issued) = issued else {
        return Caller::Refused(unauthenticated());
    };
    if issued
        .expires_at
        .is_some_and(|t| t <= std::time::Instant::now())
    {
        return Caller::Refused(unauthenticated());
    }
    if !issued.scopes.iter().any(|s| scopes.contains(&s.as_str())) {
        return Caller::Refused(if storage {
            super::storage_error(
                StatusCode::FORBIDDEN,
                "Provided scope(s) are not authorized",
                "forbidden",
            )
        } else {
            google_error(
                StatusCode::FORBIDDEN,
                "Request had insufficient authentication scopes.",
                "PERMISSION_DENIED",
                Some(serde_json::json!([{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": "playdeveloperreporting.googleapis.com"},
                }])),
            )
        });
    }
    Caller::Ok {
        email: issued.email.clone(),
    }
}
