"""Settings a client may change while the mock runs (the admin API), as plain data.

They start from the command line's values and live in the state store, so every worker
and every replica on one store sees the same ones. Cleared fields fall back to the
command line's values.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import Delay, Fault, FaultPolicy, parse_delay, parse_faults

#: The format tag of a stored :class:`RuntimeOverrides`, so a store shared by replicas of
#: different versions is read safely.
FORMAT = "facematch-mock/runtime/1"


@dataclass(frozen=True)
class RuntimeOverrides:
    #: A named example every call to the operation answers with (unless it asks for one).
    default_scenario: str | None = None
    #: Latency added to every answer of the operation.
    latency: Delay | None = None
    #: Random faults on the operation.
    faults: FaultPolicy | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "default_scenario": self.default_scenario,
            "latency": self.latency.describe() if self.latency else None,
            "faults": (
                {
                    "rate": self.faults.rate,
                    "faults": [fault.value for fault in self.faults.faults],
                    "seed": self.faults.seed,
                }
                if self.faults
                else None
            ),
        }

    @classmethod
    def from_json(cls, data: object) -> RuntimeOverrides:
        """Raises ValueError (with a message for the user) on anything else."""
        if not isinstance(data, dict):
            raise ValueError("runtime settings must be a JSON object")
        scenario = data.get("default_scenario")
        if scenario is not None and not isinstance(scenario, str):
            raise ValueError("default_scenario must be an example name or null")
        latency = data.get("latency")
        if latency is not None and not isinstance(latency, (str, int)):
            raise ValueError("latency must be MS, LOW-HIGH, tail:MEDIAN-P99 or null")
        faults = data.get("faults")
        policy: FaultPolicy | None = None
        if faults is not None:
            if not isinstance(faults, dict):
                raise ValueError('faults must be {"rate": 0..1, "faults": [NAME, ...], "seed": N|null} or null')
            rate = faults.get("rate", 0)
            names = faults.get("faults", [])
            seed = faults.get("seed")
            if isinstance(rate, bool) or not isinstance(rate, (int, float)):
                raise ValueError("faults.rate must be a number from 0 to 1")
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise ValueError("faults.faults must be a list of fault names")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise ValueError("faults.seed must be an integer or null")
            chosen: tuple[Fault, ...] = parse_faults(",".join(names)) if names else ()
            policy = FaultPolicy(float(rate), chosen, seed)
        return cls(
            default_scenario=scenario,
            latency=parse_delay(str(latency)) if latency is not None else None,
            faults=policy,
        )


#: No runtime setting: the one instance the stores hand out when none is set, so the
#: operation's check for it is an identity test on every call.
NO_OVERRIDES = RuntimeOverrides()


def canonical(overrides: RuntimeOverrides) -> RuntimeOverrides:
    """NO_OVERRIDES itself for any overrides equal to it."""
    return NO_OVERRIDES if overrides == NO_OVERRIDES else overrides
