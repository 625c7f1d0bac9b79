"""Real-client tests: the Python `mcp` SDK (2.3.0) against `mcp-server --demo`.

Every test runs twice, once per client mode: `legacy` (initialize handshake, which
negotiates 2025-11-25) and `2026-07-28` (no handshake; per-request `_meta` and
`Mcp-Method`/`Mcp-Name` headers). Each test opens its own `mcp.Client`, so nothing
the SDK caches (tool listings, output-schema validators) leaks between tests.

The response fields checked are those of seed 000 (the tool contract). Note that
`mcp.Client.call_tool` also validates non-error structured content against the tool's
output schema (listing the tools first if it has not), so a result that breaks its own
schema surfaces as a RuntimeError from the SDK.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

T = TypeVar("T")

MODES = ["legacy", "2026-07-28"]
EXPECTED_PROTOCOL = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28"}
TOOLS = {
    "health_check",
    "get_server_info",
    "analyze_security_findings",
    "check_compliance_status",
    "recommend_security_improvements",
    "assess_security_posture",
    "validate_security_controls",
    "list_accounts",
    "get_posture_history",
    "compare_snapshots",
    "get_assessment_status",
    "generate_security_report",
    "investigate_security_incident",
    "aws_read",
    "suggest_aws_read",
    "describe_aws_operation",
    "get_account_info",
    "validate_member_access",
    "list_exceptions",
}
VALIDATE = "validate_security_controls"
ASSESS = "assess_security_posture"
RECOMMEND = "recommend_security_improvements"
COMPLIANCE = "check_compliance_status"
ANALYZE = "analyze_security_findings"
SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
ATTACK_INSTANCE = "i-0a1b2c3d4e5f60718"
MITRE_TACTICS = [
    "Reconnaissance",
    "Resource Development",
    "Initial Access",
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Command and Control",
    "Exfiltration",
    "Impact",
]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def with_client(url: str, mode: str, fn: Callable[[Client], Awaitable[T]]) -> T:
    """Open a fresh `mcp.Client` in `mode`, run `fn` with it, close it."""

    async def main() -> T:
        async with Client(url, mode=mode, read_timeout_seconds=30) as client:
            assert client.protocol_version == EXPECTED_PROTOCOL[mode]
            return await fn(client)

    return anyio.run(main)


def call(url: str, mode: str, name: str, arguments: dict[str, Any] | None = None):
    return with_client(url, mode, lambda c: c.call_tool(name, arguments))


def ok_structured(result, name: str) -> dict[str, Any]:
    """Structured content of a successful call, after checking for a text block."""
    assert result.is_error is False, f"{name} failed: {result.structured_content or result.content}"
    texts = [b for b in result.content if getattr(b, "type", None) == "text"]
    assert texts, f"{name}: no text content block in {result.content!r}"
    assert all(b.text.strip() for b in texts), f"{name}: empty text content block"
    assert isinstance(result.structured_content, dict), f"{name}: structured content {result.structured_content!r}"
    return result.structured_content


def analyze(url: str, mode: str, **arguments: Any) -> dict[str, Any]:
    return ok_structured(call(url, mode, ANALYZE, arguments), ANALYZE)


class Shape:
    """Collects every contract violation of one response, so a failure lists them all."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.problems: list[str] = []

    def get(self, obj: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        path = f"{where}.{key}" if where else key
        if not isinstance(obj, dict):
            self.problems.append(f"{where or '<root>'}: not an object ({obj!r:.80})")
            return None
        if key not in obj:
            self.problems.append(f"{path}: missing")
            return None
        value = obj[key]
        # bool is an int in Python: keep numbers and booleans apart.
        if kind in (int, float, (int, float)) and isinstance(value, bool):
            self.problems.append(f"{path}: expected number, got bool {value!r}")
        elif not isinstance(value, kind):
            self.problems.append(f"{path}: expected {kind}, got {type(value).__name__} {value!r:.80}")
            return None
        return value

    def string(self, obj: Any, key: str, where: str = "", allowed: list[str] | None = None) -> str | None:
        value = self.get(obj, key, where, str)
        if value is not None and allowed is not None and value not in allowed:
            self.problems.append(f"{where}.{key}: {value!r} not one of {allowed}")
        return value

    def number(self, obj: Any, key: str, where: str = "", lo: float | None = None, hi: float | None = None):
        value = self.get(obj, key, where, (int, float))
        if value is not None and not isinstance(value, bool):
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                self.problems.append(f"{where}.{key}: {value} outside [{lo}, {hi}]")
        return value

    def boolean(self, obj: Any, key: str, where: str = "") -> bool | None:
        return self.get(obj, key, where, bool)

    def strings(self, obj: Any, key: str, where: str = "") -> list[str] | None:
        value = self.get(obj, key, where, list)
        if value is not None and not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where}.{key}: not all strings: {value!r:.120}")
        return value

    def obj(self, obj: Any, key: str, where: str = "") -> dict[str, Any] | None:
        return self.get(obj, key, where, dict)

    def timestamp(self, obj: Any, key: str, where: str = "") -> datetime | None:
        value = self.string(obj, key, where)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.problems.append(f"{where}.{key}: not ISO 8601: {value!r}")
            return None
        if parsed.tzinfo is None:
            self.problems.append(f"{where}.{key}: no UTC offset: {value!r}")
            return None
        return parsed

    def check(self, what: str) -> None:
        assert not self.problems, f"{what} breaks the seed-000 contract:\n  " + "\n  ".join(self.problems)


