"""A job's data as a whole: ``validate_data`` cleans every submitted value against the job's variables, and
``prepare_run_data`` turns the cleaned values into what ``run()`` receives.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.errors import InvalidDataError
from bot.domain.variables.base import Variable

NOT_A_DICT_MESSAGE = "Job data needs to be a dict"
UNKNOWN_PROPERTY_MESSAGE = "Job data contained an unknown property"


def validate_data(variables: Mapping[str, Variable], data: object) -> dict[str, object]:
    """Validate a job's data against its variables, the way Nautobot's ``Job.validate_data`` does.

    Every problem is collected, so the user sees all of them at once.

    Args:
        variables: the job's variables by name, in declaration order.
        data: the submitted data (a dict of variable name -> value).

    Returns:
        The cleaned data: one entry per variable, in declaration order. An empty variable takes its default; an
        optional one without a default is None (False for a boolean, [] for a multiple choice).

    Raises:
        InvalidDataError: ``["Job data needs to be a dict"]`` when data is not a mapping; otherwise
            ``{name: [message]}`` for every invalid or missing variable and every unknown key.
    """
    if not isinstance(data, Mapping):
        raise InvalidDataError([NOT_A_DICT_MESSAGE])
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    for name, variable in variables.items():
        try:
            cleaned[name] = variable.clean(data.get(name))
        except ValueError as exc:
            errors[name] = [str(exc)]
    for key in data:
        if key not in variables:
            errors[str(key)] = [UNKNOWN_PROPERTY_MESSAGE]
    if errors:
        raise InvalidDataError(errors)
    return cleaned


def prepare_run_data(variables: Mapping[str, Variable], data: Mapping[str, object]) -> dict[str, object]:
    """The values a job's ``run()`` receives: each cleaned value through its variable's ``to_python`` (an address
    becomes an ``ipaddress`` object, a file a file-like object), in the order the job declares its variables (a
    database may have stored them in another); keys without a variable pass unchanged, last.

    Args:
        variables: the job's variables by name, in declaration order.
        data: the cleaned data, as stored.
    """
    prepared: dict[str, object] = {}
    for name, variable in variables.items():
        if name in data:
            prepared[name] = variable.to_python(data[name])
    for name, value in data.items():
        if name not in prepared:
            prepared[name] = value
    return prepared
