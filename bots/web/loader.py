"""A jinja2 loader of an institution's templates over the defaults, without a restart."""

from __future__ import annotations

import os
from collections.abc import Callable

import jinja2


class OverridingLoader(jinja2.FileSystemLoader):
    """Templates from the institution's folder first, then the defaults; one added to the
    institution's folder while running takes over at the next render. jinja2's auto_reload
    watches only the file a template was loaded from, so the default would stay."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)

        def fresh() -> bool:
            return uptodate() and self._first(template) == filename

        return source, filename, fresh

    def _first(self, template: str) -> str | None:
        for folder in self.searchpath:
            path = os.path.normpath(os.path.join(folder, template))
            if os.path.isfile(path):
                return path
        return None
