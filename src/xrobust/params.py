"""Parameter checks that run before any compute, with messages that name the parameter."""
from __future__ import annotations

import numbers


def check_choice(name: str, value, allowed) -> object:
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"invalid {name!r}: {value!r}; allowed values: {', '.join(map(str, allowed))}")
    return value


def check_number(name: str, value, low=None, high=None, integer=False):
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            (integer and not float(value).is_integer()):
        raise ValueError(f"invalid {name!r}: {value!r} ({type(value).__name__}); expected {kind}"
                         + (f" in [{low}, {high}]" if low is not None and high is not None else ""))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"invalid {name!r}: {value!r}; allowed range: [{low}, {high}]")
    return value


def check_list(name: str, value, allowed=None) -> list:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError(f"invalid {name!r}: {value!r}; expected a non-empty list"
                         + (f" of: {', '.join(map(str, allowed))}" if allowed else ""))
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise ValueError(f"invalid {name!r}: {bad}; allowed values: {', '.join(map(str, allowed))}")
    return list(items)
