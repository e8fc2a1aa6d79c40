"""Example plugin that logs all messages."""

from llf.plugin_system import Plugin, PluginMetadata, PluginHook
from pathlib import Path
from datetime import datetime


class PluginClass(Plugin):
    """Example logging plugin."""
    
    def get_metadata(self) -> PluginMetadata:
        """Get plugin metadata."""
        return PluginMetadata(
            name="message_logger",
            version="1.0.0",
            description="Logs all conversation messages to file",
            author="LLF Team",
            dependencies=[],
            hooks=[PluginHook.ON_MESSAGE, PluginHook.ON_STARTUP]
        )
    
    def on_load(self) -> None:
        """Initialize logging."""
        log_dir = Path(self.config.get('log_dir', Path.home() / '.llf' / 'message_logs'))
        log_dir.mkdir(parents=True, exist_ok=True)
        
        self.log_file = log_dir / f"messages_{datetime.now().strftime('%Y%m%d')}.log"
        print(f"Message logger initialized: {self.log_file}")
    
    def on_startup(self) -> None:
        """Log startup."""
        self._log("SYSTEM", "Framework started")
    
    def on_message(self, role: str, content: str) -> None:
        """Log message."""
        self._log(role.upper(), content[:200])  # Log first 200 chars
    
    def _log(self, role: str, content: str) -> None:
        """Write to log file."""
        timestamp = datetime.now().strftime('%Y-%m-%d %H:%M:%S')
        with open(self.log_file, 'a') as f:
            f.write(f"[{timestamp}] {role}: {content}\n")
