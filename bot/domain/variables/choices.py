"""Choice variables: ``ChoiceVar`` (one value out of a list) and ``MultiChoiceVar`` (any number of them).

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.domain.variables.base import Variable, VariableKind

ChoiceValue = str | int | float


def _normalise_choices(owner: str, choices: object) -> list[tuple[ChoiceValue, str]]:
    """Turn ``choices`` (pairs, plain values or a mapping) into ``[(value, label), ...]``.

    Raises:
        TypeError: choices is not a sequence/mapping, or a value is not a string or number.
        ValueError: no choices, or a value appears twice.
    """
    items: Iterable[object]
    if isinstance(choices, Mapping):
        items = list(choices.items())
    elif isinstance(choices, Sequence) and not isinstance(choices, str | bytes):
        items = choices
    else:
        raise TypeError(f"{owner} choices must be a sequence of (value, label) pairs or of values, not {choices!r}")
    result: list[tuple[ChoiceValue, str]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, tuple | list):
            if len(item) != 2:
                raise TypeError(f"{owner} choice {item!r} must be a (value, label) pair")
            value, label = item
        else:
            value, label = item, item
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"{owner} choice values must be strings or numbers, not {value!r}")
        if str(value) in seen:
            raise ValueError(f"{owner} choice {value!r} appears more than once")
        seen.add(str(value))
        result.append((value, str(label)))
    if not result:
        raise ValueError(f"{owner} needs at least one choice")
    return result


def _invalid_choice(value: object) -> ValueError:
    return ValueError(f"Select a valid choice. {value} is not one of the available choices.")


class ChoiceVar(Variable):
    """One value out of ``choices``: ``(value, label)`` pairs, or plain values that are their own labels.

    A submitted value matches a choice by its text, so ``"2"`` selects the choice ``2``; the cleaned value is the
    choice's own value.
    """

    kind = VariableKind.CHOICE

    def __init__(
        self,
        choices: object,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a choice variable.

        Args:
            choices: a sequence of ``(value, label)`` pairs or of plain values (or a value -> label mapping).
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``; must be one of the choices.
            required: see ``Variable``.

        Raises:
            TypeError: choices has the wrong shape.
            ValueError: no choices, duplicate values, or a default that is not a choice.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        self.choices = _normalise_choices(type(self).__name__, choices)
        self._by_text: dict[str, ChoiceValue] = {str(value): value for value, _ in self.choices}
        self._check_default()

    def _match(self, value: object) -> ChoiceValue:
        """The choice ``value`` selects.

        Raises:
            ValueError: it selects none.
        """
        if isinstance(value, str):
            key: str | None = value.strip()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            key = str(value)
        else:
            key = None
        if key is None or key not in self._by_text:
            raise _invalid_choice(value)
        return self._by_text[key]

    def _convert(self, value: object) -> object:
        return self._match(value)

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``choices`` as ``[[value, label], ...]``."""
        return {**super().describe(), "choices": [[value, label] for value, label in self.choices]}


class MultiChoiceVar(ChoiceVar):
    """Any number of values out of ``choices``: a list, or a comma-separated string (``"a, b"``).

    The cleaned value is a list of choice values in the order given, without repeats; an optional variable left
    empty cleans to ``[]``.
    """

    kind = VariableKind.MULTICHOICE

    def _split(self, value: object) -> list[object]:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return list(value)
        raise ValueError("Enter a list of values.")

    def _is_empty(self, value: object) -> bool:
        if isinstance(value, str):
            return not self._split(value)
        return super()._is_empty(value)

    def _convert(self, value: object) -> object:
        selected: list[ChoiceValue] = []
        for item in self._split(value):
            choice = self._match(item)
            if choice not in selected:
                selected.append(choice)
        return selected

    def _empty(self) -> object:
        return []
