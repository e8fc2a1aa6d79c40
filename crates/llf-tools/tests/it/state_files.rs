//! The files llf-tools reads, changes and rewrites, shared by several `llf` processes: tool
//! enable/disable state, remembered approvals, and the audit log with its anchor.

use llf_tools::ToolSet;
use llf_tools::approval::{ApprovalDecision, ApprovalStore};
use llf_tools::audit::{AuditEvent, AuditEventType, AuditLog};
use serde_json::json;

use crate::Bench;

const OK: &str = "#!/bin/sh\necho '{\"ok\": true}'\n";

#[test]
fn concurrent_enable_and_disable_keep_every_choice() {
    let b = Bench::new();
    let names: Vec<String> = (0..8).map(|i| format!("tool{i}")).collect();
    for n in &names {
        b.add(n, OK, json!({}), json!({}));
    }
    // Eight processes (threads here, each with its own ToolSet) disable one tool each at once.
    let threads: Vec<_> = names
        .iter()
        .map(|n| {
            let dir = b.tools_dir();
            let n = n.clone();
            std::thread::spawn(move || {
                let mut set = ToolSet::load(&dir, None).unwrap();
                set.set_enabled(&n, false).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let now = ToolSet::load(&b.tools_dir(), None).unwrap();
    let still_enabled: Vec<_> = names
        .iter()
        .filter(|n| now.get(n).unwrap().enabled)
        .collect();
    assert!(still_enabled.is_empty(), "lost: {still_enabled:?}");
}

#[test]
fn approvals_from_two_stale_stores_are_all_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tool_approvals.json");
    let a = ApprovalStore::load(&path).unwrap();
    let b = ApprovalStore::load(&path).unwrap();
    a.remember("alpha", ApprovalDecision::Always).unwrap();
    b.remember("beta", ApprovalDecision::Always).unwrap();
    assert_eq!(
        ApprovalStore::load(&path).unwrap().always(),
        ["alpha", "beta"]
    );
    // b learned alpha from the file; revoking in one store does not resurrect in the other.
    assert_eq!(b.always(), ["alpha", "beta"]);
    assert!(a.revoke("beta").unwrap());
    b.remember("gamma", ApprovalDecision::Always).unwrap();
    assert_eq!(
        ApprovalStore::load(&path).unwrap().always(),
        ["alpha", "gamma"]
    );
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new(AuditEventType::ConfigChanged, "t", json!({"i": i}))
}

async fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("audit.jsonl"), 1 << 20, 3);
    for i in 0..n {
        log.record(event(i)).await.unwrap();
    }
    (dir, log)
}

#[tokio::test]
async fn a_log_cut_at_the_end_or_emptied_fails_verification() {
    let (_dir, log) = log_with(6).await;
    let report = log.verify().unwrap();
    assert_eq!(report.lines, 6);
    assert!(report.anchored);
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // The last line deleted.
    std::fs::write(log.path(), format!("{}\n", lines[..5].join("\n"))).unwrap();
    let err = log.verify().unwrap_err().to_string();
    assert!(err.contains("1 event(s) missing"), "{err}");
    // Cut to four lines.
    std::fs::write(log.path(), format!("{}\n", lines[..4].join("\n"))).unwrap();
    let err = log.verify().unwrap_err().to_string();
    assert!(err.contains("2 event(s) missing"), "{err}");
    // Emptied, and removed.
    std::fs::write(log.path(), "").unwrap();
    assert!(
        log.verify()
            .unwrap_err()
            .to_string()
            .contains("6 event(s) missing")
    );
    std::fs::remove_file(log.path()).unwrap();
    assert!(log.verify().is_err());

    // The last line replaced by a fresh, well-chained one: the anchor names another event.
    std::fs::write(log.path(), format!("{}\n", lines[..5].join("\n"))).unwrap();
    let other = AuditLog::new(log.path(), 1 << 20, 3);
    // An append to a cut log does not hide the cut.
    other.record(event(99)).await.unwrap();
    assert!(log.verify().is_err());
}

#[tokio::test]
async fn rotation_carries_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::new(&path, 600, 2);
    for i in 0..20 {
        log.record(event(i)).await.unwrap();
    }
    let report = log.verify().unwrap();
    assert_eq!(report.files.len(), 3);
    assert!(report.anchored);
    // Deleting the oldest kept file shortens the log: detected.
    std::fs::remove_file(dir.path().join("audit.jsonl.2")).unwrap();
    let err = log.verify().unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}

#[tokio::test]
async fn two_writers_keep_one_chain() {
    // Two `llf` processes auditing at once: each has its own AuditLog.
    let (_dir, first) = log_with(0).await;
    let second = AuditLog::new(first.path(), 1 << 20, 3);
    let (a, b) = tokio::join!(
        async {
            for i in 0..15 {
                first.record(event(i)).await.unwrap();
            }
        },
        async {
            for i in 0..15 {
                second.record(event(100 + i)).await.unwrap();
            }
        }
    );
    let ((), ()) = (a, b);
    let report = first.verify().unwrap();
    assert_eq!(report.lines, 30);
}

#[tokio::test]
async fn a_log_from_before_anchors_verifies_and_gets_one() {
    let (_dir, log) = log_with(3).await;
    let mut anchor = log.path().as_os_str().to_owned();
    anchor.push(".anchor");
    std::fs::remove_file(&anchor).unwrap();
    let report = log.verify().unwrap();
    assert!(!report.anchored);
    assert_eq!(report.lines, 3);
    log.record(event(3)).await.unwrap();
    let report = log.verify().unwrap();
    assert!(report.anchored);
    assert_eq!(report.lines, 4);
}
