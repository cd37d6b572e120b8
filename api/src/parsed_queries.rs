//! Parsed GraphQL documents by query text, and whether each has passed full validation. Clients
//! send the same few queries over and over (the dashboard's, a camera integration's
//! `recordSighting`); parsing and validating each again cost a measurable share of a small
//! request's CPU. Every request is still executed against its caller's rights, and its variables
//! are still checked (complexity, depth, and by the resolvers that parse them).

use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;
use hashlink::LruCache;

/// Documents kept (least recently used ones go first).
const CAPACITY: usize = 256;
/// Longer query texts are parsed and validated every time (and never held).
const MAX_QUERY_BYTES: usize = 8 * 1024;

#[derive(Clone)]
struct Known {
    document: ExecutableDocument,
    /// A request with this text has passed the schema's full validation.
    validated: bool,
}

/// What [`ParsedQueries::prepare`] knows about a request's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// It passed full validation before: only what depends on variables needs checking.
    Passed,
    /// Not known to be valid: validate it fully, then tell [`ParsedQueries::passed_validation`]
    /// the query text given here if it passed (None: the document is not kept).
    Required(Option<String>),
}

pub struct ParsedQueries {
    documents: Mutex<LruCache<String, Known>>,
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
    pub fn prepare(&self, request: &mut async_graphql::Request) -> Validation {
        if request.query.len() > MAX_QUERY_BYTES {
            return Validation::Required(None);
        }
        let cached = self.lock().get(&request.query).cloned();
        if let Some(known) = cached {
            request.set_parsed_query(known.document);
            if known.validated {
                return Validation::Passed;
            }
            return Validation::Required(Some(request.query.clone()));
        }
        let Ok(document) = request.parsed_query() else {
            return Validation::Required(None);
        };
        let known = Known {
            document: document.clone(),
            validated: false,
        };
        self.lock().insert(request.query.clone(), known);
        Validation::Required(Some(request.query.clone()))
    }

    /// A request with `query` passed full validation (it was answered without errors).
    pub fn passed_validation(&self, query: &str) {
        if let Some(known) = self.lock().get_mut(query) {
            known.validated = true;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Known>> {
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
        let query = "{ employees { id } }";
        let mut first = async_graphql::Request::new(query);
        assert_eq!(
            cache.prepare(&mut first),
            Validation::Required(Some(query.into()))
        );
        let mut again = async_graphql::Request::new(query);
        assert_eq!(
            cache.prepare(&mut again),
            Validation::Required(Some(query.into()))
        );
        let parsed = again.parsed_query().unwrap();
        assert_eq!(parsed.operations.iter().count(), 1);
        assert_eq!(cache.lock().len(), 1);
    }

    #[test]
    fn only_a_document_that_passed_validation_skips_it() {
        let cache = ParsedQueries::default();
        let query = "{ employees { id } }";
        cache.prepare(&mut async_graphql::Request::new(query));
        cache.passed_validation(query);
        let mut again = async_graphql::Request::new(query);
        assert_eq!(cache.prepare(&mut again), Validation::Passed);
        // One character more is another document.
        let other = "{ employees { id  } }";
        let mut request = async_graphql::Request::new(other);
        assert_eq!(
            cache.prepare(&mut request),
            Validation::Required(Some(other.into()))
        );
        // A text never parsed here is not marked.
        let unseen = "{ cameras { id } }";
        cache.passed_validation(unseen);
        let mut request = async_graphql::Request::new(unseen);
        assert_eq!(
            cache.prepare(&mut request),
            Validation::Required(Some(unseen.into()))
        );
    }

    #[test]
    fn syntax_errors_and_huge_queries_are_not_kept() {
        let cache = ParsedQueries::default();
        let mut broken = async_graphql::Request::new("{ employees { id ");
        assert_eq!(cache.prepare(&mut broken), Validation::Required(None));
        let huge = format!("{{ employees {{ id }} }} #{}", "x".repeat(9000));
        let mut request = async_graphql::Request::new(huge.clone());
        assert_eq!(cache.prepare(&mut request), Validation::Required(None));
        assert_eq!(cache.lock().len(), 0);
        assert!(
            broken.parsed_query().is_err(),
            "the error is still reported"
        );
    }
}