# --------------------------------------------------------------------------- 1. tools/list


def test_list_tools_names_and_schemas(server_url: str, mode: str) -> None:
    listing = with_client(server_url, mode, lambda c: c.list_tools())
    tools = {t.name: t for t in listing.tools}
    assert sorted(t.name for t in listing.tools) == sorted(TOOLS), "exactly the registered tools, each once"
    assert listing.next_cursor is None

    for name, tool in tools.items():
        assert isinstance(tool.input_schema, dict) and tool.input_schema.get("type") == "object", name
        assert isinstance(tool.output_schema, dict) and tool.output_schema.get("type") == "object", name
        required = tool.input_schema.get("required") or []
        expected_required = {
            COMPLIANCE: ["framework"],
            ASSESS: ["scope", "target"],
            VALIDATE: ["control_ids"],
            "get_assessment_status": ["run_id"],
            "aws_read": ["service", "operation"],
            "suggest_aws_read": ["question"],
            "describe_aws_operation": ["service", "operation"],
        }.get(name, [])
        assert required == expected_required, f"{name}: required arguments per the seed"
        assert tool.description, name

    for name in ("health_check", "get_server_info"):
        assert tools[name].input_schema.get("properties", {}) == {}, f"{name} takes no parameters"

    # Tools that write to the product's own store (a queued run, a report file) do not claim to be reads.
    writers = {ASSESS, "generate_security_report"}
    for name, tool in tools.items():
        assert tool.annotations is not None and tool.annotations.destructive_hint is False, name
        assert tool.annotations.read_only_hint is (name not in writers), name

    # Output schemas declare the seed's top-level response fields.
    seed_top_level = {
        "health_check": {"server_name", "version", "status", "timestamp", "configuration", "services"},
        "get_server_info": {"server", "capabilities", "intelligence_engines", "configuration"},
        ANALYZE: {
            "analysis_id",
            "time_range",
            "threat_landscape",
            "attack_patterns",
            "high_risk_findings",
            "remediation_plan",
            "generated_at",
        },
    }
    for name, fields in seed_top_level.items():
        declared = set(tools[name].output_schema.get("properties", {}))
        assert fields <= declared, f"{name} output schema lacks {sorted(fields - declared)}"

    props = tools[ANALYZE].input_schema["properties"]
    # The seed's four, then the organization-wide selection (issue 13).
    assert set(props) == {
        "severity_threshold",
        "time_range_days",
        "include_remediation",
        "max_findings",
        "account_ids",
        "regions",
        "resource",
        "principal",
        "finding_types",
        "organizational_unit",
        "freshness",
    }

    sev = props["severity_threshold"]
    assert sev.get("type") == "string"
    assert sev.get("enum") == SEVERITIES
    assert sev.get("default") == "MEDIUM"

    days = props["time_range_days"]
    assert days.get("type") in ("integer", "number")
    assert (days.get("minimum"), days.get("maximum"), days.get("default")) == (1, 365, 30)

    rem = props["include_remediation"]
    assert rem.get("type") == "boolean"
    assert rem.get("default") is True

    maxf = props["max_findings"]
    assert maxf.get("type") in ("integer", "number")
    assert (maxf.get("minimum"), maxf.get("maximum"), maxf.get("default")) == (1, 1000, 500)


# --------------------------------------------------------------------------- 2. defaults and response fields


def test_health_check_fields(server_url: str, mode: str) -> None:
    sc = ok_structured(call(server_url, mode, "health_check", {}), "health_check")
    s = Shape(sc)
    s.string(sc, "server_name")
    s.string(sc, "version")
    status = s.string(sc, "status", "", ["healthy", "degraded", "unhealthy"])
    ts = s.number(sc, "timestamp")
    cfg = s.obj(sc, "configuration")
    s.string(cfg, "aws_region", "configuration")
    s.string(cfg, "log_level", "configuration")
    s.boolean(cfg, "read_only_mode", "configuration")
    services = s.obj(sc, "services")
    for svc in ("mcp_server", "logging", "configuration"):
        s.string(services, svc, "services", ["operational", "degraded", "failed"])
    s.check("health_check")

    assert status == "healthy", "the demo server has no failing dependency"
    assert cfg["read_only_mode"] is True
    assert abs(ts - time.time()) < 300, f"timestamp {ts} is not the current Unix time"


