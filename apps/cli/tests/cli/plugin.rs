//! `llf plugin …` and `llf analytics report`, driven as a user would, with chats against the
//! scripted fake endpoint.

use std::path::{Path, PathBuf};

use llf_testkit::{FakeServer, Reply};

use crate::{Sandbox, stdout_of, tokio_rt};

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/plugin-basics/plugins")
        .join(name)
}

/// Plugin processes run as `nobody` when the tests run as root: the sandbox's home must let
/// them through, as a user's home directory does.
fn reachable(sb: &Sandbox) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sb.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
}

#[test]
fn plugins_install_list_info_disable_enable_and_remove_and_a_chat_runs_them() {
    let rt = tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![
        Reply::stream_text(&["Noted."]),
        Reply::stream_text(&["Again."]),
    ]));
    let sb = Sandbox::new();
    reachable(&sb);
    sb.remote_config(&fake.base_url(), None);

    let out = sb
        .llf()
        .args(["plugin", "install"])
        .arg(shipped("redactor"))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).starts_with("Installed plugin redactor 1.0.0"),
        "{}",
        stdout_of(&out)
    );

    let out = sb
        .llf()
        .args(["plugin", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).contains("redactor 1.0.0 (enabled)"),
        "{}",
        stdout_of(&out)
    );

    let out = sb
        .llf()
        .args(["plugin", "info", "redactor", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["hooks"], serde_json::json!(["pre_request"]), "{info}");
    assert_eq!(info["order"], -10);

    sb.llf()
        .args(["chat", "write to jane@example.com"])
        .assert()
        .success()
        .stdout("Noted.\n");
    let sent = fake.requests()[0].body["messages"].clone();
    let last = sent.as_array().unwrap().last().unwrap()["content"].clone();
    assert_eq!(last, "write to [email]");

    sb.llf()
        .args(["plugin", "disable", "redactor"])
        .assert()
        .success();
    let out = sb
        .llf()
        .args(["plugin", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["plugins"][0]["enabled"], false);
    sb.llf()
        .args(["chat", "write to jane@example.com"])
        .assert()
        .success();
    let sent = fake.requests()[1].body["messages"].clone();
    let last = sent.as_array().unwrap().last().unwrap()["content"].clone();
    assert_eq!(last, "write to jane@example.com");

    sb.llf()
        .args(["plugin", "enable", "redactor"])
        .assert()
        .success();
    sb.llf()
        .args(["plugin", "reload"])
        .assert()
        .success()
        .stdout("redactor: started\n");
    let out = sb
        .llf()
        .args(["plugin", "remove", "redactor"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).contains("to the trash"),
        "{}",
        stdout_of(&out)
    );
    let out = sb
        .llf()
        .args(["plugin", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).starts_with("No plugins installed"),
        "{}",
        stdout_of(&out)
    );
    let out = sb
        .llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).contains("plugin redactor"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn analytics_report_counts_a_mixed_session() {
    let rt = tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![
        Reply::stream_text(&["One."]),
        Reply::stream_text(&["Two."]),
        Reply::error(500, "boom"),
    ]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    for q in ["first", "second"] {
        sb.llf().args(["chat", q]).assert().success();
    }
    sb.llf().args(["chat", "third"]).assert().failure();

    let out = sb
        .llf()
        .args(["analytics", "report", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["totals"]["requests"], 3, "{r}");
    assert_eq!(r["totals"]["errors"], 1, "{r}");
    assert_eq!(r["models"][0]["model"], "fake-model", "{r}");
    assert_eq!(r["days"].as_array().unwrap().len(), 1);
    assert!(
        r["latency"]["total_ms"]["p50"].as_f64().unwrap() > 0.0,
        "{r}"
    );

    let out = sb
        .llf()
        .args(["analytics", "report"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    assert!(text.starts_with("3 requests, 1 failed (33.3 %)"), "{text}");
    let out = sb
        .llf()
        .args(["analytics", "export"])
        .assert()
        .success()
        .get_output()
        .clone();
    let csv = stdout_of(&out);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("time,conversation,model"), "{csv}");
    assert!(
        lines[3].contains(",fake-model,") && lines[3].contains("500"),
        "{csv}"
    );
    let out = sb
        .llf()
        .args(["analytics", "export", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 3);
    let out = sb
        .llf()
        .args(["analytics", "purge", "--older-than-days", "0"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout_of(&out),
        "Deleted 3 usage events older than 0 days\n"
    );
    let out = sb
        .llf()
        .args(["analytics", "report", "--model", "other"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_of(&out), "No usage recorded yet.\n");
}
