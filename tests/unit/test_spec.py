"""Spec validation and loading: every bad input is one SpecError naming the field and the rule."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from lab.errors import LabError, SpecError
from lab.spec import Spec, build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
BASE = {"name": "lab", "model": "tunnel"}


def _spec_error(data: object) -> SpecError:
    with pytest.raises(SpecError) as info:
        build_spec(data)
    return info.value


def _assert_clear(err: SpecError, field: str, words: tuple[str, ...]) -> None:
    assert err.field == field
    rule = err.rule.lower()
    for word in words:
        assert word.lower() in rule, f"{word!r} not in rule {err.rule!r}"
    assert err.exit_code == 2
    assert isinstance(err, LabError)
    assert str(err) == f"{field}: {err.rule}"
    assert "\n" not in err.rule, "one clear line, not a pydantic dump"


# (overrides of BASE, field the error must name, words the rule must contain)
INVALID = [
    # -- the three planes must not overlap (cce_bestpractice_00004) --
    pytest.param({"service_cidr": "192.168.10.0/24"}, "service_cidr", ("overlap", "vpc_cidr"), id="service-in-vpc"),
    pytest.param({"service_cidr": "192.0.0.0/8"}, "service_cidr", ("overlap", "vpc_cidr"), id="service-contains-vpc"),
    pytest.param({"service_cidr": "192.168.0.128/25"}, "service_cidr", ("overlap",), id="service-in-node-subnet"),
    pytest.param(
        {"service_cidr": "172.16.128.0/17"}, "service_cidr", ("overlap", "container_cidr"), id="service-in-container"
    ),
    pytest.param(
        {"service_cidr": "172.0.0.0/8"}, "service_cidr", ("overlap", "container_cidr"), id="service-contains-container"
    ),
    pytest.param({"container_cidr": "192.168.64.0/18"}, "container_cidr", ("overlap", "vpc"), id="container-in-vpc"),
    pytest.param({"container_cidr": "192.0.0.0/8"}, "container_cidr", ("overlap", "vpc"), id="container-contains-vpc"),
    pytest.param({"container_cidr": "192.168.0.0/24"}, "container_cidr", ("overlap",), id="container-is-node-subnet"),
    # -- the node subnet lies inside the VPC --
    pytest.param({"node_subnet": "10.1.0.0/24"}, "node_subnet", ("inside", "vpc_cidr"), id="node-subnet-outside-vpc"),
    pytest.param(
        {"vpc_cidr": "192.168.0.0/24", "node_subnet": "192.168.0.0/23"},
        "node_subnet",
        ("inside", "vpc_cidr"),
        id="node-subnet-larger-than-vpc",
    ),
    pytest.param(
        {"node_subnet": "192.169.0.0/24"}, "node_subnet", ("inside", "vpc_cidr"), id="node-subnet-next-to-vpc"
    ),
    # -- CIDR strings --
    pytest.param({"vpc_cidr": "192.168.0.1/16"}, "vpc_cidr", ("cidr", "host bits"), id="vpc-host-bits-set"),
    pytest.param({"node_subnet": "192.168.0.5/24"}, "node_subnet", ("cidr", "host bits"), id="subnet-host-bits-set"),
    pytest.param({"container_cidr": "172.16.0.0/33"}, "container_cidr", ("ipv4", "cidr"), id="container-prefix-33"),
    pytest.param({"service_cidr": "not-a-cidr"}, "service_cidr", ("ipv4", "cidr"), id="service-garbage"),
    pytest.param({"container_cidr": "fd00::/8"}, "container_cidr", ("ipv4",), id="container-ipv6"),
    pytest.param({"vpc_cidr": "300.168.0.0/16"}, "vpc_cidr", ("ipv4", "cidr"), id="vpc-octet-out-of-range"),
    # -- block_mask 24..28 (fixPoolMask) --
    pytest.param({"block_mask": 23}, "block_mask", ("24",), id="block-mask-23"),
    pytest.param({"block_mask": 29}, "block_mask", ("28",), id="block-mask-29"),
    pytest.param({"model": "vpc", "block_mask": 32}, "block_mask", ("28",), id="vpc-block-mask-32"),
    # -- tunnel blocks are a power of two --
    pytest.param({"tunnel_block_size": 12}, "tunnel_block_size", ("power of two",), id="tunnel-block-12"),
    pytest.param({"tunnel_block_size": 17}, "tunnel_block_size", ("power of two",), id="tunnel-block-17"),
    pytest.param({"tunnel_block_size": 0}, "tunnel_block_size", ("power of two",), id="tunnel-block-0"),
    pytest.param({"tunnel_block_size": 2}, "tunnel_block_size", ("power of two", "4"), id="tunnel-block-2-too-small"),
    pytest.param(
        {"tunnel_block_size": 512}, "tunnel_block_size", ("power of two", "256"), id="tunnel-block-512-too-big"
    ),
    # -- unknown keys --
    pytest.param({"nodez": 3}, "nodez", ("unknown", "nodes"), id="unknown-key-typo"),
    pytest.param({"pod_per_node": 3}, "pod_per_node", ("unknown", "pods_per_node"), id="unknown-key-singular"),
    # -- wrong types and ranges --
    pytest.param({"nodes": "three"}, "nodes", ("integer",), id="nodes-word"),
    pytest.param({"nodes": 2.5}, "nodes", ("integer",), id="nodes-fraction"),
    pytest.param({"nodes": [3]}, "nodes", ("integer",), id="nodes-list"),
    pytest.param({"nodes": 0}, "nodes", ("1",), id="nodes-zero"),
    pytest.param({"nodes": 2001}, "nodes", ("2000",), id="nodes-over-2000"),
    pytest.param({"mtu": "jumbo"}, "mtu", ("integer",), id="mtu-word"),
    pytest.param({"mtu": 1279}, "mtu", ("1280",), id="mtu-below-ipv6-minimum"),
    pytest.param({"mtu": 9001}, "mtu", ("9000",), id="mtu-over-9000"),
    pytest.param({"route_quota": 0}, "route_quota", ("1",), id="route-quota-zero"),
    pytest.param({"ecs": "maybe"}, "ecs", ("bool",), id="ecs-word"),
    pytest.param({"name": 123}, "name", ("string",), id="name-number"),
    pytest.param({"datapath": "dpdk"}, "datapath", ("dpdk", "ovs-kernel", "linux-vxlan"), id="datapath-unknown"),
    # -- required keys --
    pytest.param({"name": None}, "name", ("string",), id="name-null"),
    # -- name --
    pytest.param({"name": "Lab"}, "name", ("'lab'", "lower-case"), id="name-upper-case"),
    pytest.param({"name": "1lab"}, "name", ("lower-case", "letter"), id="name-starts-with-digit"),
    pytest.param({"name": "my-lab"}, "name", ("lower-case",), id="name-dash"),
    pytest.param({"name": ""}, "name", ("1-10",), id="name-empty"),
    pytest.param({"name": "abcdefghijk"}, "name", ("1-10",), id="name-11-chars"),
    # -- model --
    pytest.param({"model": "flat"}, "model", ("'flat'", "tunnel", "vpc"), id="model-unknown"),
    pytest.param({"model": "VPC"}, "model", ("'vpc'", "tunnel"), id="model-upper-case"),
    # -- pods_per_node --
    pytest.param({"nodes": 3, "pods_per_node": [1, 2]}, "pods_per_node", ("2", "3", "one per node"), id="list-short"),
    pytest.param({"nodes": 2, "pods_per_node": [1, 2, 3]}, "pods_per_node", ("3", "2", "one per node"), id="list-long"),
    pytest.param({"pods_per_node": -1}, "pods_per_node", ("0 or more",), id="pods-negative"),
    pytest.param({"nodes": 3, "pods_per_node": [1, -2, 3]}, "pods_per_node", ("0 or more",), id="pods-list-negative"),
    # -- iptables backend --
    pytest.param({"iptables": "nftables"}, "iptables", ("'nftables'", "host", "legacy"), id="iptables-unknown"),
    # -- VPC model routes without a tunnel datapath --
    pytest.param({"model": "vpc", "datapath": "ovs-kernel"}, "datapath", ("tunnel", "vpc"), id="vpc-ovs-kernel"),
    pytest.param({"model": "vpc", "datapath": "ovs-userspace"}, "datapath", ("tunnel", "vpc"), id="vpc-ovs-userspace"),
    pytest.param({"model": "vpc", "datapath": "linux-vxlan"}, "datapath", ("tunnel", "vpc"), id="vpc-linux-vxlan"),
]


@pytest.mark.parametrize(("overrides", "field", "words"), INVALID)
def test_invalid_spec_gives_one_clear_error(overrides: dict, field: str, words: tuple[str, ...]) -> None:
    _assert_clear(_spec_error({**BASE, **overrides}), field, words)


@pytest.mark.parametrize(
    ("missing", "data"),
    [
        pytest.param("name", {"model": "tunnel"}, id="no-name"),
        pytest.param("model", {"name": "lab"}, id="no-model"),
        pytest.param("name", {}, id="empty-mapping-names-first-missing"),
    ],
)
def test_missing_required_key(missing: str, data: dict) -> None:
    _assert_clear(_spec_error(data), missing, ("required", "missing"))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param([{"name": "lab"}], id="list"),
        pytest.param("name: lab", id="string"),
        pytest.param(None, id="none"),
        pytest.param(42, id="int"),
    ],
)
def test_non_mapping_is_rejected(data: object) -> None:
    _assert_clear(_spec_error(data), "topology", ("mapping",))


@pytest.mark.parametrize(
    ("data", "checks"),
    [
        pytest.param(
            {"name": "lab", "model": "tunnel"},
            {
                "service_cidr": IPv4Network("10.247.0.0/16"),
                "tunnel_block_size": 16,
                "mtu": 1500,
                "datapath": "auto",
                "nodes": 3,
                "block_mask": 25,
                "route_quota": 200,
                "ecs": False,
            },
            id="cce-defaults",
        ),
        pytest.param(
            {"name": "v1", "model": "vpc", "block_mask": 24, "route_quota": 10, "nodes": 2},
            {"model": "vpc", "block_mask": 24, "route_quota": 10, "nodes": 2},
            id="vpc",
        ),
        pytest.param(
            {"name": "t", "model": "tunnel", "datapath": "linux-vxlan", "tunnel_block_size": 4},
            {"datapath": "linux-vxlan", "tunnel_block_size": 4},
            id="tunnel-linux-vxlan",
        ),
        pytest.param(
            {"name": "abcdefghij", "model": "tunnel", "tunnel_block_size": 256, "block_mask": 28},
            {"name": "abcdefghij", "tunnel_block_size": 256, "block_mask": 28},
            id="upper-bounds",
        ),
        pytest.param(
            {"name": "lab", "model": "tunnel", "nodes": 2, "pods_per_node": [0, 5]},
            {"pods_per_node": [0, 5]},
            id="pods-list",
        ),
        pytest.param(
            {"name": "lab", "model": "tunnel", "container_cidr": "10.0.0.0/16", "service_cidr": "10.247.0.0/16"},
            {"container_cidr": IPv4Network("10.0.0.0/16")},
            id="adjacent-planes-in-same-8",
        ),
    ],
)
def test_valid_spec_loads(data: dict, checks: dict) -> None:
    spec = build_spec(data)
    for key, value in checks.items():
        assert getattr(spec, key) == value, key


@pytest.mark.parametrize(
    ("nodes", "pods", "expected"),
    [
        pytest.param(3, 2, [2, 2, 2], id="int"),
        pytest.param(1, 0, [0], id="zero"),
        pytest.param(3, [4, 0, 1], [4, 0, 1], id="list"),
    ],
)
def test_pod_counts(nodes: int, pods: int | list[int], expected: list[int]) -> None:
    assert build_spec({**BASE, "nodes": nodes, "pods_per_node": pods}).pod_counts() == expected


def test_build_spec_accepts_a_spec_but_still_checks_planes() -> None:
    good = Spec(name="lab", model="tunnel")
    assert build_spec(good) is good
    bad = Spec(name="lab", model="tunnel", service_cidr=IPv4Network("172.16.0.0/24"))
    _assert_clear(_spec_error(bad), "service_cidr", ("overlap", "container_cidr"))


# ------------------------------------------------- fixed bugs (regression tests)


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        pytest.param("many", {"pods_per_node"}, id="word"),
        pytest.param([1, "x", 2], {"pods_per_node", "pods_per_node[1]"}, id="bad-list-element"),
    ],
)
def test_pods_per_node_wrong_type_names_the_field(value: object, fields: set[str]) -> None:
    err = _spec_error({**BASE, "nodes": 3, "pods_per_node": value})
    assert err.field in fields


@pytest.mark.parametrize("key", ["nodes", "pods_per_node"])
def test_yaml_boolean_is_not_a_count(tmp_path: Path, key: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(f"name: lab\nmodel: tunnel\n{key}: yes\n")
    with pytest.raises(SpecError) as info:
        load(path)
    assert info.value.field == key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("vpc_cidr", "192.168.0.0", id="vpc"),
        pytest.param("container_cidr", "172.16.0.0", id="container"),
        pytest.param("service_cidr", "10.247.0.0", id="service"),
    ],
)
def test_bare_address_is_not_a_cidr(key: str, value: str) -> None:
    _assert_clear(_spec_error({**BASE, key: value}), key, ("cidr",))


# ------------------------------------------------------------------ loading


def test_load_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: mylab\nmodel: vpc\nnodes: 4\npods_per_node: [1, 2, 3, 4]\n"
        "container_cidr: 172.20.0.0/16\nblock_mask: 26\necs: true\n"
    )
    spec = load(path)
    assert (spec.name, spec.model, spec.nodes) == ("mylab", "vpc", 4)
    assert spec.pods_per_node == [1, 2, 3, 4]
    assert spec.container_cidr == IPv4Network("172.20.0.0/16")
    assert spec.block_mask == 26
    assert spec.ecs is True


def test_load_yml_suffix_and_str_path(tmp_path: Path) -> None:
    path = tmp_path / "lab.yml"
    path.write_text("name: y\nmodel: tunnel\n")
    assert load(str(path)).name == "y"


def test_load_yaml_validation_error_names_field(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("name: lab\nmodel: tunnel\nnodes: three\n")
    with pytest.raises(SpecError) as info:
        load(path)
    _assert_clear(info.value, "nodes", ("integer",))


SCRIPT = """
def topology(nodes="2", pods="1", model="tunnel"):
    n = int(nodes)
    return {"name": "scr", "model": model, "nodes": n, "pods_per_node": [int(pods)] * n}
