"""Job variables: cleaning, messages, constructor checks and ``validate_data`` (Nautobot's cases 18-20)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import InvalidDataError
from bot.domain.variables import (
    BooleanVar,
    ChoiceVar,
    IntegerVar,
    MultiChoiceVar,
    StringVar,
    TextVar,
    Variable,
    VariableKind,
    validate_data,
)


def message_of(variable: Variable, value: object) -> str:
    with pytest.raises(ValueError) as caught:
        variable.clean(value)
    return str(caught.value)


# --- StringVar / TextVar ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("router1", "router1"), ("  router1 \n", "router1"), (42, "42"), (1.5, "1.5")],
)
def test_string_accepts_and_strips(value: object, expected: str) -> None:
    assert StringVar().clean(value) == expected


@pytest.mark.parametrize("value", [None, "", "   "])
def test_string_required_by_default(value: object) -> None:
    assert message_of(StringVar(), value) == "This field is required."


@pytest.mark.parametrize("value", [True, ["a"], {"a": 1}])
def test_string_rejects_non_text(value: object) -> None:
    assert message_of(StringVar(), value) == "Enter a valid string."


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (StringVar(min_length=3), "ab", "Ensure this value has at least 3 characters (it has 2)."),
        (StringVar(max_length=5), "abcdefg", "Ensure this value has at most 5 characters (it has 7)."),
        (StringVar(min_length=1, max_length=1), "ab", "Ensure this value has at most 1 character (it has 2)."),
        (TextVar(max_length=4), "a\nbcde", "Ensure this value has at most 4 characters (it has 6)."),
        (StringVar(regex=r"^\d+$"), "12a", "Enter a value matching the pattern ^\\d+$."),
    ],
)
def test_string_bounds_messages(variable: StringVar, value: str, expected: str) -> None:
    assert message_of(variable, value) == expected


def test_string_bounds_accept_the_limits() -> None:
    variable = StringVar(min_length=2, max_length=3, regex=r"^[a-z]+$")
    assert variable.clean("ab") == "ab"
    assert variable.clean("abc") == "abc"


def test_regex_is_searched_like_django() -> None:
    assert StringVar(regex=r"\d").clean("abc1") == "abc1"


def test_text_keeps_inner_lines() -> None:
    assert TextVar().clean("line 1\nline 2\n") == "line 1\nline 2"
    assert TextVar.kind is VariableKind.TEXT


# --- IntegerVar ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" 12 ", 12), ("-3", -3), ("+7", 7), (12.0, 12), ("12.0", 12), (0, 0)],
)
def test_integer_accepts_ints_and_integer_strings(value: object, expected: int) -> None:
    assert IntegerVar().clean(value) == expected


@pytest.mark.parametrize("value", [True, False, 1.5, "1.5", "abc", "1e3", "12 apples", [1], float("nan"), "9" * 5000])
def test_integer_rejects_non_whole_numbers(value: object) -> None:
    assert message_of(IntegerVar(), value) == "Enter a whole number."


def test_integer_bounds_messages() -> None:
    variable = IntegerVar(min_value=0, max_value=600)
    assert message_of(variable, -1) == "Ensure this value is greater than or equal to 0."
    assert message_of(variable, "601") == "Ensure this value is less than or equal to 600."
    assert variable.clean("600") == 600
    assert variable.clean(0) == 0


@given(st.data())
def test_integer_round_trips_within_bounds(data: st.DataObject) -> None:
    low = data.draw(st.integers(min_value=-(10**6), max_value=10**6))
    high = data.draw(st.integers(min_value=low, max_value=low + 10**6))
    value = data.draw(st.integers(min_value=low, max_value=high))
    variable = IntegerVar(min_value=low, max_value=high)
    assert variable.clean(value) == value
    assert variable.clean(str(value)) == value


@given(st.integers(), st.integers())
def test_integer_constructor_rejects_min_above_max(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    if low == high:
        IntegerVar(min_value=low, max_value=high)
        return
    with pytest.raises(ValueError, match="greater than max_value"):
        IntegerVar(min_value=high, max_value=low)


# --- BooleanVar ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("OFF", False),
        (1, True),
        (0, False),
    ],
)
def test_boolean_accepts(value: object, expected: bool) -> None:
    assert BooleanVar().clean(value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, 1.5, ["true"], "y"])
def test_boolean_rejects(value: object) -> None:
    assert message_of(BooleanVar(), value) == "Enter true or false."


@pytest.mark.parametrize("value", [None, "", "  "])
def test_boolean_is_never_required_and_absent_means_false(value: object) -> None:
    variable = BooleanVar(required=True)
    assert variable.required is False
    assert variable.clean(value) is False


def test_boolean_default_true() -> None:
    assert BooleanVar(default=True).clean(None) is True
    assert BooleanVar(default="yes").default is True
    assert BooleanVar().default is False


# --- ChoiceVar / MultiChoiceVar --------------------------------------------------------------------------------------


def test_choice_with_pairs_and_plain_values() -> None:
    pairs = ChoiceVar(choices=(("ams1", "Amsterdam"), ("fra1", "Frankfurt")))
    assert pairs.clean("ams1") == "ams1"
    assert pairs.clean(" fra1 ") == "fra1"
    plain = ChoiceVar(choices=["red", "green"])
    assert plain.choices == [("red", "red"), ("green", "green")]
    assert plain.clean("green") == "green"


def test_choice_matches_by_text_and_keeps_the_choice_value() -> None:
    variable = ChoiceVar(choices=[(1, "One"), (2, "Two")])
    assert variable.clean("2") == 2
    assert variable.clean(1) == 1
    assert message_of(variable, True) == "Select a valid choice. True is not one of the available choices."


@pytest.mark.parametrize("value", ["blue", "Red", 3])
def test_choice_rejects(value: object) -> None:
    assert (
        message_of(ChoiceVar(choices=["red", "green"]), value)
        == f"Select a valid choice. {value} is not one of the available choices."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "c"], ["a", "c"]),
        ("a,c", ["a", "c"]),
        (" c , a ,", ["c", "a"]),
        ("a,a,b", ["a", "b"]),
        (("b",), ["b"]),
    ],
)
def test_multichoice_accepts_lists_and_comma_strings(value: object, expected: list[str]) -> None:
    assert MultiChoiceVar(choices=["a", "b", "c"]).clean(value) == expected


def test_multichoice_rejects() -> None:
    variable = MultiChoiceVar(choices=["a", "b"])
    assert message_of(variable, "a,z") == "Select a valid choice. z is not one of the available choices."
    assert message_of(variable, 5) == "Enter a list of values."
    assert message_of(variable, ",,") == "This field is required."
    assert message_of(variable, []) == "This field is required."
    assert MultiChoiceVar(choices=["a"], required=False).clean(None) == []


# --- defaults, required, labels, describe ----------------------------------------------------------------------------


def test_defaults_fill_empty_values_and_are_cleaned() -> None:
    assert IntegerVar(default="5").default == 5
    assert IntegerVar(default=5).clean(None) == 5
    assert IntegerVar(default=5).clean("") == 5
    assert StringVar(default="x").clean("  ") == "x"
    assert MultiChoiceVar(choices=["a", "b"], default="b,a").default == ["b", "a"]


def test_a_list_default_is_not_shared_with_the_job() -> None:
    variable = MultiChoiceVar(choices=["a", "b"], default=["a"])
    first = variable.clean(None)
    assert isinstance(first, list)
    first.append("b")
    assert variable.clean(None) == ["a"]


@pytest.mark.parametrize(
    "variable", [StringVar(required=False), IntegerVar(required=False), ChoiceVar(choices=["a"], required=False)]
)
def test_optional_without_default_cleans_to_none(variable: Variable) -> None:
    assert variable.clean(None) is None


def test_label_defaults_to_the_prettified_name() -> None:
    class Holder:
        device_name = StringVar()
        other = StringVar(label="Explicit")

    assert Holder.device_name.name == "device_name"
    assert Holder.device_name.label == "Device name"
    assert Holder.other.label == "Explicit"


def test_describe_is_json_and_complete() -> None:
    class Holder:
        delay = IntegerVar(default=0, min_value=0, max_value=600, description="Seconds")
        site = ChoiceVar(choices=(("ams1", "Amsterdam"),))
        note = StringVar(required=False, max_length=10, regex="^a")
        flag = BooleanVar()

    assert Holder.delay.describe() == {
        "name": "delay",
        "type": "IntegerVar",
        "kind": "integer",
        "label": "Delay",
        "description": "Seconds",
        "default": 0,
        "required": True,
        "min_value": 0,
        "max_value": 600,
    }
    assert Holder.site.describe()["choices"] == [["ams1", "Amsterdam"]]
    assert Holder.note.describe()["max_length"] == 10
    assert Holder.note.describe()["regex"] == "^a"
    assert Holder.flag.describe()["required"] is False
    assert Holder.flag.describe()["default"] is False
    for variable in (Holder.delay, Holder.site, Holder.note, Holder.flag):
        json.dumps(variable.describe())


# --- constructor checks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: StringVar(min_length=5, max_length=2), ValueError),
        (lambda: StringVar(min_length=-1), ValueError),
        (lambda: StringVar(max_length="5"), TypeError),  # type: ignore[arg-type]
        (lambda: StringVar(regex="("), ValueError),
        (lambda: StringVar(max_length=2, default="abc"), ValueError),
        (lambda: IntegerVar(min_value=10, max_value=1), ValueError),
        (lambda: IntegerVar(min_value=1.5), TypeError),  # type: ignore[arg-type]
        (lambda: IntegerVar(max_value=True), TypeError),
        (lambda: IntegerVar(max_value=600, default=601), ValueError),
        (lambda: IntegerVar(default="soon"), ValueError),
        (lambda: BooleanVar(default="maybe"), ValueError),
        (lambda: ChoiceVar(choices=[]), ValueError),
        (lambda: ChoiceVar(choices="abc"), TypeError),
        (lambda: ChoiceVar(choices=[("a", "A", "extra")]), TypeError),
        (lambda: ChoiceVar(choices=["a", "a"]), ValueError),
        (lambda: ChoiceVar(choices=["a"], default="b"), ValueError),
        (lambda: MultiChoiceVar(choices=["a"], default=["a", "b"]), ValueError),
        (lambda: StringVar(label=3), TypeError),  # type: ignore[arg-type]
        (lambda: StringVar(required="no"), TypeError),  # type: ignore[arg-type]
    ],
)
def test_constructor_rejects_nonsense(make: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()  # type: ignore[operator]


def test_invalid_default_message_names_the_problem() -> None:
    with pytest.raises(ValueError, match=r"Invalid default 601 for IntegerVar: Ensure this value is less than"):
        IntegerVar(max_value=600, default=601)


# --- validate_data (Nautobot's JobAPIRunTestMixin fixture: var1..var4) -----------------------------------------------

VARIABLES: dict[str, Variable] = {
    "var1": StringVar(),
    "var2": IntegerVar(),
    "var3": BooleanVar(),
    "var4": ChoiceVar(choices=["role-a", "role-b"]),
}
GOOD_DATA = {"var1": "x", "var2": 1, "var3": False, "var4": "role-a"}


def errors_of(data: object, variables: dict[str, Variable] = VARIABLES) -> object:
    with pytest.raises(InvalidDataError) as caught:
        validate_data(variables, data)
    return caught.value.errors


def test_valid_data_is_cleaned() -> None:
    assert validate_data(VARIABLES, GOOD_DATA) == GOOD_DATA
    assert validate_data(VARIABLES, {"var1": "x", "var2": "12", "var3": "true", "var4": "role-b"}) == {
        "var1": "x",
        "var2": 12,
        "var3": True,
        "var4": "role-b",
    }


@pytest.mark.parametrize("data", ["invalid", None, ["var1"], 3])
def test_data_must_be_a_dict(data: object) -> None:
    assert errors_of(data) == ["Job data needs to be a dict"]


def test_unknown_property() -> None:
    assert errors_of({**GOOD_DATA, "var5": "x"}) == {"var5": ["Job data contained an unknown property"]}


def test_missing_required_data() -> None:
    assert errors_of({"var1": "x", "var3": False}) == {
        "var2": ["This field is required."],
        "var4": ["This field is required."],
    }


def test_all_errors_are_collected() -> None:
    assert errors_of({"var1": "", "var2": "many", "var3": "maybe", "var4": "role-z", "extra": 1}) == {
        "var1": ["This field is required."],
        "var2": ["Enter a whole number."],
        "var3": ["Enter true or false."],
        "var4": ["Select a valid choice. role-z is not one of the available choices."],
        "extra": ["Job data contained an unknown property"],
    }


def test_missing_values_take_defaults_and_optional_ones_are_empty() -> None:
    variables: dict[str, Variable] = {
        "delay": IntegerVar(default=0),
        "note": StringVar(required=False),
        "force": BooleanVar(),
        "ports": MultiChoiceVar(choices=["a", "b"], required=False),
    }
    cleaned = validate_data(variables, {})
    assert cleaned == {"delay": 0, "note": None, "force": False, "ports": []}
    assert list(cleaned) == ["delay", "note", "force", "ports"]
    json.dumps(cleaned)


def test_no_variables_and_no_data() -> None:
    assert validate_data({}, {}) == {}


def test_error_message_is_readable() -> None:
    with pytest.raises(InvalidDataError) as caught:
        validate_data(VARIABLES, {"var1": "x", "var3": False, "var4": "role-a"})
    assert caught.value.message == "var2: This field is required."
