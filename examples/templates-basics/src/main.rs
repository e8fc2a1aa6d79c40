//! Lists the built-in templates, renders one, creates a user template, shows what a missing
//! variable looks like, and prints usage counts.
//!
//! Run: `cargo run -p example-templates-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use std::collections::BTreeMap;

use llf_templates::{NewTemplate, TemplateFilter, TemplateStore};

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = TemplateStore::new(dir.path());
    for t in store.list(&TemplateFilter::default())? {
        println!("{:<16} {:<12} {}", t.id, t.category, t.variables.join(", "));
    }

    let values = BTreeMap::from([
        ("language".to_owned(), "rust".to_owned()),
        (
            "code".to_owned(),
            "fn add(a: i32, b: i32) -> i32 { a + b }".to_owned(),
        ),
    ]);
    println!("\n{}\n", store.render("explain_code", &values)?);

    store.create(NewTemplate {
        name: "Commit message".into(),
        template: "Write a commit message for this diff, {style} style:\n{diff}".into(),
        category: "development".into(),
        tags: vec!["git".into()],
        ..NewTemplate::default()
    })?;
    let err = store.render(
        "commit_message",
        &BTreeMap::from([("diff".to_owned(), "+x".to_owned())]),
    );
    println!(
        "missing a value: {}",
        err.err().map(|e| e.to_string()).unwrap_or_default()
    );

    for u in store.stats()? {
        println!("{} used {} time(s)", u.id, u.count);
    }
    Ok(())
}