def test_get_server_info_fields(server_url: str, mode: str) -> None:
    sc = ok_structured(call(server_url, mode, "get_server_info", None), "get_server_info")
    s = Shape(sc)
    server = s.obj(sc, "server")
    for key in ("name", "version", "description", "author", "mcp_version"):
        s.string(server, key, "server")
    caps = s.obj(sc, "capabilities")
    sa = s.obj(caps, "security_assessment", "capabilities")
    s.string(sa, "description", "capabilities.security_assessment")
    s.strings(sa, "supported_scopes", "capabilities.security_assessment")
    s.strings(sa, "aws_services", "capabilities.security_assessment")
    # The assessment tools are registered, so the capability says so (it
    # once said "not registered in this build").
    assert sa["available"] is True, sa
    assert {"assess_security_posture", "recommend_security_improvements", "validate_security_controls"} <= set(sa["tools"]), sa
    assert sa["supported_scopes"] == ["account", "region", "service", "workload", "organization"], sa
    assert {"IAM", "S3", "EC2", "CloudTrail", "KMS"} <= set(sa["aws_services"]), sa
    assert "CIS" in sa["supported_frameworks"], sa
    # Truthful: a capability is available exactly when one of its tools is registered and its
    # data can be read (the demo server has a store holding its start-up run); every tool but
    # the two about the server itself belongs to a capability.
    registered = set(sc["tools"])
    answers = sc["configuration"]["answers_from"]
    assert answers["basis"] == "run" and answers["store_readable"] is True and answers["accounts"] == 3, answers
    for name, cap in caps.items():
        assert set(cap["tools"]) <= registered, (name, cap["tools"])
        # The demo has no AWS behind it: aws_read is registered but cannot read.
        assert cap["available"] is (bool(cap["tools"]) and name != "aws_explorer"), (name, cap)
    covered = {t for cap in caps.values() for t in cap["tools"]}
    assert registered - covered == {"health_check", "get_server_info"}, registered - covered
    ta = s.obj(caps, "threat_analysis", "capabilities")
    s.string(ta, "description", "capabilities.threat_analysis")
    s.strings(ta, "features", "capabilities.threat_analysis")
    cm = s.obj(caps, "compliance_monitoring", "capabilities")
    s.string(cm, "description", "capabilities.compliance_monitoring")
    s.strings(cm, "supported_frameworks", "capabilities.compliance_monitoring")
    s.strings(cm, "features", "capabilities.compliance_monitoring")
    engines = s.obj(sc, "intelligence_engines")
    for engine_name in engines or {}:
        engine = s.obj(engines, engine_name, "intelligence_engines")
        s.string(engine, "description", f"intelligence_engines.{engine_name}")
        s.string(engine, "status", f"intelligence_engines.{engine_name}", ["available", "unavailable"])
    cfg = s.obj(sc, "configuration")
    s.string(cfg, "aws_region", "configuration")
    s.boolean(cfg, "read_only_mode", "configuration")
    s.boolean(cfg, "audit_logging", "configuration")
    s.strings(cfg, "supported_auth_methods", "configuration")
    s.check("get_server_info")

    assert engines, "intelligence_engines is empty"
    assert server["mcp_version"] in HANDSHAKE_PROTOCOL_VERSIONS + MODERN_PROTOCOL_VERSIONS
    assert ta["features"], "threat_analysis lists no features although analyze_security_findings is registered"
    assert cfg["read_only_mode"] is True


def check_analysis_shape(sc: dict[str, Any]) -> Shape:
    s = Shape(sc)
    s.string(sc, "analysis_id")
    tr = s.obj(sc, "time_range")
    start = s.timestamp(tr, "start_date", "time_range")
    end = s.timestamp(tr, "end_date", "time_range")
    days = s.number(tr, "days", "time_range", 1, 365)
    if start and end and isinstance(days, int):
        if end - start != timedelta(days=days):
            s.problems.append(f"time_range: end_date - start_date = {end - start}, not {days} days")
    tl = s.obj(sc, "threat_landscape")
    s.number(tl, "total_threats", "threat_landscape", 0)
    s.number(tl, "active_threats", "threat_landscape", 0)
    cats = s.obj(tl, "threat_categories", "threat_landscape")
    for cat in cats or {}:
        s.number(cats, cat, "threat_landscape.threat_categories", 0)
    s.number(tl, "risk_score", "threat_landscape", 0, 100)
    s.string(tl, "trend", "threat_landscape", ["INCREASING", "STABLE", "DECREASING"])
    patterns = s.get(sc, "attack_patterns", "", list) or []
    for i, p in enumerate(patterns):
        w = f"attack_patterns[{i}]"
        for key in ("pattern_id", "name", "description"):
            s.string(p, key, w)
        s.number(p, "confidence_score", w, 0, 1)
        s.string(p, "severity", w, SEVERITIES)
        for key in ("kill_chain_phases", "tactics", "techniques", "affected_resources"):
            s.strings(p, key, w)
        s.number(p, "related_findings_count", w, 1)
        s.number(p, "risk_score", w, 0, 100)
    findings = s.get(sc, "high_risk_findings", "", list) or []
    for i, f in enumerate(findings):
        w = f"high_risk_findings[{i}]"
        for key in ("finding_id", "title", "description", "source_service"):
            s.string(f, key, w)
        s.string(f, "severity", w, SEVERITIES)
        s.strings(f, "attack_indicators", w)
        s.strings(f, "affected_resources", w)
    s.timestamp(sc, "generated_at")
    return s


