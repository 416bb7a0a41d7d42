"""Offline mode: the input ifindex of each packet of a capture file.

In order:
* `--ifindex N` (`fixed`): N for every packet;
* an SLL2 frame's own interface index (`tcpdump -i any` writes the kernel's);
* `--ifindex NAME=N` (`names`) for the packets of a pcapng interface whose
  if_name is NAME;
* the pcapng interface's id in its section (0 for a classic pcap: one interface).

Both offline drivers resolve an interface when its first packet comes, so a
name counts as used only if a packet came from an interface of that name.
"""
from __future__ import annotations

from collections.abc import Mapping

from .constants import DLT_LINUX_SLL2
from .pcapfile import Interface

PER_FRAME = None  # the interface's packets carry their own index (SLL2)


class InputIfindex:
    def __init__(self, fixed: int | None = None, names: Mapping[str, int] | None = None) -> None:
        self.fixed = fixed
        self.names = dict(names or {})
        self.used: set[str] = set()
        self.sll2: set[str] = set()  # named, but its frames carry their own index

    def of(self, iface: Interface) -> int | None:
        """The interface's input ifindex, or PER_FRAME."""
        if self.fixed is not None:
            return self.fixed
        if iface.linktype == DLT_LINUX_SLL2:
            if iface.name in self.names:
                self.sll2.add(iface.name)
            return PER_FRAME
        if iface.name in self.names:
            self.used.add(iface.name)
            return self.names[iface.name]
        return iface.id

    def unused(self) -> list[str]:
        """The names of `--ifindex NAME=N` that gave no packet its index."""
        return sorted(set(self.names) - self.used)

    def warnings(self) -> list[str]:
        """One line for each of them, saying why."""
        return [f"--ifindex {name}=...: " + (
                    f"interface {name} holds SLL2 frames, whose header gives each packet its "
                    "own index" if name in self.sll2 else
                    "no packet came from an interface of that name") for name in self.unused()]
