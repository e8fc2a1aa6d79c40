//! A generated tool passes its own test unedited, in each language.

use llf_core::tool::ToolExecutor;
use llf_tools::scaffold::{ParamSpec, ToolLang, ToolTemplate, create_tool, run_tool_tests};
use serde_json::json;

use crate::{Bench, call};

async fn generated_tool_passes(lang: ToolLang) {
    let b = Bench::new();
    let t = ToolTemplate {
        name: "greeter".into(),
        lang,
        description: "Greets someone".into(),
        category: "demo".into(),
        params: vec![
            ParamSpec::parse("who:string:Name of the person").unwrap(),
            ParamSpec::parse("times:integer?").unwrap(),
        ],
    };
    let dir = create_tool(&b.tools_dir(), &t).unwrap();
    if lang == ToolLang::Rust {
        llf_tools::scaffold::build_rust_tool(&dir).await.unwrap();
    }
    for f in [
        "config.json",
        "tool_definition.json",
        "tests.json",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let r = b.registry();
    let results = run_tool_tests(&r, "greeter").await.unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].passed, "{:?}", results[0].message);
    // Generated tools start disabled: the model does not see them until enabled.
    assert!(!r.specs().iter().any(|s| s.name == "greeter"));
    let out = r.execute(&call("greeter", json!({"who": "x"}))).await;
    assert!(!out.success);
    // And a second scaffold with the same name is refused.
    assert!(create_tool(&b.tools_dir(), &t).is_err());
}

#[tokio::test]
async fn python_tool_passes_its_test() {
    generated_tool_passes(ToolLang::Python).await;
}

#[tokio::test]
async fn bash_tool_passes_its_test() {
    generated_tool_passes(ToolLang::Bash).await;
}

#[tokio::test]
async fn rust_tool_builds_and_passes_its_test() {
    generated_tool_passes(ToolLang::Rust).await;
}

#[test]
fn parameter_specs_are_checked() {
    assert!(ParamSpec::parse("a b:string").is_err());
    assert!(ParamSpec::parse("a:list").is_err());
    let p = ParamSpec::parse("n:number?:how many").unwrap();
    assert!(!p.required);
    assert_eq!(p.description, "how many");
}