def test_analyze_defaults_fields(server_url: str, mode: str) -> None:
    sc = analyze(server_url, mode)
    s = check_analysis_shape(sc)
    plan = s.obj(sc, "remediation_plan")
    for key in ("immediate_actions", "short_term_actions", "long_term_actions"):
        s.strings(plan, key, "remediation_plan")
    s.string(plan, "estimated_effort", "remediation_plan")
    s.check(ANALYZE)

    # Defaults in effect: 30 days, MEDIUM and above, remediation included.
    assert sc["time_range"]["days"] == 30
    severities = {f["severity"] for f in sc["high_risk_findings"]}
    assert "LOW" not in severities
    assert "LOW" not in sc["threat_landscape"].get("severity_counts", {})
    assert sc["attack_patterns"], "the demo organization has an attack in the last 30 days"
    assert sc["high_risk_findings"], "the demo organization has high-risk findings"
    assert plan["immediate_actions"], "an active attack must yield immediate remediation actions"
    assert sc["threat_landscape"]["total_threats"] > 0


# --------------------------------------------------------------------------- 3. validation errors


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_findings": 0}, "max_findings"),
        ({"time_range_days": 400}, "time_range_days"),
        ({"severity_threshold": "URGENT"}, "severity_threshold"),
        ({"unexpected_argument": 1}, "unexpected_argument"),
        ({"include_remediation": "yes"}, "include_remediation"),
    ],
    ids=["max_findings=0", "time_range_days=400", "severity=URGENT", "unknown-argument", "include_remediation=yes"],
)
def test_validation_error(server_url: str, mode: str, arguments: dict[str, Any], field: str) -> None:
    result = call(server_url, mode, ANALYZE, arguments)
    assert result.is_error is True, f"{arguments} was accepted: {result.structured_content!r:.300}"
    sc = result.structured_content
    assert isinstance(sc, dict), f"error without structured content: {result.content!r}"
    assert sc.get("error_type") == "ValidationError", sc
    assert isinstance(sc.get("detail"), str) and sc["detail"].strip(), sc
    assert isinstance(sc.get("context"), dict), sc
    assert sc["context"].get("field") == field, sc
    assert any(getattr(b, "type", None) == "text" and b.text.strip() for b in result.content), result.content


# --------------------------------------------------------------------------- 4. the multi-stage attack


def test_multi_stage_attack(server_url: str, mode: str) -> None:
    sc = analyze(server_url, mode)
    matching = [p for p in sc["attack_patterns"] if ATTACK_INSTANCE in p["affected_resources"]]
    assert len(matching) == 1, f"expected one attack pattern touching {ATTACK_INSTANCE}, got {len(matching)}"
    pattern = matching[0]
    tactics = pattern["tactics"]

    unknown = [t for t in tactics if t not in MITRE_TACTICS]
    assert not unknown, f"not ATT&CK tactic names: {unknown}"
    positions = [MITRE_TACTICS.index(t) for t in tactics]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), (
        f"tactics not in kill-chain order (or repeated): {tactics}"
    )
    for needed in ("Credential Access", "Discovery", "Exfiltration", "Impact"):
        assert needed in tactics, f"{needed} missing from {tactics}"

    assert 0 < pattern["confidence_score"] <= 1
    assert len(pattern["kill_chain_phases"]) == len(tactics)
    # The phases are the STIX names of the same tactics, in the same order.
    assert pattern["kill_chain_phases"] == [
        "mitre-attack:" + t.lower().replace(" ", "-") for t in tactics
    ], pattern["kill_chain_phases"]
    assert pattern["related_findings_count"] >= 2, "a multi-stage pattern links several findings"


# --------------------------------------------------------------------------- 5. filters


def test_severity_threshold_high(server_url: str, mode: str) -> None:
    sc = analyze(server_url, mode, severity_threshold="HIGH")
    check_analysis_shape(sc).check(ANALYZE)
    findings = sc["high_risk_findings"]
    assert findings, "the demo has HIGH/CRITICAL findings"
    below = [(f["finding_id"], f["severity"]) for f in findings if f["severity"] not in ("HIGH", "CRITICAL")]
    assert not below, f"findings below HIGH with severity_threshold HIGH: {below}"
    counts = sc["threat_landscape"].get("severity_counts")
    assert isinstance(counts, dict) and counts, f"threat_landscape.severity_counts: {counts!r}"
    assert not {"MEDIUM", "LOW"} & set(counts), f"severity_counts with HIGH threshold: {counts}"
    for p in sc["attack_patterns"]:
        assert p["severity"] in ("HIGH", "CRITICAL"), p["pattern_id"]


def test_time_range_narrows(server_url: str, mode: str) -> None:
    one = analyze(server_url, mode, time_range_days=1)
    ninety = analyze(server_url, mode, time_range_days=90)
    check_analysis_shape(one).check(f"{ANALYZE} (1 day)")
    check_analysis_shape(ninety).check(f"{ANALYZE} (90 days)")
    assert one["time_range"]["days"] == 1
    assert ninety["time_range"]["days"] == 90
    n1 = one["coverage"]["findings_analyzed"]
    n90 = ninety["coverage"]["findings_analyzed"]
    assert n1 < n90, f"1 day analysed {n1} findings, 90 days {n90}"
    assert one["threat_landscape"]["total_threats"] < ninety["threat_landscape"]["total_threats"]


