"""Example jobs for operators: copy this file into a directory on ``JOBGATE_JOBS_PATH`` and adapt it.

Each job shows one combination of the two flags that decide how a job may be requested:

| job | approval_required | has_sensitive_variables | can be |
|---|---|---|---|
| ``maintenance.RebootDevice`` | True | False | requested now or on a schedule; runs once approved |
| ``maintenance.BackupConfigs`` | False | False | run now or scheduled, no approval |
| ``maintenance.RotateCredentials`` | False | True (the default) | run immediately only; its data is never stored |
| ``maintenance.DrainInterfaces`` | True | False | requested now or on a schedule; runs once approved |

These examples change nothing real and never touch the network: they log what a real job would do, so they are
safe to try (and deterministic enough for tests). ``commit`` is False for a dry run: a job then changes nothing and
reports what it would change.
"""

from __future__ import annotations

from bot.jobs import BooleanVar, ChoiceVar, IntegerVar, Job, MultiChoiceVar, StringVar, TextVar

SITES = (("ams1", "Amsterdam 1"), ("fra1", "Frankfurt 1"), ("lon2", "London 2"))


class RebootDevice(Job):
    """Reboot one device, after someone approves it."""

    class Meta:
        name = "Reboot device"
        description = "Reboot one device by name"
        approval_required = True
        has_sensitive_variables = False
        soft_time_limit = 300
        time_limit = 600

    device = StringVar(description="Device name", regex=r"^[a-z0-9][a-z0-9.-]*$", max_length=63)
    delay = IntegerVar(default=0, min_value=0, max_value=600, description="Seconds to wait before rebooting")

    def run(self, data, commit):
        device, delay = data["device"], data["delay"]
        if not commit:
            self.log_info(obj=device, message=f"Dry run: would reboot {device} in {delay} s")
            return
        self.log_info(obj=device, message=f"Rebooting {device} in {delay} s")
        self.log_success(obj=device, message="Reboot command accepted")


class BackupConfigs(Job):
    """Back up the running configuration of every device of a site."""

    class Meta:
        name = "Back up configs"
        description = "Save the running configuration of the devices of one site"
        has_sensitive_variables = False

    site = ChoiceVar(choices=SITES, description="Site whose devices are backed up")
    device_count = IntegerVar(default=3, min_value=1, max_value=50, description="How many devices the site has")
    include_startup = BooleanVar(description="Also back up the startup configuration")

    def run(self, data, commit):
        site = data["site"]
        kinds = ["running", "startup"] if data["include_startup"] else ["running"]
        for number in range(1, data["device_count"] + 1):
            device = f"{site}-sw{number:02d}"
            for kind in kinds:
                if commit:
                    self.log_success(obj=device, message=f"Saved {kind} configuration")
                else:
                    self.log_info(obj=device, message=f"Dry run: would save {kind} configuration")
        verb = "Backed up" if commit else "Would back up"
        self.log_info(message=f"{verb} {data['device_count']} devices of {site}")


class RotateCredentials(Job):
    """Set a new local password on a device. Sensitive (the default): it runs immediately only and nothing is kept."""

    class Meta:
        name = "Rotate credentials"
        description = "Set a new local admin password on a device"
        # has_sensitive_variables stays True (the default): the password is never stored, shown or scheduled.

    device = StringVar(description="Device name")
    username = StringVar(default="admin", max_length=32)
    new_password = StringVar(min_length=12, description="At least 12 characters")

    def run(self, data, commit):
        # Never log data["new_password"].
        action = "Rotated" if commit else "Dry run: would rotate"
        self.log_success(obj=data["device"], message=f"{action} the password of {data['username']}")


class DrainInterfaces(Job):
    """Shut interfaces down for maintenance, with a note for the change log."""

    class Meta:
        name = "Drain interfaces"
        description = "Administratively shut down interfaces before maintenance"
        approval_required = True
        has_sensitive_variables = False

    site = ChoiceVar(choices=SITES)
    interfaces = MultiChoiceVar(
        choices=["uplink1", "uplink2", "peering1", "peering2"],
        description="Interfaces to shut down (comma-separated in the one-line command)",
    )
    mode = ChoiceVar(
        choices=(("graceful", "Graceful (raise costs first)"), ("hard", "Hard shutdown")), default="graceful"
    )
    note = TextVar(required=False, max_length=500, description="Why, for the change log")

    def run(self, data, commit):
        if data["mode"] == "hard" and "peering1" in data["interfaces"]:
            self.log_warning(obj=data["site"], message="Hard shutdown of a peering interface drops sessions at once")
        for interface in data["interfaces"]:
            if commit:
                self.log_success(obj=f"{data['site']}:{interface}", message=f"Shut down ({data['mode']})")
            else:
                self.log_info(obj=f"{data['site']}:{interface}", message=f"Dry run: would shut down ({data['mode']})")
        if data["note"]:
            self.log_info(message=f"Note: {data['note']}")
