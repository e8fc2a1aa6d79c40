//! One trash over files, memories and conversations.

use llf::Restored;
use llf::chat::ChatOptions;
use llf::core::trash::{ItemType, TrashFilter};
use llf_testkit::{FakeServer, configs};

use crate::Home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_memories_and_conversations_share_one_trash() {
    let fake = FakeServer::numbered("answer").await;
    let home = Home::new(configs::remote(&fake.base_url()));
    let llf = &home.llf;

    // A conversation, a memory and a file, each deleted.
    let chat = llf.chat(ChatOptions::new().memory(false)).await.unwrap();
    let conv = chat
        .send("keep this")
        .finish()
        .await
        .unwrap()
        .conversation
        .unwrap();
    llf.history().await.unwrap().delete(&conv).await.unwrap();
    let memory = llf
        .memory_context()
        .await
        .unwrap()
        .remember("a fact worth keeping")
        .await
        .unwrap();
    llf.memory()
        .await
        .unwrap()
        .delete(&memory.id)
        .await
        .unwrap();
    let file = home.dir.path().join("notes.txt");
    std::fs::write(&file, "notes").unwrap();
    llf.file_trash()
        .await
        .unwrap()
        .delete(&file, ItemType::File, None)
        .await
        .unwrap();

    let trash = llf.trash();
    let all = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.conversations[0].id, conv);
    assert_eq!(all.memories[0].id, memory.id);
    let only_memories = trash
        .list(&TrashFilter {
            item_type: Some(ItemType::Memory),
            ..TrashFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(only_memories.len(), 1);

    // Restore finds each kind by its id.
    assert!(
        matches!(trash.restore(&conv).await.unwrap(), Restored::Conversation(c) if c.id == conv)
    );
    assert!(
        matches!(trash.restore(&memory.id).await.unwrap(), Restored::Memory(m) if m.id == memory.id)
    );
    let file_id = all.files[0].id.clone();
    assert!(matches!(
        trash.restore(&file_id).await.unwrap(),
        Restored::File(_)
    ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "notes");
    assert!(matches!(
        trash.restore("no-such-id").await,
        Err(llf::Error::NotInTrash(id)) if id == "no-such-id"
    ));

    // Empty removes every kind for good.
    llf.history().await.unwrap().delete(&conv).await.unwrap();
    llf.memory()
        .await
        .unwrap()
        .delete(&memory.id)
        .await
        .unwrap();
    let report = trash.empty(None).await.unwrap();
    assert_eq!((report.memories, report.conversations), (1, 1));
    assert!(
        trash
            .list(&TrashFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}
