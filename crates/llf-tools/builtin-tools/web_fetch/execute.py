"""web_fetch: GET a URL from an allowed domain. The domain allowlist is the one of this tool's
config.json; redirects are checked against it too, so an allowed site cannot bounce the request
elsewhere."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_MAX = 200_000


def _allowed_domains():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "config.json"), encoding="utf-8") as f:
        rule = json.load(f)["validation_schema"]["url"]
    return [d.lower().lstrip(".") for d in rule.get("allowed_domains", [])]


def _host_allowed(url, domains):
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return False
    return any(host == d or host.endswith("." + d) for d in domains)


class _CheckedRedirect(urllib.request.HTTPRedirectHandler):
    def __init__(self, domains):
        self.domains = domains

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not _host_allowed(newurl, self.domains):
            raise urllib.error.URLError(f"redirect to a domain that is not allowed: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def execute(params):
    url = params["url"]
    limit = int(params.get("max_bytes") or DEFAULT_MAX)
    domains = _allowed_domains()
    if not _host_allowed(url, domains):
        return {"success": False, "error": f"{url} is not on an allowed domain: {', '.join(domains)}"}
    opener = urllib.request.build_opener(_CheckedRedirect(domains))
    request = urllib.request.Request(url, headers={"User-Agent": "llf-web-fetch/1"})
    try:
        with opener.open(request, timeout=20) as resp:
            body = resp.read(limit + 1)
            charset = resp.headers.get_content_charset() or "utf-8"
            return {"success": True, "result": {
                "url": resp.geturl(), "status": resp.status,
                "content_type": resp.headers.get("Content-Type", ""),
                "text": body[:limit].decode(charset, "replace"), "truncated": len(body) > limit}}
    except urllib.error.HTTPError as e:
        return {"success": False, "error": f"HTTP {e.code} from {url}"}
    except (urllib.error.URLError, OSError) as e:
        return {"success": False, "error": f"cannot fetch {url}: {getattr(e, 'reason', e)}"}
