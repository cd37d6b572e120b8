//! Browser-facing defences applied to every request: cross-site requests are refused (CSRF and
//! cross-site WebSocket hijacking), GraphQL is executed only from JSON bodies, and every response
//! carries security headers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

/// The dashboard's policy: its own scripts, styles and API only; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `host[:port]` of an origin or URL (`https://a.example:8443` → `a.example:8443`).
fn authority(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    rest.split('/').next().unwrap_or_default()
}

/// Whether a state-changing request comes from this server's own pages (or a configured origin).
/// Browsers send `Origin` on every cross-site POST and WebSocket; without it (scripts, curl) there
/// is no ambient cookie to abuse unless `Sec-Fetch-Site` says the browser made it cross-site.
fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| matches!(site, "same-origin" | "none"));
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin != "null" && !host.is_empty() && authority(origin).eq_ignore_ascii_case(host)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// Refuses cross-origin writes and WebSocket upgrades (403), and GraphQL POSTs that are not
/// `application/json` (415: forms and `text/plain` are what a foreign page can send without CORS).
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let upgrade = headers.contains_key(header::UPGRADE);
    if (!reads || upgrade) && !same_origin(headers, &state.policy().allowed_origins) {
        return refuse(StatusCode::FORBIDDEN, "cross-origin request refused");
    }
    if request.uri().path() == "/graphql" && *request.method() == Method::POST && !is_json(headers)
    {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "GraphQL requests must be application/json",
        );
    }
    next.run(request).await
}

/// Security headers for every response; a handler may set its own CSP (GraphiQL does).
pub fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    [
        header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        header(header::X_FRAME_OPTIONS, "DENY"),
        header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        header(header::REFERRER_POLICY, "no-referrer"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn only_the_servers_own_origin_or_a_configured_one_may_write() {
        let own = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(same_origin(&own, &[]));
        let evil = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!same_origin(&evil, &[]));
        let proxied = headers(&[("host", "backend:8080"), ("origin", "https://fw.example")]);
        assert!(!same_origin(&proxied, &[]));
        assert!(same_origin(&proxied, &["https://fw.example".to_string()]));
        let sandboxed = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert!(!same_origin(&sandboxed, &[]));
        let script = headers(&[("host", "127.0.0.1:8080")]);
        assert!(same_origin(&script, &[]));
        let cross_site = headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]);
        assert!(!same_origin(&cross_site, &[]));
    }
}
