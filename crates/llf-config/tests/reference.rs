//! docs/CONFIG.md is what the config types render: change a key, its default or its doc comment
//! and this test says to regenerate the page (LLF_UPDATE_DOCS=1 rewrites it).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::PathBuf;

fn page() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md")
}

#[test]
fn the_config_reference_is_current() {
    let rendered = llf_config::reference_markdown();
    if std::env::var_os("LLF_UPDATE_DOCS").is_some() {
        std::fs::write(page(), &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(page()).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/CONFIG.md is out of date with the config types; regenerate it with\n  \
         LLF_UPDATE_DOCS=1 cargo test -p llf-config --test reference"
    );
}

#[test]
fn the_reference_covers_every_section_and_key() {
    let page = llf_config::reference_markdown();
    let defaults = serde_json::to_value(llf_config::Config::default()).unwrap();
    for (section, value) in defaults.as_object().unwrap() {
        assert!(page.contains(&format!("| `{section}` |")), "{section}");
        if let Some(keys) = value.as_object() {
            assert!(page.contains(&format!("## `{section}`")), "{section}");
            for key in keys.keys() {
                assert!(page.contains(&format!("| `{key}` |")), "{section}.{key}");
            }
        }
    }
    // Defaults, types, allowed values and descriptions come from the code.
    assert!(
        page.contains("| `max_tokens` | integer (optional) | `512` |"),
        "{page}"
    );
    assert!(page.contains("`error`, `trim_oldest`"), "{page}");
}

#[test]
fn the_schema_validates_shapes_an_editor_would_check() {
    let schema = llf_config::json_schema();
    assert_eq!(schema["type"], "object");
    let props = schema["properties"].as_object().unwrap();
    assert!(props.contains_key("llm_endpoint") && props.contains_key("local_llm_servers"));
    // Secrets are strings that are never shown back.
    let text = schema.to_string();
    assert!(text.contains("\"writeOnly\":true"), "{text}");
}
