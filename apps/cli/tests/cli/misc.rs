//! Global flags, help, completions, logging.

use predicates::prelude::*;

use crate::{Sandbox, stdout_of};

#[test]
fn version_and_help() {
    let sb = Sandbox::new();
    sb.llf()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("llf {}\n", env!("CARGO_PKG_VERSION")));
    let out = sb
        .llf()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    for word in [
        "config",
        "trash",
        "completions",
        "--config",
        "--debug",
        "--verbose",
        "--quiet",
    ] {
        assert!(text.contains(word), "help lacks {word}: {text}");
    }
    sb.llf()
        .args(["config", "set", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("read as JSON"));
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    sb.llf().arg("frobnicate").assert().code(2);
    sb.llf()
        .args(["-v", "-q", "config", "path"])
        .assert()
        .code(2);
}

#[test]
fn completions_for_each_shell() {
    let sb = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef llf"),
        ("fish", "complete -c llf"),
    ] {
        sb.llf()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("trash")));
    }
    sb.llf().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn debug_writes_a_timestamped_log_file_with_crate_events() {
    let sb = Sandbox::new();
    let out = sb
        .llf()
        .args([
            "--debug",
            "config",
            "set",
            "inference_params.temperature",
            "0.3",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = crate::stderr_of(&out);
    assert!(stderr.contains("debug log: "), "{stderr}");
    let logs: Vec<_> = std::fs::read_dir(sb.home().join("state/logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1);
    let name = logs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("llf-debug-") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&logs[0]).unwrap();
    // An event from llf-config itself, so the filter covers the library crates.
    assert!(text.contains("configuration saved"), "{text}");
    assert!(text.contains("DEBUG"), "{text}");
}

#[test]
fn quiet_hides_warnings_and_default_shows_them() {
    let sb = Sandbox::new();
    sb.write_config(serde_json::json!({"mystery": 1}));
    sb.llf()
        .args(["config", "path"])
        .assert()
        .success()
        .stderr(predicate::str::contains("mystery"));
    sb.llf()
        .args(["-q", "config", "path"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn closed_stdout_is_not_an_error() {
    let sb = Sandbox::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("llf"))
        .args(["completions", "zsh"])
        .env("LLF_HOME", sb.home())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{:?}",
        out
    );
    assert!(out.status.success(), "{:?}", out);
}

#[test]
fn no_colour_codes_reach_a_stderr_that_is_not_a_terminal() {
    let sb = Sandbox::new();
    // An unknown key makes every command warn; the warning goes to a pipe here.
    sb.write_config(serde_json::json!({"no_such_section": {"x": 1}}));
    let out = sb.llf().args(["-v", "config", "path"]).output().unwrap();
    let err = crate::stderr_of(&out);
    assert!(err.contains("no_such_section"), "{err}");
    assert!(!err.contains('\x1b'), "ANSI codes in a pipe: {err:?}");
}