"""


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(None, ("tunnel", 2, [1, 1]), id="defaults"),
        pytest.param({}, ("tunnel", 2, [1, 1]), id="empty-params"),
        pytest.param({"nodes": "4", "pods": "3"}, ("tunnel", 4, [3, 3, 3, 3]), id="nodes-pods"),
        pytest.param({"model": "vpc"}, ("vpc", 2, [1, 1]), id="model"),
    ],
)
def test_load_python_script_with_params(tmp_path: Path, params: dict | None, expected: tuple) -> None:
    path = tmp_path / "topo.py"
    path.write_text(SCRIPT)
    spec = load(path, params)
    assert (spec.model, spec.nodes, spec.pods_per_node) == expected


def test_load_python_script_returning_spec(tmp_path: Path) -> None:
    path = tmp_path / "topo.py"
    path.write_text(
        "from lab.spec import Spec\n\ndef topology(**params):\n    return Spec(name='obj', model='vpc', nodes=5)\n"
    )
    spec = load(path)
    assert (spec.name, spec.model, spec.nodes) == ("obj", "vpc", 5)


@pytest.mark.parametrize(
    ("source", "params", "field", "words"),
    [
        pytest.param(SCRIPT, {"colour": "red"}, "param", ("colour",), id="unknown-param"),
        # the script's own int() fails: a script error that names the line and the value it was given
        pytest.param(SCRIPT, {"nodes": "many"}, "topology", ("many", "ValueError", "line 3"), id="param-not-int"),
        pytest.param("import sys\nsys.exit(3)\n", None, "topology", ("sys.exit(3)",), id="script-exits"),
        pytest.param(
            "def topology():\n    return {}['x']\n", None, "topology", ("KeyError", "line 2"), id="script-bug"
        ),
        pytest.param("x = 1\n", None, "topology", ("topology(**params)",), id="no-topology-function"),
        pytest.param("topology = 3\n", None, "topology", ("topology(**params)",), id="topology-not-callable"),
        pytest.param("def topology():\n    return ['a']\n", None, "topology", ("mapping",), id="script-returns-list"),
        pytest.param(
            "def topology():\n    return {'name': 'x', 'model': 'vpc', 'block_mask': 30}\n",
            None,
            "block_mask",
            ("28",),
            id="script-returns-bad-spec",
        ),
    ],
)
def test_load_python_script_errors(tmp_path: Path, source: str, params: dict | None, field: str, words: tuple) -> None:
    path = tmp_path / "topo.py"
    path.write_text(source)
    with pytest.raises(SpecError) as info:
        load(path, params)
    assert info.value.field == field
    for word in words:
        assert word in info.value.rule
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("filename", "content", "params", "field", "words"),
    [
        pytest.param("lab.yaml", "- name: lab\n- model: tunnel\n", None, "topology", ("mapping",), id="yaml-list"),
        pytest.param("lab.yaml", "just a string\n", None, "topology", ("mapping",), id="yaml-scalar"),
        pytest.param("lab.yaml", "", None, "topology", ("mapping",), id="yaml-empty"),
        pytest.param("lab.yaml", "name: [unclosed\nmodel: tunnel\n", None, "topology", ("yaml",), id="yaml-invalid"),
        pytest.param("lab.yaml", "name: lab\n\tmodel: tunnel\n", None, "topology", ("yaml",), id="yaml-tab-indent"),
        pytest.param(
            "lab.yaml", "name: lab\nmodel: tunnel\n", {"nodes": "3"}, "param", ("python",), id="param-on-yaml"
        ),
        pytest.param("lab.json", '{"name": "lab", "model": "tunnel"}', None, "topology", (".yaml", ".py"), id="json"),
    ],
)
def test_load_file_errors(
    tmp_path: Path, filename: str, content: str, params: dict | None, field: str, words: tuple[str, ...]
) -> None:
    path = tmp_path / filename
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        load(path, params)
    assert info.value.field == field
    for word in words:
        assert word.lower() in info.value.rule.lower()
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "name",
    [pytest.param("missing.yaml", id="yaml"), pytest.param("missing.py", id="py"), pytest.param("", id="directory")],
)
def test_load_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path / name)
    assert info.value.field == "topology"
    assert ("does not exist" if name else "is a directory") in info.value.rule
    assert info.value.exit_code == 2


# ------------------------------------------------------ shipped topologies


@pytest.mark.parametrize(
    ("filename", "model", "block_field", "block_value"),
    [
        pytest.param("tunnel.yaml", "tunnel", "tunnel_block_size", 16, id="tunnel"),
        pytest.param("vpc.yaml", "vpc", "block_mask", 25, id="vpc"),
    ],
)
def test_shipped_yaml_topologies_load(filename: str, model: str, block_field: str, block_value: int) -> None:
    spec = load(TOPOLOGIES / filename)
    assert spec.model == model
    assert getattr(spec, block_field) == block_value
    # the two files use the same planes so the models compare like for like
    assert spec.vpc_cidr == IPv4Network("192.168.0.0/16")
    assert spec.node_subnet == IPv4Network("192.168.0.0/24")
    assert spec.container_cidr == IPv4Network("172.16.0.0/16")
    assert spec.service_cidr == IPv4Network("10.247.0.0/16")
    assert (spec.nodes, spec.pods_per_node, spec.mtu, spec.ecs) == (3, 2, 1500, True)


@pytest.mark.parametrize(
    ("params", "model"),
    [
        pytest.param({"nodes": "50", "pods": "20"}, "vpc", id="vpc-50x20"),
        pytest.param({"nodes": "50", "pods": "20", "model": "tunnel"}, "tunnel", id="tunnel-50x20"),
    ],
)
def test_shipped_scale_script_loads(params: dict[str, str], model: str) -> None:
    spec = load(TOPOLOGIES / "scale.py", params)
    assert (spec.name, spec.model, spec.nodes, spec.pod_counts()) == ("scale", model, 50, [20] * 50)
    assert spec.container_cidr == IPv4Network("172.16.0.0/14")
    assert spec.node_subnet == IPv4Network("192.168.0.0/20")
