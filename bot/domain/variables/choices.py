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


NO_MODELS_MESSAGE = (
    "{variable}: jobgate has no Nautobot models, so model= and query_params= cannot be used; give "
    "choices=<a function returning (value, label) pairs or values>"
)


class ObjectVar(ChoiceVar):
    """One object out of a list the job computes: ``choices`` is a callable returning ``(value, label)`` pairs (or
    plain values, or a value -> label mapping), asked again each time a form is drawn and each time a value is
    checked, so both follow its current answer.

    jobgate has no Nautobot models: where Nautobot's ``ObjectVar(model=Device)`` looks objects up in its database, a
    job here supplies the list itself (from an inventory file, a CMDB or Nautobot's REST API). The job receives the
    chosen value (the first of the pair).
    """

    def __init__(
        self,
        choices: object = None,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
        **nautobot_only: object,
    ) -> None:
        """Create an object variable.

        Args:
            choices: a callable taking no argument and returning the choices (see ``ChoiceVar``).
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``; it must be among the choices when a value is checked.
            required: see ``Variable``.
            nautobot_only: Nautobot's ``model``, ``query_params``, ``display_field``... refused with a message
                saying what to write instead.

        Raises:
            TypeError: choices is not callable, or a Nautobot-only argument was given.
        """
        owner = type(self).__name__
        if nautobot_only:
            raise TypeError(NO_MODELS_MESSAGE.format(variable=owner) + f" (got {', '.join(sorted(nautobot_only))})")
        if not callable(choices):
            raise TypeError(NO_MODELS_MESSAGE.format(variable=owner) + f" (got {choices!r})")
        Variable.__init__(self, label=label, description=description, default=default, required=required)
        self._source = choices
        default, self._raw_default = self._raw_default, None
        if not self._is_empty(default):
            self.default = list(default) if isinstance(default, list | tuple) else default

    def current_choices(self) -> list[tuple[ChoiceValue, str]]:
        """The callable's current answer, normalised.

        Raises:
            ValueError: the callable failed or answered something that is not a list of choices (a message for the
                user that names the exception's type only).
        """
        owner = type(self).__name__
        try:
            answer = self._source()
            return _normalise_choices(owner, answer)
        except Exception as exc:  # the job author's code: any failure is reported, never raised through
            raise ValueError(f"The choices could not be loaded ({type(exc).__name__}).") from None

    @property
    def choices(self) -> list[tuple[ChoiceValue, str]]:
        """The current choices (see ``current_choices``); empty when they cannot be loaded."""
        try:
            return self.current_choices()
        except ValueError:
            return []

    @choices.setter
    def choices(self, _value: object) -> None:  # ChoiceVar's constructor is not used; nothing to set
        return

    def clean(self, value: object) -> object:
        """Clean a value against the current choices; a default is checked against them too."""
        if self._is_empty(value) and self.default not in (None, []):
            return self._convert(self.default)
        return super().clean(value)

    def _match(self, value: object) -> ChoiceValue:
        self._by_text = {str(choice): choice for choice, _ in self.current_choices()}
        return super()._match(value)

    def describe(self) -> dict[str, object]:
        """Describe the variable with the choices as they are now (``choices_error`` when they cannot be loaded)."""
        described = Variable.describe(self)
        try:
            described["choices"] = [[value, text] for value, text in self.current_choices()]
        except ValueError as exc:
            described["choices"], described["choices_error"] = [], str(exc)
        return described


class MultiObjectVar(ObjectVar, MultiChoiceVar):
    """Any number of objects out of the callable's current choices (see ``ObjectVar``); the job receives a list."""
