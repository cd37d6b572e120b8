//! Reading a camera's MJPEG live view (`multipart/x-mixed-replace`) part by part.

use std::time::Duration;

use futures::StreamExt;

/// One frame of an MJPEG stream.
pub struct Part {
    pub jpeg: Vec<u8>,
    /// The `X-Captured-At` header: when the camera delivered the frame (Unix µs).
    pub captured_at_us: i64,
    /// The `X-Analysed-At` header: when the pipeline had analysed it (Unix µs).
    pub analysed_at_us: i64,
    /// When the whole part had arrived here (Unix µs).
    pub received_at_us: i64,
}

/// Reads the parts of a `multipart/x-mixed-replace` response one by one.
pub struct MjpegReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buffer: Vec<u8>,
}

impl MjpegReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: response.bytes_stream().boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next part (panics when none comes within 30 s or the stream ends).
    pub async fn next(&mut self) -> Part {
        loop {
            // A part: headers, blank line, Content-Length bytes of JPEG, then the next boundary.
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).to_string();
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_string())
                };
                if let Some(length) = header("Content-Length:") {
                    let length: usize = length.parse().unwrap();
                    if self.buffer.len() >= end + 4 + length {
                        let jpeg = self.buffer[end + 4..end + 4 + length].to_vec();
                        let captured_at_us = header("X-Captured-At:").unwrap().parse().unwrap();
                        let analysed_at_us = header("X-Analysed-At:").unwrap().parse().unwrap();
                        self.buffer.drain(..end + 4 + length);
                        return Part {
                            jpeg,
                            captured_at_us,
                            analysed_at_us,
                            received_at_us: chrono::Utc::now().timestamp_micros(),
                        };
                    }
                } else {
                    // A boundary line before the headers.
                    let line_end = find(&self.buffer, b"\r\n").unwrap();
                    self.buffer.drain(..line_end + 2);
                    continue;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.stream.next())
                .await
                .expect("a live frame within 30 s")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.extend_from_slice(&chunk);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
