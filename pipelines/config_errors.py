"""The one-line errors of a bad suite.yaml or command line, and the words their messages share."""
from __future__ import annotations


class ConfigError(ValueError):
    """A bad suite.yaml or a bad choice on the command line."""


def choices(valid) -> str:
    return ", ".join(str(v) for v in valid)


def kind_of(value) -> str:
    """What a YAML value is, in words, for 'expected ..., got ...' messages."""
    if value is None:
        return "nothing (an empty value)"
    return {dict: "a mapping", list: "a list", str: f"text {value!r}", bool: f"{value!r}"}.get(
        type(value), f"{value!r}")


def as_text_number(value) -> str:
    """A hint when YAML read a number as text: PyYAML (YAML 1.1) needs a dot in a float, so 2e-5 is a string."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f" (YAML reads {value} as text: write a float with a dot, e.g. 2.0e-5)"
    return ""
