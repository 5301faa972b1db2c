"""User text in HTML pages: always data, never markup and never a template.

folium and branca render every ``Element`` through Jinja2, so text concatenated into an element's
template is *executed* as a template (``{{ cycler.__init__.__globals__.os… }}`` runs Python code
while the page is built). Two rules keep names, addresses and config values inert:

* :func:`esc` escapes text for HTML (element text and quoted attributes) and turns the Jinja
  delimiter characters ``{`` and ``}`` into the entities ``&#123;`` / ``&#125;`` — the browser
  still shows ``{{7*191}}``, but no template engine can see a delimiter;
* :class:`RawHtml` puts a ready, escaped HTML fragment into a folium page *without* making it a
  template: its template only references the fragment as a variable (``{{ this.html }}``), and
  Jinja never renders a substituted value again.
"""

from __future__ import annotations

import html
from typing import Any

from branca.element import Element
from jinja2 import Template

__all__ = ["RawHtml", "esc"]

_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def esc(value: Any) -> str:
    """HTML-escape ``value`` (quotes too) and neutralise template delimiters."""
    return html.escape(str(value), quote=True).translate(_BRACES)


class RawHtml(Element):
    """An HTML fragment added to a folium page as data, not as a Jinja template.

    The fragment must already be escaped where it holds user text (:func:`esc`).
    """

    _template = Template("{{ this.html }}")

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.html = fragment
