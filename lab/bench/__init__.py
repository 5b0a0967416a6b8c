"""Stage "bench": measure a running lab's paths and report them against this machine's ceiling.

`settings` says how long and how often; `paths` picks a lab's measured paths from
its plan; `iperf` (iperf3 in forked children), `latency` (ping, TCP
request/response) and `suite` take the figures, per path and for the bare
veth-pair baseline; `metrics` is the one registry of what is measured (unit,
direction, titles) and `stats` the one summary; `results` is the typed document
(`results.json`) every figure lands in; `compare` runs `cce-lab bench`/`compare`
from end to end; `report`, `markdown` and `charts` turn a results document, fresh
or saved, into report.md and its PNG charts. Importing this package loads neither
iperf3 nor matplotlib.
"""