def test_max_findings_truncates(server_url: str, mode: str) -> None:
    full = analyze(server_url, mode)
    assert full["coverage"]["truncated_at_max_findings"] is False, "the demo has far fewer than 500 findings"
    assert full["coverage"]["findings_analyzed"] > 5

    small = analyze(server_url, mode, max_findings=5)
    check_analysis_shape(small).check(f"{ANALYZE} (max_findings 5)")
    coverage = small["coverage"]
    assert 1 <= coverage["findings_analyzed"] <= 5, coverage
    assert coverage["truncated_at_max_findings"] is True, coverage
    assert len(small["high_risk_findings"]) <= 5


# --------------------------------------------------------------------------- 6. unknown tool


def test_unknown_tool_is_protocol_error(server_url: str, mode: str, mcp_server) -> None:
    async def scenario(client: Client):
        with pytest.raises(MCPError) as caught:
            await client.call_tool("no_such_tool", {})
        # The same connection keeps working afterwards.
        after = await client.call_tool("health_check", {})
        return caught.value, after

    error, after = with_client(server_url, mode, scenario)
    assert error.code == -32602, f"unknown tool: expected JSON-RPC -32602 (invalid params), got {error.code}"
    assert "no_such_tool" in error.message
    assert after.is_error is False
    assert after.structured_content["status"] == "healthy"

    assert mcp_server.proc.poll() is None, "the server exited"
    # And a new client is served too.
    fresh = call(server_url, mode, "get_server_info", None)
    assert fresh.is_error is False


# --------------------------------------------------------------------------- 7. compliance


def test_compliance_schema_and_fields(server_url: str, mode: str) -> None:
    listing = with_client(server_url, mode, lambda c: c.list_tools())
    tool = next(t for t in listing.tools if t.name == COMPLIANCE)
    props = tool.input_schema["properties"]
    assert props["framework"]["enum"] == ["CIS", "NIST", "SOC2", "PCI-DSS", "FSBP"]
    assert props["generate_report"]["default"] is True
    assert props["include_evidence"]["default"] is False
    assert props["control_ids"]["default"] == []

    result = call(server_url, mode, COMPLIANCE, {"framework": "CIS"})
    assert result.is_error is not True, result.structured_content
    sc = result.structured_content
    for field in ("framework", "assessment_date", "overall_compliance_score", "compliance_status", "control_results",
                  "compliance_gaps", "remediation_timeline", "generated_at"):
        assert field in sc, field
    assert sc["framework"] == "CIS"
    assert sc["compliance_status"] in ("COMPLIANT", "NON_COMPLIANT", "PARTIAL")
    assert 0 <= sc["overall_compliance_score"] <= 100
    counts = sc["counts"]
    assert counts["passed"] + counts["failed"] > 0
    # The organization's score pools the accounts' requirement results (one score definition).
    passed = sum(a["counts"]["passed"] for a in sc["account_scores"])
    failed = sum(a["counts"]["failed"] for a in sc["account_scores"])
    assert sc["overall_compliance_score"] == round(100 * passed / (passed + failed), 1)
    assert "pooled" in sc["score_definition"]
    assert sc["as_of"]["basis"] == "run" and len(sc["as_of"]["accounts"]) == 3, sc["as_of"]
    assert sorted(sc["accounts"]) == ["210987654321", "345678901234", "456789012345"]
    for r in sc["control_results"]:
        for field in ("control_id", "title", "description", "status", "severity", "compliant_resources",
                      "non_compliant_resources", "remediation_guidance"):
            assert field in r, (r["control_id"], field)
        assert r["status"] in ("PASSED", "FAILED", "NOT_APPLICABLE", "UNKNOWN", "MANUAL")
    by_id = {r["control_id"]: r for r in sc["control_results"]}
    assert by_id["5.6"]["status"] == "FAILED"
    assert "345678901234/i-0a1b2c3d4e5f60718" in by_id["5.6"]["failing_resources"]
    assert by_id["5.2"]["status"] == "FAILED"
    assert any("sg-0a7b8c9d0e1f2a3b4" in x for x in by_id["5.2"]["failing_resources"])
    assert by_id["1.1"]["status"] == "MANUAL"
    gaps = {g["control_id"] for g in sc["compliance_gaps"]}
    assert gaps == {r["control_id"] for r in sc["control_results"] if r["status"] == "FAILED"}
    for g in sc["compliance_gaps"]:
        assert g["remediation_priority"] in ("HIGH", "MEDIUM", "LOW")
    timeline = sc["remediation_timeline"]
    assert len(timeline["immediate"]) + len(timeline["short_term"]) + len(timeline["long_term"]) == len(gaps)


