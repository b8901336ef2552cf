"""The job author's API: Meta defaults and inheritance, variables, logging, ``job_info``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import jobs
from bot.domain import variables as domain_variables
from bot.jobs import (
    BooleanVar,
    ChoiceVar,
    IntegerVar,
    Job,
    LogEntry,
    LogLevel,
    MultiChoiceVar,
    StringVar,
    TextVar,
    defines_run,
    job_info,
)


class RebootDevice(Job):
    class Meta:
        name = "Reboot device"
        description = "Reboot one device by name"
        approval_required = True
        has_sensitive_variables = False

    device = StringVar(description="Device name")
    delay = IntegerVar(default=0, min_value=0, max_value=600)

    def run(self, data, commit):  # type: ignore[no-untyped-def]
        self.log_info(message=f"Rebooting {data['device']}")
        self.log_success(message="done")


class Bare(Job):
    def run(self, data, commit):  # type: ignore[no-untyped-def]
        return None


def test_variable_classes_are_the_domain_ones() -> None:
    for name in ("StringVar", "TextVar", "IntegerVar", "BooleanVar", "ChoiceVar", "MultiChoiceVar"):
        assert getattr(jobs, name) is getattr(domain_variables, name)


def test_meta_defaults() -> None:
    info = job_info(Bare)
    assert info.name == "Bare"
    assert info.description == ""
    assert info.approval_required is False
    assert info.has_sensitive_variables is True
    assert info.hidden is False
    assert info.soft_time_limit is None
    assert info.time_limit is None
    assert info.variables == {}
    assert info.is_runnable_definition is True


def test_contract_example() -> None:
    info = job_info(RebootDevice)
    assert info.name == "Reboot device"
    assert info.description == "Reboot one device by name"
    assert info.approval_required is True
    assert info.has_sensitive_variables is False
    assert list(info.variables) == ["device", "delay"]
    assert info.variables["device"].description == "Device name"
    assert info.variables["delay"].default == 0

    job = RebootDevice()
    job.run({"device": "sw1", "delay": 0}, True)  # type: ignore[no-untyped-call]
    assert [(entry.level, entry.message) for entry in job.log_entries] == [
        (LogLevel.INFO, "Rebooting sw1"),
        (LogLevel.SUCCESS, "done"),
    ]
    assert job.failed is False


def test_unknown_meta_options_are_ignored() -> None:
    class NautobotStyle(Job):
        class Meta:
            name = "From Nautobot"
            field_order = ("b", "a")
            commit_default = False
            task_queues = ("default",)

        a = StringVar()
        b = StringVar()

        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    info = job_info(NautobotStyle)
    assert info.name == "From Nautobot"
    assert list(info.variables) == ["a", "b"]


def test_meta_inheritance_falls_back_to_the_parent_then_defaults() -> None:
    class Base(Job):
        class Meta:
            name = "Base"
            description = "shared"
            approval_required = True
            has_sensitive_variables = False
            time_limit = 60

        device = StringVar()

    class Child(Base):
        class Meta:
            hidden = True

        dry = BooleanVar()

        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    class Grandchild(Child):
        class Meta:
            approval_required = False
            soft_time_limit = 30

        count = IntegerVar(default=1)

    info = job_info(Grandchild)
    assert info.name == "Grandchild"  # a name is not inherited
    assert info.description == "shared"
    assert info.approval_required is False
    assert info.has_sensitive_variables is False
    assert info.hidden is True
    assert (info.soft_time_limit, info.time_limit) == (30, 60)
    assert list(info.variables) == ["device", "dry", "count"]
    assert job_info(Child).approval_required is True
    assert defines_run(Grandchild)


def test_subclass_without_its_own_meta_uses_the_class_name() -> None:
    class Parent(Job):
        class Meta:
            name = "Parent job"
            has_sensitive_variables = False

    class Other(Parent):
        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    assert job_info(Other).name == "Other"
    assert job_info(Other).has_sensitive_variables is False


def test_variables_in_declaration_order_parent_first_and_overridable() -> None:
    class Parent(Job):
        zeta = StringVar()
        alpha = IntegerVar()
        gone = StringVar()

    class Child(Parent):
        beta = ChoiceVar(choices=["x"])
        alpha = IntegerVar(default=3)
        gone = None  # type: ignore[assignment]
        notes = TextVar(required=False)
        ports = MultiChoiceVar(choices=["a"], required=False)

        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    variables = job_info(Child).variables
    assert list(variables) == ["zeta", "alpha", "beta", "notes", "ports"]
    assert variables["alpha"].default == 3
    assert variables["notes"].label == "Notes"


def test_sensitive_and_approval_is_not_a_runnable_definition() -> None:
    class Both(Job):
        class Meta:
            approval_required = True  # has_sensitive_variables stays True (the default)

        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    class Sensitive(Job):
        def run(self, data, commit):  # type: ignore[no-untyped-def]
            pass

    assert job_info(Both).is_runnable_definition is False
    assert job_info(Sensitive).is_runnable_definition is True
    assert job_info(RebootDevice).is_runnable_definition is True


@pytest.mark.parametrize(
    ("meta", "error"),
    [
        ({"time_limit": 0}, ValueError),
        ({"time_limit": -5}, ValueError),
        ({"soft_time_limit": "60"}, TypeError),
        ({"soft_time_limit": 120, "time_limit": 60}, ValueError),
        ({"approval_required": "yes"}, TypeError),
        ({"hidden": 1}, TypeError),
        ({"name": ""}, ValueError),
        ({"description": None}, TypeError),
    ],
)
def test_bad_meta_fails_at_class_definition(meta: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        type("Broken", (Job,), {"Meta": type("Meta", (), meta)})


def test_time_limits_accept_positive_numbers() -> None:
    class Limited(Job):
        class Meta:
            soft_time_limit = 1.5
            time_limit = 1.5

    assert (job_info(Limited).soft_time_limit, job_info(Limited).time_limit) == (1.5, 1.5)


def test_a_variable_cannot_shadow_job_attributes() -> None:
    with pytest.raises(TypeError, match="'failed'"):
        type("Shadow", (Job,), {"failed": BooleanVar()})


def test_job_without_run() -> None:
    class NoRun(Job):
        pass

    assert defines_run(NoRun) is False
    assert defines_run(Bare) is True
    with pytest.raises(TypeError, match="abstract method"):
        NoRun()  # type: ignore[abstract]


def test_new_job_state() -> None:
    job = Bare()
    assert job.log_entries == []
    assert job.failed is False
    assert job.user_id is None
    assert job.job_result_id is None


@pytest.mark.parametrize(
    ("call", "message", "obj"),
    [
        (lambda job: job.log_info(message="hello"), "hello", None),
        (lambda job: job.log_info("hello"), "hello", None),
        (lambda job: job.log_info("sw1", "hello"), "hello", "sw1"),
        (lambda job: job.log_info(obj="sw1", message="hello"), "hello", "sw1"),
        (lambda job: job.log_info("hello", obj="sw1"), "hello", "sw1"),
        (lambda job: job.log_info("sw1", message="hello"), "hello", "sw1"),
        (lambda job: job.log_info(obj=42), "", "42"),
    ],
)
def test_log_call_forms(call: object, message: str, obj: str | None) -> None:
    job = Bare()
    before = datetime.now(UTC)
    call(job)  # type: ignore[operator]
    (entry,) = job.log_entries
    assert entry.level is LogLevel.INFO
    assert (entry.message, entry.obj) == (message, obj)
    assert entry.logged_at.tzinfo is UTC
    assert before <= entry.logged_at <= datetime.now(UTC)


def test_log_rejects_ambiguous_calls() -> None:
    job = Bare()
    with pytest.raises(TypeError):
        job.log_info("a", "b", "c")
    with pytest.raises(TypeError):
        job.log_info("sw1", "hello", message="again")
    with pytest.raises(TypeError):
        job.log_info("x", message="m", obj="o")
    assert job.log_entries == []


def test_every_level_and_the_failed_flag() -> None:
    job = Bare()
    job.log_debug("d")
    job.log_info("i")
    job.log_success("s")
    job.log_warning("w")
    assert job.failed is False
    job.log_failure(message="f", obj="sw1")
    assert job.failed is True
    assert [entry.level for entry in job.log_entries] == list(LogLevel)
    assert [str(level) for level in LogLevel] == ["debug", "info", "success", "warning", "failure"]
    assert job.log_entries[-1] == LogEntry(
        level=LogLevel.FAILURE, message="f", obj="sw1", logged_at=job.log_entries[-1].logged_at
    )


def test_instances_do_not_share_logs() -> None:
    first, second = Bare(), Bare()
    first.log_failure("boom")
    assert second.log_entries == []
    assert second.failed is False
