//! `llf template …`: every subcommand through the binary.

use crate::{Sandbox, stderr_of, stdout_of};

fn ok(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.llf().args(args).assert().success().get_output().clone()
}

fn fail(sb: &Sandbox, args: &[&str]) -> String {
    stderr_of(&sb.llf().args(args).assert().failure().get_output().clone())
}

#[test]
fn builtins_list_show_use() {
    let sb = Sandbox::new();
    let list = stdout_of(&ok(&sb, &["template", "list"]));
    for id in [
        "code_review",
        "summarize_text",
        "explain_code",
        "translate_text",
        "debug_error",
        "write_tests",
        "refactor_code",
    ] {
        assert!(list.contains(id), "{id} missing: {list}");
    }
    let dev: serde_json::Value = serde_json::from_slice(
        &ok(
            &sb,
            &["template", "list", "--category", "development", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(dev.as_array().unwrap().len(), 5);
    let tagged: serde_json::Value = serde_json::from_slice(
        &ok(&sb, &["template", "list", "--tag", "summary", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(tagged[0]["id"], "summarize_text");

    let show = stdout_of(&ok(&sb, &["template", "show", "translate_text"]));
    assert!(
        show.contains("variables: source_lang, target_lang, text") && show.contains("built-in"),
        "{show}"
    );

    let text_file = sb.dir.path().join("text.txt");
    std::fs::write(&text_file, "Guten Morgen\n").unwrap();
    let out = stdout_of(&ok(
        &sb,
        &[
            "template",
            "use",
            "translate_text",
            "--var",
            "source_lang=German",
            "--var",
            "target_lang=English",
            "--var-file",
            &format!("text={}", text_file.display()),
        ],
    ));
    assert!(
        out.starts_with(
            "Please translate the following text from German to English:\n\nGuten Morgen\n"
        ),
        "{out}"
    );

    let err = fail(
        &sb,
        &[
            "template",
            "use",
            "translate_text",
            "--var",
            "source_lang=German",
        ],
    );
    assert!(
        err.contains("missing value(s) for target_lang, text"),
        "{err}"
    );
    let err = fail(
        &sb,
        &[
            "template",
            "use",
            "summarize_text",
            "--var",
            "text=a",
            "--var",
            "length=2",
            "--var",
            "tone=x",
        ],
    );
    assert!(err.contains("unknown variable(s) tone"), "{err}");
    assert!(
        fail(
            &sb,
            &["template", "use", "summarize_text", "--var", "novalue"]
        )
        .contains("NAME=VALUE")
    );
    assert!(fail(&sb, &["template", "show", "nope"]).contains("no template `nope`"));
    assert!(fail(&sb, &["template", "delete", "code_review"]).contains("built-in"));
    assert!(
        fail(&sb, &["template", "edit", "code_review", "--category", "x"]).contains("built-in")
    );
}

#[test]
fn create_edit_stats_delete_export_import() {
    let sb = Sandbox::new();
    ok(
        &sb,
        &[
            "template",
            "create",
            "Bug Report",
            "--template",
            "Bug in {component}: {summary}",
            "-c",
            "dev",
            "-t",
            "bugs",
            "-d",
            "file a bug",
        ],
    );
    let file = sb.dir.path().join("t.txt");
    std::fs::write(&file, "Write a haiku about {topic}.").unwrap();
    let out = ok(
        &sb,
        &[
            "template",
            "create",
            "Haiku",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert!(stderr_of(&out).contains("variables: topic"));
    assert!(sb.home().join("templates/bug_report.json").is_file());
    assert!(
        fail(&sb, &["template", "create", "Haiku", "--template", "x"]).contains("exists already")
    );
    assert!(fail(&sb, &["template", "create", "Empty"]).contains("--template"));

    ok(
        &sb,
        &[
            "template",
            "use",
            "bug_report",
            "--var",
            "component=db",
            "--var",
            "summary=slow",
        ],
    );
    ok(&sb, &["template", "use", "haiku", "--var", "topic=rain"]);
    ok(&sb, &["template", "use", "haiku", "--var", "topic=snow"]);
    let stats: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["template", "stats", "--json"]).stdout).unwrap();
    assert_eq!(stats[0]["id"], "haiku");
    assert_eq!(stats[0]["count"], 2);
    assert_eq!(stats[1]["count"], 1);
    assert!(stdout_of(&ok(&sb, &["template", "stats"])).contains("haiku"));

    ok(
        &sb,
        &[
            "template",
            "edit",
            "haiku",
            "--template",
            "Write a haiku about {topic} in {season}.",
        ],
    );
    let shown: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["template", "show", "haiku", "--json"]).stdout).unwrap();
    assert_eq!(shown["variables"], serde_json::json!(["topic", "season"]));
    assert_eq!(shown["version"], "1.1");
    assert_eq!(shown["usage_count"], 2);
    assert!(fail(&sb, &["template", "edit", "haiku"]).contains("nothing to change"));

    let export = sb.dir.path().join("shared/templates.json");
    ok(&sb, &["template", "export", "-o", export.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(json["templates"].as_array().unwrap().len(), 2);

    let del = ok(&sb, &["template", "delete", "haiku"]);
    assert!(stderr_of(&del).contains("llf trash restore"));
    assert!(fail(&sb, &["template", "show", "haiku"]).contains("no template"));
    let trash: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["trash", "list", "--type", "template", "--json"]).stdout)
            .unwrap();
    assert_eq!(trash[0]["name"], "haiku");

    // Import brings it back; the still-present one needs --overwrite.
    let err = fail(&sb, &["template", "import", export.to_str().unwrap()]);
    assert!(err.contains("exists already"), "{err}");
    let out = ok(
        &sb,
        &[
            "template",
            "import",
            export.to_str().unwrap(),
            "--overwrite",
        ],
    );
    assert!(stderr_of(&out).contains("imported 2 template(s)"));
    assert!(stdout_of(&ok(&sb, &["template", "show", "haiku"])).contains("{season}"));
}