def test_compliance_filters_and_evidence(server_url: str, mode: str) -> None:
    result = call(server_url, mode, COMPLIANCE, {"framework": "CIS", "control_ids": ["1.4", "5.6"], "include_evidence": True})
    sc = result.structured_content
    assert [r["control_id"] for r in sc["control_results"]] == ["1.4", "5.6"]
    evidence = sc["evidence"]
    assert evidence and sc["evidence_total"] == len(evidence)
    assert {e["control_id"] for e in evidence} <= {"1.4", "5.6"}
    assert any(e["evidence_type"] == "native_check" and e["details"]["resource"] == "345678901234/i-0a1b2c3d4e5f60718"
               and e["details"]["status"] == "FAIL" for e in evidence)
    for e in evidence:
        datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))

    summary = call(server_url, mode, COMPLIANCE, {"framework": "NIST", "generate_report": False})
    assert summary.structured_content["control_results"] == []
    assert summary.structured_content["compliance_gaps"]
    for fw in ("SOC2", "PCI-DSS"):
        assert call(server_url, mode, COMPLIANCE, {"framework": fw}).is_error is not True, fw


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({}, "framework"),
        ({"framework": "ISO27001"}, "framework"),
        ({"framework": "CIS", "control_ids": ["9.99"]}, "control_ids"),
        ({"framework": "CIS", "control_ids": "1.4"}, "control_ids"),
        ({"framework": "CIS", "include_evidence": 1}, "include_evidence"),
    ],
    ids=["missing-framework", "unknown-framework", "unknown-control", "control_ids-not-array", "evidence-not-bool"],
)
def test_compliance_validation_errors(server_url: str, mode: str, arguments: dict[str, Any], field: str) -> None:
    result = call(server_url, mode, COMPLIANCE, arguments)
    assert result.is_error is True, result.structured_content
    assert result.structured_content["error_type"] == "ValidationError"
    assert result.structured_content["context"]["field"] == field


def test_aws_read_on_demo_data_says_it_reads_aws(server_url: str, mode: str) -> None:
    # The demo has no AWS behind it: the explorer says so, it never invents a response.
    result = call(server_url, mode, "aws_read", {"service": "s3", "operation": "ListBuckets"})
    assert result.is_error is True, result.structured_content
    assert result.structured_content["error_type"] == "ServiceError"
    assert "reads AWS" in result.structured_content["detail"]


def test_suggest_and_describe_aws_reads(server_url: str, mode: str) -> None:
    # From the embedded models: no AWS needed, so the demo answers.
    sc = ok_structured(
        call(server_url, mode, "suggest_aws_read", {"question": "which security groups allow 0.0.0.0/0 on port 22"}),
        "suggest_aws_read",
    )
    top = sc["suggestions"][0]
    assert (top["service"], top["operation"], top["access_level"]) == ("ec2", "DescribeSecurityGroups", "List"), sc
    assert top["iam_action"] == "ec2:DescribeSecurityGroups" and top["paged"] is True and top["required_parameters"] == []
    secrets = ok_structured(
        call(server_url, mode, "suggest_aws_read", {"question": "show the value of the secret prod/db", "service": "secretsmanager"}),
        "suggest_aws_read",
    )
    offered = {s["operation"] for s in secrets["suggestions"]}
    assert "GetSecretValue" not in offered, secrets
    assert any(r["operation"] == "secretsmanager:GetSecretValue" and "secret values" in r["reason"] for r in secrets["refused"]), secrets
    doc = ok_structured(
        call(server_url, mode, "describe_aws_operation", {"service": "ec2", "operation": "DescribeSecurityGroups"}),
        "describe_aws_operation",
    )
    filters = next(f for f in doc["input"] if f["name"] == "Filters")
    assert [m["name"] for m in filters["members"][0]["members"]] == ["Name", "Values"], filters
    assert doc["paging"]["result_keys"] == ["SecurityGroups"], doc
    refused = call(server_url, mode, "describe_aws_operation", {"service": "s3", "operation": "DeleteBucket"})
    assert refused.is_error is True
    assert refused.structured_content["error_type"] == "ValidationError"
    assert refused.structured_content["context"]["refusal"] == "not_a_read", refused.structured_content


PROMPTS = {
    "security_audit",
    "compliance_check",
    "incident_response",
    "least_privilege_review",
    "cost_aware_remediation_plan",
    "new_account_onboarding_check",
}


def test_prompts_list_and_get(server_url: str, mode: str) -> None:
    listing = with_client(server_url, mode, lambda c: c.list_prompts())
    assert {p.name for p in listing.prompts} == PROMPTS
    compliance = next(p for p in listing.prompts if p.name == "compliance_check")
    assert [(a.name, a.required) for a in compliance.arguments] == [("framework", True), ("account_id", False)]

    made = with_client(server_url, mode, lambda c: c.get_prompt("compliance_check", {"framework": "CIS"}))
    text = made.messages[0].content.text
    order = [text.index(f"`{t}`") for t in ("check_compliance_status", "validate_security_controls", "recommend_security_improvements")]
    assert order == sorted(order), text
    assert "framework CIS" in text and "the whole organization" in text

    incident = with_client(server_url, mode, lambda c: c.get_prompt("incident_response", {"subject": "198.51.100.23"}))
    assert "`investigate_security_incident`" in incident.messages[0].content.text

    for name, arguments, argument in [
        ("compliance_check", {"framework": "ISO27001"}, "framework"),
        ("compliance_check", {}, "framework"),
        ("new_account_onboarding_check", {"account_id": "12345"}, "account_id"),
    ]:
        async def get(c: Client, name=name, arguments=arguments):
            with pytest.raises(MCPError) as caught:
                await c.get_prompt(name, arguments)
            return caught.value

        error = with_client(server_url, mode, get)
        assert error.error.code == -32602, error
        assert error.error.data["argument"] == argument, error.error.data


