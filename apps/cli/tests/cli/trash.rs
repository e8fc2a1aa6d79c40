//! `llf trash …`, with items put in the trash through llf-core the way other commands will.

use llf_core::trash::{ItemType, Trash};
use predicates::prelude::*;

use crate::{Sandbox, stdout_of};

fn trash_some(sb: &Sandbox) -> Vec<(String, std::path::PathBuf)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let trash = Trash::new(sb.home().join("trash"), Trash::DEFAULT_RETENTION);
    let mut ids = Vec::new();
    for (name, ty) in [("smol.gguf", ItemType::Model), ("notes.md", ItemType::File)] {
        let p = sb.dir.path().join(name);
        std::fs::write(&p, name).unwrap();
        let item = rt.block_on(trash.delete(&p, ty, None)).unwrap();
        ids.push((item.id, p));
    }
    ids
}

#[test]
fn list_shows_items_as_table_and_json_with_filters() {
    let sb = Sandbox::new();
    let ids = trash_some(&sb);
    let out = sb
        .llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains(&ids[0].0) && text.contains("smol.gguf") && text.contains("model"),
        "{text}"
    );
    assert!(text.contains("purged after"), "{text}");

    let out = sb
        .llf()
        .args(["trash", "list", "--type", "model", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["name"], "smol.gguf");
    assert_eq!(items[0]["original_path"], ids[0].1.to_str().unwrap());

    let out = sb
        .llf()
        .args(["trash", "list", "--name", "NOTES", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items[0]["item_type"], "file");

    sb.llf()
        .args(["trash", "list", "--type", "gizmo"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("unknown item type `gizmo`")
                .and(predicate::str::contains("datastore")),
        );
}

#[test]
fn restore_puts_items_back_and_refuses_to_overwrite() {
    let sb = Sandbox::new();
    let ids = trash_some(&sb);
    let (model_id, model_path) = &ids[0];
    std::fs::write(model_path, "someone else").unwrap();
    sb.llf()
        .args(["trash", "restore", model_id])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(std::fs::read_to_string(model_path).unwrap(), "someone else");

    std::fs::remove_file(model_path).unwrap();
    sb.llf()
        .args(["trash", "restore", model_id, &ids[1].0])
        .assert()
        .success()
        .stderr(predicate::str::contains("restored smol.gguf"));
    assert_eq!(std::fs::read_to_string(model_path).unwrap(), "smol.gguf");
    assert_eq!(std::fs::read_to_string(&ids[1].1).unwrap(), "notes.md");
    sb.llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("the trash is empty"));
    sb.llf()
        .args(["trash", "restore", "01UNKNOWN"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no item"));
}

#[test]
fn empty_needs_confirmation_off_a_terminal_and_filters_by_type() {
    let sb = Sandbox::new();
    trash_some(&sb);
    sb.llf()
        .args(["trash", "empty"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--yes"));
    sb.llf()
        .args(["trash", "empty", "--type", "model", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("removed 1 item(s)"));
    let out = sb
        .llf()
        .args(["trash", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1);
    sb.llf().args(["trash", "empty", "-y"]).assert().success();
    sb.llf()
        .args(["trash", "empty", "-y"])
        .assert()
        .success()
        .stderr(predicate::str::contains("nothing to remove"));
}

#[test]
fn expired_items_are_purged_when_the_trash_is_opened() {
    let sb = Sandbox::new();
    trash_some(&sb);
    sb.write_config(serde_json::json!({"trash": {"retention_days": 0}}));
    sb.llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("the trash is empty"));
}

#[test]
fn deleted_conversations_are_listed_restored_and_emptied_with_the_trash() {
    let rt = crate::tokio_rt();
    let sb = Sandbox::new();
    sb.write_config(serde_json::json!({}));
    let (keep, gone) = rt.block_on(async {
        let h = llf_history::History::open(sb.home().join("state/history.db"))
            .await
            .unwrap();
        let a = h.create_conversation("Holiday plans", None).await.unwrap();
        let b = h.create_conversation("Tax questions", None).await.unwrap();
        h.delete(&a.id).await.unwrap();
        h.delete(&b.id).await.unwrap();
        (a.id, b.id)
    });
    sb.llf().args(["trash", "list"]).assert().success().stdout(
        predicate::str::contains("Deleted conversations")
            .and(predicate::str::contains("Holiday plans")),
    );
    let out = sb
        .llf()
        .args(["trash", "list", "--type", "conversation", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["item_type"] == "conversation")
    );
    // Files only: no conversations.
    let out = sb
        .llf()
        .args(["trash", "list", "--type", "file", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );

    sb.llf()
        .args(["trash", "restore", &keep])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "restored conversation \"Holiday plans\"",
        ));
    sb.llf()
        .args(["trash", "empty", "--type", "conversation", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("removed 1 deleted conversations"));
    rt.block_on(async {
        let h = llf_history::History::open(sb.home().join("state/history.db"))
            .await
            .unwrap();
        let live = h.list(&Default::default()).await.unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].conversation.id, keep);
        assert!(h.conversation(&gone).await.is_err(), "purged for good");
    });
}
