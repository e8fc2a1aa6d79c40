"""datetime: a Python-era tool (execute(params) -> dict), run through LLF's Python runner."""
from datetime import date, datetime, timedelta, timezone


def _zone(name):
    if not name or name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only needed for named zones

    return ZoneInfo(name)


def execute(params):
    op = params["operation"]
    try:
        if op == "now":
            now = datetime.now(_zone(params.get("timezone")))
            return {"success": True, "result": {
                "iso": now.isoformat(timespec="seconds"), "date": now.date().isoformat(),
                "time": now.strftime("%H:%M:%S"), "weekday": now.strftime("%A"),
                "timezone": params.get("timezone") or "UTC"}}
        start = date.fromisoformat(params["date"])
        if op == "add_days":
            return {"success": True, "result": (start + timedelta(days=int(params.get("days", 0)))).isoformat()}
        if op == "diff_days":
            return {"success": True, "result": (date.fromisoformat(params["other_date"]) - start).days}
    except KeyError as e:
        return {"success": False, "error": f"missing argument {e} for operation {op}"}
    except Exception as e:  # noqa: BLE001 - the model gets the message
        return {"success": False, "error": str(e)}
    return {"success": False, "error": f"unknown operation {op}"}
