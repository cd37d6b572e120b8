//! The one redaction of URLs for every output (API, errors, logs, audit): camera and database URLs
//! carry credentials in many places, and none of them may leave the server.

/// Where a URL token ends inside free text (an error message, a log line).
fn ends_token(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Words that make a path segment a credential (`/user=admin_password=123/`, `/token/abc`).
const CREDENTIAL_WORDS: [&str; 8] = [
    "pass", "pwd", "secret", "token", "auth", "key", "user", "login",
];

fn carries_credential(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    segment.contains('=') || CREDENTIAL_WORDS.iter().any(|w| lower.contains(w))
}

/// Replaces, in every `scheme://…` URL found in `text`:
///
/// * the userinfo (`user:password@`, up to the LAST `@` of the URL, so an unencoded `/` or `@`
///   in a password is covered) with `***@`;
/// * every query value with `***` (`?user=***&password=***`), and the fragment;
/// * every path segment that carries a credential (contains `=`, or a word such as `pass`,
///   `pwd`, `token`, `user`) with `***`, and the segment after such a word (its value).
///
/// Hosts, ports and ordinary path segments stay, so that an operator can still tell cameras
/// apart. Text without URLs is returned as is.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail.find(ends_token).unwrap_or(tail.len());
        out.push_str(&redact_one(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// One URL after its `scheme://`.
fn redact_one(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let url = match url.rfind('@') {
        Some(at) => {
            out.push_str("***@");
            &url[at + 1..]
        }
        None => url,
    };
    let (url, fragment) = match url.split_once('#') {
        Some((url, _)) => (url, Some("***")),
        None => (url, None),
    };
    let (url, query) = match url.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (url, None),
    };
    let (host, path) = url.split_once('/').unwrap_or((url, ""));
    out.push_str(host);
    if url.len() > host.len() {
        // `/token/abc`: the segment after a credential word is its value.
        let mut value_follows = false;
        for segment in path.split('/') {
            out.push('/');
            let credential = carries_credential(segment);
            out.push_str(if credential || value_follows {
                "***"
            } else {
                segment
            });
            value_follows = credential && !segment.contains('=');
        }
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}=***"),
                None if pair.is_empty() => String::new(),
                None => "***".to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn userinfo_never_shows() {
        assert_eq!(
            redact_url("rtsp://admin:s3cr3t@10.0.0.5:554/stream1"),
            "rtsp://***@10.0.0.5:554/stream1"
        );
        assert_eq!(redact_url("rtsp://user@cam/x"), "rtsp://***@cam/x");
        assert_eq!(redact_url("rtsp://u:p@h"), "rtsp://***@h");
        // An unencoded '/' or '@' in the password.
        assert_eq!(
            redact_url("rtsp://admin:pa/ss@10.0.0.5/live"),
            "rtsp://***@10.0.0.5/live"
        );
        assert_eq!(
            redact_url("rtsp://admin:p@ss@10.0.0.5:554/live"),
            "rtsp://***@10.0.0.5:554/live"
        );
        assert_eq!(
            redact_url("postgres://postgres:pw@127.0.0.1:5432/facewatch"),
            "postgres://***@127.0.0.1:5432/facewatch"
        );
    }

    #[test]
    fn every_query_value_and_credential_segment_goes() {
        assert_eq!(
            redact_url("rtsp://cam/live?user=admin&password=x&channel=1"),
            "rtsp://cam/live?user=***&password=***&channel=***"
        );
        assert_eq!(
            redact_url("http://cam/snap.cgi?pwd=hunter2"),
            "http://cam/snap.cgi?pwd=***"
        );
        assert_eq!(
            redact_url("rtsp://10.0.0.9:554/user=admin_password=123_channel=1_stream=0.sdp"),
            "rtsp://10.0.0.9:554/***"
        );
        assert_eq!(
            redact_url("rtsp://cam/token/abc/live#secret"),
            "rtsp://cam/***/***/live#***"
        );
    }

    #[test]
    fn urls_inside_text_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_url("Could not open \"rtsp://a:b@h/x?pwd=1\": 401 Unauthorized"),
            "Could not open \"rtsp://***@h/x?pwd=***\": 401 Unauthorized"
        );
        assert_eq!(
            redact_url("first rtsp://a:b@h1/x then http://h2/y?k=v"),
            "first rtsp://***@h1/x then http://h2/y?k=***"
        );
        assert_eq!(redact_url("rtsp://cam.local/live"), "rtsp://cam.local/live");
        assert_eq!(
            redact_url("file:///videos/demo.mp4"),
            "file:///videos/demo.mp4"
        );
        assert_eq!(redact_url("no url here"), "no url here");
    }
}
