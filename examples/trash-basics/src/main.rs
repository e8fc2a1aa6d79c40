//! Move a directory to the trash, list it, restore it, then empty the trash.
//!
//! Run: `cargo run -p example-trash-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use llf_core::trash::{ItemType, Trash, TrashFilter};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    let store = home.path().join("my-store");
    std::fs::create_dir_all(&store)?;
    std::fs::write(store.join("index.faiss"), b"vectors")?;

    let trash = Trash::new(home.path().join("trash"), Trash::DEFAULT_RETENTION);
    let item = trash.delete(&store, ItemType::Datastore, None).await?;
    println!("deleted {} ({} bytes) as {}", item.name, item.size, item.id);

    for i in trash.list(&TrashFilter::default()).await? {
        println!(
            "in trash: {} {} from {}",
            i.item_type,
            i.name,
            i.original_path.display()
        );
    }

    trash.restore(&item.id).await?;
    println!("restored: {}", store.join("index.faiss").exists());

    let again = trash.delete(&store, ItemType::Datastore, None).await?;
    let report = trash.empty(None).await?;
    println!(
        "emptied {} item(s), {} bytes; {} is gone for good",
        report.items, report.bytes, again.name
    );
    Ok(())
}
