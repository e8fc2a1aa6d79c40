//! The template store on a real directory, with the real trash.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;

use llf_core::trash::{Trash, TrashFilter};
use llf_templates::{
    BUILTIN_IDS, NewTemplate, TemplateEdit, TemplateError, TemplateFilter, TemplateStore,
};

fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn greet() -> NewTemplate {
    NewTemplate {
        name: "Greet Someone".into(),
        template: "Hello {who}, in {lang}. Bye {who}.".into(),
        description: "a greeting".into(),
        category: "social".into(),
        tags: vec!["hello".into(), "demo".into()],
        author: Some("me".into()),
    }
}

#[test]
fn builtins_are_there_and_protected() {
    let dir = tempfile::tempdir().unwrap();
    let store = TemplateStore::new(dir.path().join("templates"));
    let all = store.list(&TemplateFilter::default()).unwrap();
    let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, BUILTIN_IDS);
    let cr = store.get("code_review").unwrap();
    assert_eq!(cr.variables, ["language", "code"]);
    assert_eq!(store.get("Code Review").unwrap().id, "code_review");
    assert_eq!(
        store.get("write_tests").unwrap().variables,
        ["language", "code", "test_framework"]
    );
    assert_eq!(
        store.get("translate_text").unwrap().variables,
        ["source_lang", "target_lang", "text"]
    );
    let dev = store
        .list(&TemplateFilter {
            category: Some("development".into()),
            tag: None,
        })
        .unwrap();
    assert_eq!(dev.len(), 5);
    let tagged = store
        .list(&TemplateFilter {
            category: None,
            tag: Some("translation".into()),
        })
        .unwrap();
    assert_eq!(tagged.len(), 1);

    assert!(matches!(
        store.edit("code_review", TemplateEdit::default()),
        Err(TemplateError::BuiltIn(..))
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let trash = Trash::new(dir.path().join("trash"), Trash::DEFAULT_RETENTION);
    let err = rt
        .block_on(store.delete("code_review", &trash))
        .unwrap_err();
    assert!(err.to_string().contains("built-in"), "{err}");
    assert!(matches!(
        store.create(NewTemplate {
            name: "code review".into(),
            template: "x".into(),
            ..NewTemplate::default()
        }),
        Err(TemplateError::Exists(_))
    ));
}

#[test]
fn create_render_count_edit_delete_restore() {
    let dir = tempfile::tempdir().unwrap();
    let store = TemplateStore::new(dir.path().join("templates"));
    let t = store.create(greet()).unwrap();
    assert_eq!(t.id, "greet_someone");
    assert_eq!(t.variables, ["who", "lang"]);
    assert!(dir.path().join("templates/greet_someone.json").is_file());

    let out = store
        .render(
            "greet_someone",
            &vals(&[("who", "Ada"), ("lang", "Deutsch")]),
        )
        .unwrap();
    assert_eq!(out, "Hello Ada, in Deutsch. Bye Ada.");
    store
        .render("summarize_text", &vals(&[("text", "t"), ("length", "2")]))
        .unwrap();
    store
        .render("greet_someone", &vals(&[("who", "B"), ("lang", "x")]))
        .unwrap();

    // Errors name what is missing or unknown and do not count as a use.
    let err = store
        .render("greet_someone", &vals(&[("who", "Ada")]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing value(s) for lang; this template needs: who, lang"
    );
    let err = store
        .render(
            "greet_someone",
            &vals(&[("who", "A"), ("lang", "B"), ("mood", "C")]),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown variable(s) mood"),
        "{err}"
    );
    let stats = store.stats().unwrap();
    assert_eq!((stats[0].id.as_str(), stats[0].count), ("greet_someone", 2));
    assert_eq!(
        (stats[1].id.as_str(), stats[1].count),
        ("summarize_text", 1)
    );

    let edited = store
        .edit(
            "greet_someone",
            TemplateEdit {
                template: Some("Hi {name}".into()),
                tags: Some(vec!["x".into()]),
                ..TemplateEdit::default()
            },
        )
        .unwrap();
    assert_eq!(edited.variables, ["name"]);
    assert_eq!(edited.version, "1.1");
    assert_eq!(store.get("greet_someone").unwrap().tags, ["x"]);

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let trash = Trash::new(dir.path().join("trash"), Trash::DEFAULT_RETENTION);
    let item = rt.block_on(store.delete("greet_someone", &trash)).unwrap();
    assert!(matches!(
        store.get("greet_someone"),
        Err(TemplateError::NotFound(_))
    ));
    assert_eq!(
        rt.block_on(trash.list(&TrashFilter::default()))
            .unwrap()
            .len(),
        1
    );
    rt.block_on(trash.restore(&item.id)).unwrap();
    assert_eq!(store.get("greet_someone").unwrap().template, "Hi {name}");
}

#[test]
fn export_and_import_between_stores() {
    let dir = tempfile::tempdir().unwrap();
    let a = TemplateStore::new(dir.path().join("a"));
    a.create(greet()).unwrap();
    a.create(NewTemplate {
        name: "Other".into(),
        template: "{x}".into(),
        ..NewTemplate::default()
    })
    .unwrap();
    let file = dir.path().join("export/templates.json");
    assert_eq!(a.export(&[], &file).unwrap(), 2);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(json["format"], "llf-templates");
    assert_eq!(json["version"], 1);

    let b = TemplateStore::new(dir.path().join("b"));
    assert_eq!(b.import(&file, false).unwrap(), ["greet_someone", "other"]);
    assert_eq!(
        b.get("greet_someone").unwrap(),
        a.get("greet_someone").unwrap()
    );
    // Again: refused without --overwrite, nothing changes; accepted with it.
    assert!(matches!(
        b.import(&file, false),
        Err(TemplateError::Exists(_))
    ));
    assert_eq!(b.import(&file, true).unwrap().len(), 2);

    // A single exported built-in cannot be imported over the built-in.
    let one = dir.path().join("one.json");
    a.export(&["code_review".to_owned()], &one).unwrap();
    assert!(matches!(
        b.import(&one, true),
        Err(TemplateError::BuiltIn(..))
    ));
    // Garbage is a parse error naming the file, with the parser's reason printed once.
    std::fs::write(&one, "{").unwrap();
    let err = b.import(&one, false).unwrap_err();
    assert!(matches!(err, TemplateError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("one.json"), "{err}");
    llf_testkit::errors::assert_each_cause_once(&err);
    // So is a file that cannot be read.
    let err = b
        .import(&dir.path().join("missing.json"), false)
        .unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
    llf_testkit::errors::assert_each_cause_once(&err);
}

#[test]
fn concurrent_renders_and_edits_all_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = TemplateStore::new(dir.path().join("templates"));
    store.create(greet()).unwrap();
    // Eight processes (threads, each with its own store) render and edit at once.
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = TemplateStore::new(dir.path().join("templates"));
            std::thread::spawn(move || {
                store
                    .render("greet_someone", &vals(&[("who", "A"), ("lang", "B")]))
                    .unwrap();
                let tag = format!("t{i}");
                store
                    .edit(
                        "greet_someone",
                        TemplateEdit {
                            description: Some(tag),
                            ..TemplateEdit::default()
                        },
                    )
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.usage_of("greet_someone").unwrap(), 8);
    // Every edit bumped the version once: 1.0 → 1.8.
    assert_eq!(store.get("greet_someone").unwrap().version, "1.8");
}
