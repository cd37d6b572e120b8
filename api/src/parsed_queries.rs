//! Parsed GraphQL documents by query text. Clients send the same few queries over and over (the
//! dashboard's, a camera integration's `recordSighting`); parsing each again cost a measurable
//! share of a small request's CPU. Only parsing is skipped: every request is still validated and
//! executed against its caller's rights.

use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;
use hashlink::LruCache;

/// Documents kept (least recently used ones go first).
const CAPACITY: usize = 256;
/// Longer query texts are parsed every time (and never held).
const MAX_QUERY_BYTES: usize = 8 * 1024;

pub struct ParsedQueries {
    documents: Mutex<LruCache<String, ExecutableDocument>>,
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self {
            documents: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl ParsedQueries {
    /// Gives `request` its parsed document from the cache, or parses it and remembers the result.
    /// A query that does not parse is left alone: executing it reports the syntax error.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_QUERY_BYTES {
            return;
        }
        let cached = self.lock().get(&request.query).cloned();
        if let Some(document) = cached {
            request.set_parsed_query(document);
            return;
        }
        if let Ok(document) = request.parsed_query() {
            let document = document.clone();
            self.lock().insert(request.query.clone(), document);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, ExecutableDocument>> {
        // A panic while holding the lock leaves a consistent cache: keep using it.
        self.documents.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_query_gets_the_document_parsed_the_first_time() {
        let cache = ParsedQueries::default();
        let mut first = async_graphql::Request::new("{ employees { id } }");
        cache.prepare(&mut first);
        let mut again = async_graphql::Request::new("{ employees { id } }");
        cache.prepare(&mut again);
        let parsed = again.parsed_query().unwrap();
        assert_eq!(parsed.operations.iter().count(), 1);
        assert_eq!(cache.lock().len(), 1);
    }

    #[test]
    fn syntax_errors_and_huge_queries_are_not_kept() {
        let cache = ParsedQueries::default();
        let mut broken = async_graphql::Request::new("{ employees { id ");
        cache.prepare(&mut broken);
        let mut huge =
            async_graphql::Request::new(format!("{{ employees {{ id }} }} #{}", "x".repeat(9000)));
        cache.prepare(&mut huge);
        assert_eq!(cache.lock().len(), 0);
        assert!(
            broken.parsed_query().is_err(),
            "the error is still reported"
        );
    }
}
