"""Which `Host` headers are served when hrefs are built from the request (no TMF629_PUBLIC_URL).

A client's Host goes into the hrefs of the events every subscriber receives, so a host the operator did
not list is refused. Entries: `api.example.com`, `*.example.com` (any sub-domain), `*` (anything); any
port of a listed host matches; IPv6 literals are written in brackets, `[::1]`.
"""

from __future__ import annotations


def host_name(header: str) -> str:
    """The host of a Host header, without its port: `[::1]:8000` -> `[::1]`, `a.example:80` -> `a.example`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.partition(":")[0].rstrip(".")


class HostPolicy:
    def __init__(self, allowed: str) -> None:
        entries = [e.strip().lower() for e in allowed.split(",") if e.strip()]
        self.any = "*" in entries
        self.exact = {e for e in entries if not e.startswith("*")}
        self.suffixes = tuple(e[1:] for e in entries if e.startswith("*.") and len(e) > 2)

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        if not header:
            return False
        host = host_name(header)
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))
