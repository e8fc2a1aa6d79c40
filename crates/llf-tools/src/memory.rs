//! `memory_store` and `memory_search`: long-term memory (llf-memory) as in-process tools. They
//! need the memory database, which a sandboxed subprocess cannot reach, so they are
//! [`NativeTool`]s rather than directories in `tools/`; validation, approval, rate limits and the
//! audit log still apply.

use std::sync::Arc;

use llf_core::tool::ToolSpec;
use llf_memory::MemoryContext;
use serde_json::{Value, json};

use crate::registry::NativeTool;

/// Longest memory the model may store, in characters.
const MAX_CONTENT: u64 = 4000;

/// Saves a fact to the default memory store.
#[derive(Debug, Clone)]
pub struct MemoryStoreTool {
    memory: MemoryContext,
    approval: bool,
}

/// Searches every enabled memory store.
#[derive(Debug, Clone)]
pub struct MemorySearchTool {
    memory: MemoryContext,
}

/// Both memory tools over one memory. With `approve_writes`, every `memory_store` call asks the
/// user first: a model should not change long-term memory behind the user's back.
pub fn memory_tools(memory: MemoryContext, approve_writes: bool) -> Vec<Arc<dyn NativeTool>> {
    vec![
        Arc::new(MemoryStoreTool {
            memory: memory.clone(),
            approval: approve_writes,
        }),
        Arc::new(MemorySearchTool { memory }),
    ]
}

#[async_trait::async_trait]
impl NativeTool for MemoryStoreTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "memory_store".into(),
            description: "Remember a fact for later conversations (one short sentence).".into(),
            parameters: json!({
                "type": "object",
                "properties": {"content": {
                    "type": "string", "minLength": 1, "maxLength": MAX_CONTENT,
                    "description": "The fact to remember"
                }},
                "required": ["content"]
            }),
        }
    }

    fn requires_approval(&self) -> bool {
        self.approval
    }

    async fn call(&self, arguments: Value) -> Result<Value, String> {
        let content = arguments["content"].as_str().unwrap_or_default();
        let memory = self
            .memory
            .remember(content)
            .await
            .map_err(|e| format!("cannot store the memory: {e}"))?;
        Ok(json!({"id": memory.id, "store": memory.store}))
    }
}

#[async_trait::async_trait]
impl NativeTool for MemorySearchTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "memory_search".into(),
            description: "Search remembered facts by words; returns the best matches.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"query": {
                    "type": "string", "minLength": 1, "maxLength": 500,
                    "description": "Words to look for"
                }},
                "required": ["query"]
            }),
        }
    }

    async fn call(&self, arguments: Value) -> Result<Value, String> {
        let query = arguments["query"].as_str().unwrap_or_default();
        let hits = self
            .memory
            .recall(query)
            .await
            .map_err(|e| format!("cannot search memories: {e}"))?;
        Ok(Value::from(
            hits.into_iter()
                .map(|h| json!({"content": h.memory.content, "score": h.score, "tags": h.memory.tags}))
                .collect::<Vec<_>>(),
        ))
    }
}