def test_account_tools_on_the_demo_organization(server_url: str, mode: str) -> None:
    info = ok_structured(call(server_url, mode, "get_account_info", None), "get_account_info")
    assert info["data_source"] == "demo" and info["identity"]["account_id"] == "210987654321", info
    assert info["identity"]["organization"]["management_account_id"] == "210987654321", info
    report = ok_structured(call(server_url, mode, "validate_member_access", {}), "validate_member_access")
    assert report["accounts_checked"] == 3 and report["not_entered"] == 0, report
    assert [r["account_id"] for r in report["results"]] == sorted(r["account_id"] for r in report["results"])
    outsider = ok_structured(call(server_url, mode, "validate_member_access", {"account_ids": ["999999999999"]}), "validate_member_access")
    (only,) = outsider["results"]
    assert only["assume_role"]["ok"] is False and only["ready"] is False and outsider["not_entered"] == 1, outsider
    bad = call(server_url, mode, "validate_member_access", {"account_ids": ["12"]})
    assert bad.is_error is True and bad.structured_content["context"]["field"] == "account_ids"


# --------------------------------------------------------------------------- 8. recommendations


def test_recommendations_fields_strategies_and_limits(server_url: str, mode: str) -> None:
    result = call(server_url, mode, RECOMMEND, {})
    assert result.is_error is not True, result.structured_content
    sc = result.structured_content
    for field in ("analysis_id", "priority_strategy", "total_recommendations", "recommendations", "summary", "generated_at"):
        assert field in sc, field
    assert sc["priority_strategy"] == "high-impact"
    recs = sc["recommendations"]
    assert 0 < len(recs) <= 20 and sc["total_recommendations"] >= len(recs)
    for r in recs:
        for field in ("recommendation_id", "title", "description", "priority", "impact_score", "implementation_complexity",
                      "cost_estimate", "business_justification", "affected_resources", "compliance_frameworks",
                      "automation_available", "remediation_steps"):
            assert field in r, field
        assert r["priority"] in ("HIGH", "MEDIUM", "LOW") and 0 <= r["impact_score"] <= 100
        assert r["automation_available"] is False, "automation is only identified when asked"
        for i, step in enumerate(r["remediation_steps"], start=1):
            assert step["step_number"] == i
            for field in ("title", "description", "estimated_time", "prerequisites", "aws_service_actions"):
                assert field in step
    impacts = [r["impact_score"] for r in recs]
    assert impacts == sorted(impacts, reverse=True), "high-impact ranks by impact"
    summary = sc["summary"]
    assert summary["high_priority"] + summary["medium_priority"] + summary["low_priority"] == len(recs)

    quick = call(server_url, mode, RECOMMEND, {"priority": "quick-wins", "max_recommendations": 50, "auto_implement_safe": True})
    qrecs = quick.structured_content["recommendations"]
    order = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
    ranks = [order[r["implementation_complexity"]] for r in qrecs]
    assert ranks == sorted(ranks), "quick-wins puts low complexity first"
    assert quick.structured_content["summary"]["automation_candidates"] == sum(r["automation_available"] for r in qrecs) > 0
    # Narrowed to the network: with every check's failures, 50 quick wins fill up before medium-complexity ones.
    network = call(server_url, mode, RECOMMEND, {"priority": "quick-wins", "max_recommendations": 50, "focus_areas": ["network"]})
    imds = next(r for r in network.structured_content["recommendations"] if r["recommendation_id"] == "REC-ec2.imdsv2_required")
    assert "345678901234/i-0a1b2c3d4e5f60718" in imds["affected_resources"]
    assert "CIS 5.6" in imds["compliance_frameworks"]

    one = call(server_url, mode, RECOMMEND, {"max_recommendations": 1, "focus_areas": ["identity"]})
    assert len(one.structured_content["recommendations"]) == 1
    assert one.structured_content["recommendations"][0]["area"] in ("IAM", "IAM Access Analyzer")


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"max_recommendations": 0}, "max_recommendations"),
        ({"max_recommendations": 51}, "max_recommendations"),
        ({"priority": "cheapest"}, "priority"),
        ({"focus_areas": ["quantum"]}, "focus_areas"),
    ],
    ids=["max=0", "max=51", "unknown-strategy", "unknown-area"],
)
def test_recommendation_validation_errors(server_url: str, mode: str, arguments: dict[str, Any], field: str) -> None:
    result = call(server_url, mode, RECOMMEND, arguments)
    assert result.is_error is True
    assert result.structured_content["context"]["field"] == field


# --------------------------------------------------------------------------- 9. assessment


