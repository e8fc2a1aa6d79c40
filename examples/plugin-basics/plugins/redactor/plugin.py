"""Redactor: e-mail addresses and phone numbers never reach the model.

A Python-era plugin (PluginClass with pre_request): it returns the messages with every e-mail
address and phone number replaced by a placeholder. The conversation history keeps what the user
wrote; only the request to the model is rewritten."""

import re

from llf.plugin_system import Plugin, PluginHook, PluginMetadata

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or local numbers: an optional +, then 7 or more digits with spaces, dots,
# dashes or parentheses between them.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PluginClass(Plugin):
    def get_metadata(self) -> PluginMetadata:
        return PluginMetadata(
            name="redactor",
            version="1.0.0",
            description="Redacts e-mail addresses and phone numbers in requests",
            author="LLF developers",
            dependencies=[],
            hooks=[PluginHook.PRE_REQUEST],
        )

    def on_load(self) -> None:
        settings = self.config.get("config", {})
        self.email = settings.get("email_placeholder", "[email]")
        self.phone = settings.get("phone_placeholder", "[phone]")

    def phone_or_not(self, match) -> str:
        found = match.group()
        if sum(c.isdigit() for c in found) < 7 or DATE.fullmatch(found.strip()):
            return found
        return self.phone

    def redact(self, text: str) -> str:
        return PHONE.sub(self.phone_or_not, EMAIL.sub(self.email, text))

    def pre_request(self, messages, **kwargs):
        return [dict(m, content=self.redact(m.get("content") or "")) for m in messages]
