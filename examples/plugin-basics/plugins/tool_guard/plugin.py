"""Tool guard: a tool call that breaks a rule is answered with an error and never runs.

Rules (in plugin.json's config): tools that may not run at all, and words that may not appear in
any call's arguments. Uses LLF's `Skip` decision (the answer in the tool's place); it is
`required`, so if the guard itself fails, the turn stops rather than running tools unguarded."""

import json

from llf.plugin_system import Plugin, PluginHook, PluginMetadata, Skip


class PluginClass(Plugin):
    def get_metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="tool_guard",
            version="1.0.0",
            description="Skips tool calls by rule",
            author="LLF developers",
            dependencies=[],
            hooks=[PluginHook.PRE_TOOL_EXECUTION],
        )

    def on_load(self) -> None:
        settings = self.config.get("config", {})
        self.blocked_tools = set(settings.get("blocked_tools", []))
        self.blocked_words = list(settings.get("blocked_words", []))

    def pre_tool_execution(self, tool_name, arguments):
        if tool_name in self.blocked_tools:
            return Skip({"error": f"the tool guard does not allow {tool_name}"})
        text = json.dumps(arguments)
        for word in self.blocked_words:
            if word in text:
                return Skip({"error": f"the tool guard blocked arguments containing {word!r}"})
        return arguments
