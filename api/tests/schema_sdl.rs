//! The dashboard's GraphQL types are generated from `frontend/schema.graphql`: this test fails when
//! the server's schema changed and that file was not regenerated, so a schema change breaks the
//! build of the dashboard (`npm run build` checks every query against the file), not a page.
//! Regenerate with `FACEWATCH_WRITE_SCHEMA=1 cargo test -p facewatch-api --test schema_sdl`.

use std::path::Path;

#[test]
fn the_dashboards_schema_file_is_the_servers_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/schema.graphql");
    let sdl = facewatch_api::schema_sdl();
    if std::env::var_os("FACEWATCH_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == sdl,
        "frontend/schema.graphql is not the server's schema: run \
         FACEWATCH_WRITE_SCHEMA=1 cargo test -p facewatch-api --test schema_sdl, then npm run build"
    );
}