def test_assessment_fields_and_scopes(server_url: str, mode: str) -> None:
    result = call(server_url, mode, ASSESS, {"scope": "account", "target": "345678901234", "frameworks": ["CIS", "NIST"]})
    assert result.is_error is not True, result.structured_content
    sc = result.structured_content
    for field in ("assessment_id", "scope", "target", "frameworks", "overall_score", "risk_level", "total_findings",
                  "critical_findings", "high_findings", "medium_findings", "low_findings", "compliance_status",
                  "top_findings", "recommendations", "region", "generated_at"):
        assert field in sc, field
    assert (sc["scope"], sc["target"], sc["frameworks"]) == ("account", "345678901234", ["CIS", "NIST"])
    assert sc["total_findings"] == sc["critical_findings"] + sc["high_findings"] + sc["medium_findings"] + sc["low_findings"]
    assert sc["risk_level"] == "CRITICAL"
    assert set(sc["compliance_status"]) == {"CIS", "NIST"}
    scores = [v["overall_score"] for v in sc["compliance_status"].values() if v["overall_score"] is not None]
    assert abs(sc["overall_score"] - sum(scores) / len(scores)) <= 0.05 + 1e-9, "mean of the framework scores, to 0.1"
    for v in sc["compliance_status"].values():
        assert v["status"] in ("COMPLIANT", "NON_COMPLIANT")
        assert v["passed_controls"] + v["failed_controls"] <= v["total_controls"]
    for t in sc["top_findings"]:
        for field in ("finding_id", "title", "severity", "description", "source_service", "resource_count", "compliance_frameworks"):
            assert field in t
    assert 0 < len(sc["recommendations"]) <= 10
    for r in sc["recommendations"]:
        assert isinstance(r["affected_resources"], int)

    workload = call(server_url, mode, ASSESS, {"scope": "workload", "target": "Application=payments", "include_recommendations": False})
    w = workload.structured_content
    assert w["recommendations"] == []
    assert any(t["finding_id"] == "check:ec2.imdsv2_required" for t in w["top_findings"])
    region = call(server_url, mode, ASSESS, {"scope": "region", "target": "eu-west-1", "severity_threshold": "CRITICAL"})
    r = region.structured_content
    assert r["region"] == "eu-west-1" and r["total_findings"] == r["critical_findings"]
    service = call(server_url, mode, ASSESS, {"scope": "service", "target": "S3"}).structured_content
    assert all(t["finding_id"].startswith("check:s3.") or t["source_service"] != "Posture Advisor checks" for t in service["top_findings"])


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"scope": "account"}, "target"),
        ({"scope": "galaxy", "target": "x"}, "scope"),
        ({"scope": "account", "target": "999999999999"}, "target"),
        ({"scope": "region", "target": "mars-north-1"}, "target"),
        ({"scope": "service", "target": "Lightsail"}, "target"),
        ({"scope": "workload", "target": "no-equals-sign"}, "target"),
        ({"scope": "account", "target": "345678901234", "frameworks": ["ISO"]}, "frameworks"),
        ({"scope": "account", "target": "345678901234", "severity_threshold": "URGENT"}, "severity_threshold"),
    ],
    ids=["no-target", "bad-scope", "unknown-account", "unknown-region", "unknown-service", "bad-workload", "bad-framework", "bad-severity"],
)
def test_assessment_validation_errors(server_url: str, mode: str, arguments: dict[str, Any], field: str) -> None:
    result = call(server_url, mode, ASSESS, arguments)
    assert result.is_error is True, result.structured_content
    assert result.structured_content["error_type"] == "ValidationError"
    assert result.structured_content["context"]["field"] == field


# --------------------------------------------------------------------------- 10. control validation


def test_validate_controls_from_every_source(server_url: str, mode: str) -> None:
    ids = ["EC2.8", "CIS 5.6", "iam.root_mfa", "EC2.15"]
    result = call(server_url, mode, VALIDATE, {"control_ids": ids})
    assert result.is_error is not True, result.structured_content
    sc = result.structured_content
    controls = {c["control_id"]: c for c in sc["controls"]}
    assert [c["control_id"] for c in sc["controls"]] == ids
    assert controls["EC2.8"]["resolved_as"] == "Security Hub control"
    assert controls["CIS 5.6"]["resolved_as"] == "CIS requirement"
    assert controls["iam.root_mfa"]["resolved_as"] == "native check"
    ec2_8 = controls["EC2.8"]["result"]
    assert ec2_8["status"] == "FAILED"
    assert {s["source"] for s in ec2_8["sources"]} == {"native checks", "Security Hub"}
    assert "345678901234/i-0a1b2c3d4e5f60718" in ec2_8["failing_resources"]
    assert controls["EC2.8"]["evidence"], "evidence behind the verdict"
    assert {s["source"] for s in controls["EC2.15"]["result"]["sources"]} == {"Security Hub"}
    assert sc["evidence_total"] == sum(len(c["evidence"]) for c in sc["controls"])

    one = call(server_url, mode, VALIDATE, {"control_ids": ["EC2.8"], "target": "210987654321"}).structured_content
    assert one["target"] == "210987654321"
    assert all(r.startswith("210987654321/") or r.startswith("account 210987654321")
               for r in one["controls"][0]["result"]["failing_resources"])


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({}, "control_ids"),
        ({"control_ids": []}, "control_ids"),
        ({"control_ids": ["bogus"]}, "control_ids"),
        ({"control_ids": ["CIS 99.9"]}, "control_ids"),
        ({"control_ids": ["S3.1"], "target": "999999999999"}, "target"),
    ],
    ids=["missing", "empty", "unknown-id", "unknown-requirement", "unknown-account"],
)
def test_validate_validation_errors(server_url: str, mode: str, arguments: dict[str, Any], field: str) -> None:
    result = call(server_url, mode, VALIDATE, arguments)
    assert result.is_error is True, result.structured_content
    assert result.structured_content["context"]["field"] == field
