"""The TOML side of vulnerability models: finding where a key is written, and writing a model back.

tomllib gives values without positions, so `Locator` scans the text for the table headers and
`key =` lines to say on which line (and column) a wrong value stands.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jatigi.targeting.model import Labels, Model

_HEADER = re.compile(r"^\s*(\[\[|\[)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


class Locator:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (name, line of the header, last line of the section); the part before any header is "".
        self.sections: list[tuple[str, int, int]] = []
        current, start, in_string = "", 1, False
        for number, line in enumerate(self.lines, start=1):
            if not in_string and (match := _HEADER.match(line)):
                self.sections.append((current, start, number - 1))
                current, start = match.group(2), number
            if (line.count('"""') + line.count("'''")) % 2:
                in_string = not in_string
        self.sections.append((current, start, len(self.lines)))

    def section(self, name: str, index: int = 0) -> tuple[int, int]:
        """First and last line of the `index`-th table (or array item) called `name`."""
        found = [(start, end) for section, start, end in self.sections if section == name]
        if index < len(found):
            return found[index]
        return (1, 1)

    def key(self, name: str, index: int, key: str) -> tuple[int, int]:
        """Line and column where the value of `key` starts, or the section's header line."""
        start, end = self.section(name, index)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*(=|\.)\s*")
        for number in range(start, end + 1):
            line = self.lines[number - 1] if number - 1 < len(self.lines) else ""
            if match := pattern.match(line):
                return number, match.end() + 1
        return start, 1

    def string_origin(self, name: str, index: int, key: str) -> tuple[int, int]:
        """Where the text of a string value starts (inside its quotes)."""
        line, column = self.key(name, index, key)
        rest = self.lines[line - 1][column - 1:] if line - 1 < len(self.lines) else ""
        for quote in ('"""', "'''"):
            if rest.startswith(quote):
                if not rest[3:].strip():  # the newline right after the opening quotes is not part of the text
                    return line + 1, 1
                return line, column + 3
        if rest[:1] in ('"', "'"):
            return line, column + 1
        return line, column


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _labels(labels: Labels) -> str:
    return f"{{ fr = {_string(labels.fr)}, en = {_string(labels.en)} }}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def model_to_toml(model: Model) -> str:
    """The model as TOML text that `load_model` reads back to an equal model (comments are not kept)."""
    out = [
        "[model]",
        f"id = {_string(model.id)}",
        f"version = {model.version}",
        f"title = {_labels(model.title)}",
    ]
    if model.description is not None:
        out.append(f"description = {_labels(model.description)}")
    out.append(f"uses_displacement_status = {'true' if model.uses_displacement_status else 'false'}")
    for criterion in model.criteria:
        out += ["", "[[criteria]]", f"id = {_string(criterion.id)}", f"label = {_labels(criterion.label)}"]
        if criterion.when is not None:
            out.append(f"when = {_string(criterion.when.text)}")
        if criterion.points is not None:
            out.append(f"points = {_number(criterion.points)}")
        if criterion.score is not None:
            out.append(f"score = {_string(criterion.score.text)}")
        if criterion.cap is not None:
            out.append(f"cap = {_number(criterion.cap)}")
    for exclusion in model.exclusions:
        out += ["", "[[exclusions]]", f"id = {_string(exclusion.id)}", f"label = {_labels(exclusion.label)}",
                f"when = {_string(exclusion.when.text)}"]
    for category in model.categories:
        out += ["", "[[categories]]", f"name = {_string(category.name)}", f"label = {_labels(category.label)}",
                f"min_score = {_number(category.min_score)}"]
    return "\n".join(out) + "\n"
