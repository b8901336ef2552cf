"""Network variables: ``IPAddressVar``, ``IPAddressWithMaskVar`` and ``IPNetworkVar``, on the standard library's
``ipaddress`` (Nautobot uses ``netaddr``; the values and the rules are the same).

A value is cleaned to its normalised text (``"2001:db8::1"``, ``"10.0.0.1/24"``, ``"10.0.0.0/24"``), so it is stored
and shown as JSON; ``to_python`` turns that text into the ``ipaddress`` object the job receives.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import ipaddress

from bot.domain.variables.base import Variable, VariableKind

INVALID_ADDRESS_MESSAGE = "Enter a valid IPv4 or IPv6 address."
NO_MASK_MESSAGE = "Enter an IP address without a mask (such as 10.0.0.1), not {value}."
MASK_REQUIRED_MESSAGE = "Enter an address with a CIDR mask (such as 10.0.0.1/24), not {value}."
NETWORK_MASK_REQUIRED_MESSAGE = "Enter a network with a CIDR mask (such as 10.0.0.0/24), not {value}."
HOST_BITS_MESSAGE = "{value} has host bits set: enter the network address ({network})."


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(INVALID_ADDRESS_MESSAGE)
    return value.strip()


class IPAddressVar(Variable):
    """An IPv4 or IPv6 address without a mask; the job receives an ``ipaddress.IPv4Address``/``IPv6Address``."""

    kind = VariableKind.STRING

    def __init__(self, *, label: str | None = None, description: str = "", default: object = None,
                 required: bool = True) -> None:
        """Create an address variable (arguments as ``Variable``)."""
        super().__init__(label=label, description=description, default=default, required=required)
        self._check_default()

    def _convert(self, value: object) -> object:
        text = _text(value)
        if "/" in text:
            raise ValueError(NO_MASK_MESSAGE.format(value=text))
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValueError(INVALID_ADDRESS_MESSAGE) from None

    def to_python(self, value: object) -> object:
        """The ``ipaddress`` address of a cleaned value (None stays None)."""
        return None if value is None else ipaddress.ip_address(str(value))


class IPAddressWithMaskVar(Variable):
    """An address with its CIDR mask (``10.0.0.1/24``); the job receives an ``ipaddress.IPv4Interface`` or
    ``IPv6Interface`` (``.ip`` is the address, ``.network`` the network)."""

    kind = VariableKind.STRING

    def __init__(self, *, label: str | None = None, description: str = "", default: object = None,
                 required: bool = True) -> None:
        """Create an address-with-mask variable (arguments as ``Variable``)."""
        super().__init__(label=label, description=description, default=default, required=required)
        self._check_default()

    def _convert(self, value: object) -> object:
        text = _text(value)
        if text.count("/") != 1:
            raise ValueError(MASK_REQUIRED_MESSAGE.format(value=text))
        try:
            return str(ipaddress.ip_interface(text))
        except ValueError:
            raise ValueError(INVALID_ADDRESS_MESSAGE) from None

    def to_python(self, value: object) -> object:
        """The ``ipaddress`` interface of a cleaned value (None stays None)."""
        return None if value is None else ipaddress.ip_interface(str(value))


class IPNetworkVar(Variable):
    """A network (``10.0.0.0/24``), strict: host bits must be zero. Optionally bounded in prefix length, as Nautobot's
    ``min_prefix_length``/``max_prefix_length``. The job receives an ``ipaddress.IPv4Network``/``IPv6Network``."""

    kind = VariableKind.STRING

    def __init__(
        self,
        *,
        min_prefix_length: int | None = None,
        max_prefix_length: int | None = None,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a network variable.

        Args:
            min_prefix_length: the shortest prefix accepted (``/16``: nothing larger than a /16).
            max_prefix_length: the longest prefix accepted.
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: a bound is not a whole number.
            ValueError: a bound is negative or ``min_prefix_length > max_prefix_length``, or the default is invalid.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        owner = type(self).__name__
        for arg, bound in (("min_prefix_length", min_prefix_length), ("max_prefix_length", max_prefix_length)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
                raise TypeError(f"{owner} {arg} must be a whole number from 0, or None, not {bound!r}")
        if min_prefix_length is not None and max_prefix_length is not None and min_prefix_length > max_prefix_length:
            raise ValueError(f"{owner} min_prefix_length ({min_prefix_length}) is greater than max_prefix_length "
                             f"({max_prefix_length})")
        self.min_prefix_length = min_prefix_length
        self.max_prefix_length = max_prefix_length
        self._check_default()

    def _convert(self, value: object) -> object:
        text = _text(value)
        if text.count("/") != 1:
            raise ValueError(NETWORK_MASK_REQUIRED_MESSAGE.format(value=text))
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(INVALID_ADDRESS_MESSAGE) from None
        if ipaddress.ip_interface(text).ip != network.network_address:
            raise ValueError(HOST_BITS_MESSAGE.format(value=text, network=network))
        if self.min_prefix_length is not None and network.prefixlen < self.min_prefix_length:
            raise ValueError(f"The prefix length must be at least /{self.min_prefix_length}.")
        if self.max_prefix_length is not None and network.prefixlen > self.max_prefix_length:
            raise ValueError(f"The prefix length must be at most /{self.max_prefix_length}.")
        return str(network)

    def to_python(self, value: object) -> object:
        """The ``ipaddress`` network of a cleaned value (None stays None)."""
        return None if value is None else ipaddress.ip_network(str(value))

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``min_prefix_length`` and ``max_prefix_length``."""
        return {**super().describe(), "min_prefix_length": self.min_prefix_length,
                "max_prefix_length": self.max_prefix_length}
