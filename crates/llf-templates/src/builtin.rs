//! The seven templates every LLF installation has (texts from the design document).

use crate::template::PromptTemplate;

struct Spec {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    template: &'static str,
}

const SPECS: [Spec; 7] = [
    Spec {
        id: "code_review",
        name: "Code Review",
        description: "Review code for bugs, style, and best practices",
        category: "development",
        tags: &["code", "review", "quality"],
        template: "Please review the following code:\n\n```{language}\n{code}\n```\n\nFocus on:\n- Bugs and potential issues\n- Code style and readability\n- Performance concerns\n- Best practices\n- Security vulnerabilities\n\nProvide specific suggestions for improvement.",
    },
    Spec {
        id: "summarize_text",
        name: "Summarize Text",
        description: "Create a concise summary of text",
        category: "writing",
        tags: &["summary", "text", "writing"],
        template: "Please summarize the following text in {length} sentences:\n\n{text}\n\nFocus on the key points and main ideas.",
    },
    Spec {
        id: "explain_code",
        name: "Explain Code",
        description: "Explain what code does in plain language",
        category: "development",
        tags: &["code", "explain", "documentation"],
        template: "Please explain what this {language} code does in plain language:\n\n```{language}\n{code}\n```\n\nExplain:\n- The overall purpose\n- How it works step-by-step\n- Any important details or gotchas",
    },
    Spec {
        id: "translate_text",
        name: "Translate Text",
        description: "Translate text between languages",
        category: "language",
        tags: &["translation", "language"],
        template: "Please translate the following text from {source_lang} to {target_lang}:\n\n{text}\n\nMaintain the tone and style of the original.",
    },
    Spec {
        id: "debug_error",
        name: "Debug Error",
        description: "Help debug an error or exception",
        category: "development",
        tags: &["debug", "error", "troubleshooting"],
        template: "I'm getting the following error:\n\n```\n{error_message}\n```\n\nContext: {context}\n\nPlease help me:\n- Understand what's causing the error\n- Provide potential solutions\n- Explain how to prevent it in the future",
    },
    Spec {
        id: "write_tests",
        name: "Write Unit Tests",
        description: "Generate unit tests for code",
        category: "development",
        tags: &["testing", "unit-tests", "code"],
        template: "Please write unit tests for the following {language} code:\n\n```{language}\n{code}\n```\n\nRequirements:\n- Use {test_framework}\n- Cover edge cases\n- Include both positive and negative tests\n- Add docstrings",
    },
    Spec {
        id: "refactor_code",
        name: "Refactor Code",
        description: "Suggest code refactoring improvements",
        category: "development",
        tags: &["refactor", "code-quality", "code"],
        template: "Please suggest refactorings for this {language} code:\n\n```{language}\n{code}\n```\n\nFocus on:\n- Improving readability\n- Reducing complexity\n- Better naming\n- Design patterns\n- Maintainability\n\nExplain each suggestion.",
    },
];

/// Ids of the built-in templates.
pub const BUILTIN_IDS: [&str; 7] = [
    "code_review",
    "summarize_text",
    "explain_code",
    "translate_text",
    "debug_error",
    "write_tests",
    "refactor_code",
];

/// The built-in templates.
pub fn builtins() -> Vec<PromptTemplate> {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    SPECS
        .iter()
        .map(|s| PromptTemplate {
            id: s.id.to_owned(),
            name: s.name.to_owned(),
            description: s.description.to_owned(),
            template: s.template.to_owned(),
            variables: crate::render::variables(s.template),
            category: s.category.to_owned(),
            tags: s.tags.iter().map(|t| (*t).to_owned()).collect(),
            author: Some("llf-builtin".to_owned()),
            version: "1.0".to_owned(),
            created_at: epoch,
            updated_at: epoch,
            builtin: true,
        })
        .collect()
}
