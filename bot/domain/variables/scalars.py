"""Scalar variables: ``StringVar``, ``TextVar``, ``IntegerVar`` and ``BooleanVar``, with their bounds and Django's
messages.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import re

from bot.domain.variables.base import Variable, VariableKind

_INTEGER_STRING = re.compile(r"[+-]?\d+(?:\.0*)?")
_TRUE_STRINGS = frozenset({"true", "yes", "1", "on"})
_FALSE_STRINGS = frozenset({"false", "no", "0", "off"})


def _optional_int(owner: str, arg: str, value: object) -> int | None:
    """Check that a bound is None or an int (not a bool)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner} {arg} must be a whole number or None, not {value!r}")
    return value


def _characters(n: int) -> str:
    return "character" if n == 1 else "characters"


class StringVar(Variable):
    """One line of text, optionally bounded in length and matched against a regular expression.

    Leading and trailing whitespace is removed (as Django's ``CharField`` does). ``regex`` is searched in the value
    (``re.search``, as Django's ``RegexValidator``): anchor it with ``^…$`` to match the whole value.
    """

    kind = VariableKind.STRING

    def __init__(
        self,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        regex: str | None = None,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a text variable.

        Args:
            min_length: minimum number of characters.
            max_length: maximum number of characters.
            regex: a pattern the value must contain a match for.
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: a bound has the wrong type.
            ValueError: negative bounds, ``min_length > max_length``, an invalid regex or an invalid default.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        owner = type(self).__name__
        self.min_length = _optional_int(owner, "min_length", min_length)
        self.max_length = _optional_int(owner, "max_length", max_length)
        for arg, bound in (("min_length", self.min_length), ("max_length", self.max_length)):
            if bound is not None and bound < 0:
                raise ValueError(f"{owner} {arg} must not be negative, got {bound}")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"{owner} min_length ({self.min_length}) is greater than max_length ({self.max_length})")
        if regex is not None and not isinstance(regex, str):
            raise TypeError(f"{owner} regex must be a string or None, not {type(regex).__name__}")
        self.regex = regex
        try:
            self._pattern = re.compile(regex) if regex is not None else None
        except re.error as exc:
            raise ValueError(f"{owner} regex {regex!r} is invalid: {exc}") from None
        self._check_default()

    def _convert(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("Enter a valid string.")
        try:
            text = str(value).strip()
        except ValueError:  # an int too large to print
            raise ValueError("Enter a valid string.") from None
        if self.min_length is not None and len(text) < self.min_length:
            raise ValueError(
                f"Ensure this value has at least {self.min_length} {_characters(self.min_length)} (it has {len(text)})."
            )
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(
                f"Ensure this value has at most {self.max_length} {_characters(self.max_length)} (it has {len(text)})."
            )
        if self._pattern is not None and not self._pattern.search(text):
            raise ValueError(f"Enter a value matching the pattern {self.regex}.")
        return text

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``min_length``, ``max_length`` and ``regex``."""
        return {**super().describe(), "min_length": self.min_length, "max_length": self.max_length, "regex": self.regex}


class TextVar(StringVar):
    """Several lines of text; the same bounds as ``StringVar``."""

    kind = VariableKind.TEXT


class IntegerVar(Variable):
    """A whole number, optionally bounded; accepts ints and integer strings such as ``"12"``."""

    kind = VariableKind.INTEGER

    def __init__(
        self,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create an integer variable.

        Args:
            min_value: smallest allowed value.
            max_value: largest allowed value.
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: a bound is not a whole number.
            ValueError: ``min_value > max_value`` or an invalid default.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        owner = type(self).__name__
        self.min_value = _optional_int(owner, "min_value", min_value)
        self.max_value = _optional_int(owner, "max_value", max_value)
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(f"{owner} min_value ({self.min_value}) is greater than max_value ({self.max_value})")
        self._check_default()

    def _convert(self, value: object) -> object:
        number: int
        if isinstance(value, bool):
            raise ValueError("Enter a whole number.")
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not value.is_integer():
                raise ValueError("Enter a whole number.")
            number = int(value)
        elif isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
            try:
                number = int(value.strip().partition(".")[0])
            except ValueError:  # more digits than int() accepts
                raise ValueError("Enter a whole number.") from None
        else:
            raise ValueError("Enter a whole number.")
        if self.min_value is not None and number < self.min_value:
            raise ValueError(f"Ensure this value is greater than or equal to {self.min_value}.")
        if self.max_value is not None and number > self.max_value:
            raise ValueError(f"Ensure this value is less than or equal to {self.max_value}.")
        return number

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``min_value`` and ``max_value``."""
        return {**super().describe(), "min_value": self.min_value, "max_value": self.max_value}


class BooleanVar(Variable):
    """True or false. Never required: absent means False (or the default).

    Accepts bools, 0 and 1, and the strings true/false, yes/no, 1/0, on/off in any case.
    """

    kind = VariableKind.BOOLEAN

    def __init__(
        self,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = False,
    ) -> None:
        """Create a boolean variable.

        Args:
            label: see ``Variable``.
            description: see ``Variable``.
            default: True or False (None means False).
            required: accepted for compatibility and ignored: a boolean is never required.

        Raises:
            ValueError: the default is not a boolean.
        """
        super().__init__(label=label, description=description, default=default, required=bool(required))
        self.required = False
        self._check_default()
        if self.default is None:
            self.default = False

    def _convert(self, value: object) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_STRINGS:
                return True
            if word in _FALSE_STRINGS:
                return False
        raise ValueError("Enter true or false.")

    def _empty(self) -> object:
        return False
