//! A self-contained HTML page. Every piece of conversation text goes through [`escape`], so a
//! message holding `<script>` shows as text and never runs.

use std::fmt::Write;

use llf_history::{ConversationTree, StoredMessage};

use crate::markdown::{heading, metadata_lines};
use crate::options::{ExportOptions, Scope};
use crate::select::depths;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}\
.meta{color:#555;font-size:.9rem}.msg{border:1px solid #ddd;border-radius:.5rem;padding:.75rem 1rem;margin:.75rem 0}\
.msg h2{font-size:.9rem;margin:0 0 .5rem;color:#444}.user{background:#f4f8ff}.assistant{background:#f7f7f7}\
.system{background:#fffbe6}.tool{background:#f0fff4}.content{white-space:pre-wrap;margin:0;font:inherit}\
.call{font-family:monospace;white-space:pre-wrap;background:#eee;padding:.5rem;border-radius:.25rem}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn html(
    tree: &ConversationTree,
    messages: &[StoredMessage],
    opts: &ExportOptions,
) -> String {
    let title = escape(&tree.conversation.title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    if opts.metadata {
        out.push_str("<ul class=\"meta\">\n");
        for (k, v) in metadata_lines(tree, messages) {
            let _ = writeln!(out, "<li><b>{}:</b> {}</li>", escape(&k), escape(&v));
        }
        out.push_str("</ul>\n");
    }
    let depth = depths(messages);
    for m in messages {
        let indent = if opts.scope == Scope::Tree {
            depth.get(&m.id).copied().unwrap_or(0).min(10) * 2
        } else {
            0
        };
        let _ = writeln!(
            out,
            "<section class=\"msg {}\" id=\"m{}\" style=\"margin-left:{indent}rem\">\n<h2>{}</h2>",
            m.message.role.as_str(),
            m.id,
            escape(&heading(m, opts))
        );
        if !m.message.content.is_empty() {
            let _ = writeln!(
                out,
                "<pre class=\"content\">{}</pre>",
                escape(&m.message.content)
            );
        }
        for call in &m.message.tool_calls {
            let _ = writeln!(
                out,
                "<div class=\"call\">tool call {} ({}): {}</div>",
                escape(&call.name),
                escape(&call.id),
                escape(&call.arguments)
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
