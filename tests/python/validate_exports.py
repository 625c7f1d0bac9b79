"""Validates Posture Advisor's export files against the published schemas.

    validate_exports.py SCHEMAS_DIR EXPORTS_DIR
        Every *.ocsf.json, *.sarif and *.asff.json file in EXPORTS_DIR:
        - OCSF: each event against the JSON Schema of its class (Compliance
          Finding 2003, Detection Finding 2004; OCSF 1.8.0 with the cloud
          profile, tests/schemas/ocsf-1.8.0/), plus type_uid = class_uid * 100
          + activity_id and metadata.version / metadata.profiles;
        - SARIF: the log against OASIS's SARIF 2.1.0 schema, formats checked;
        - ASFF: each batch of at most 100 findings with botocore's own
          parameter validation of securityhub BatchImportFindings (what the
          SDK checks before sending), then what botocore leaves to the
          service: the model's enums, patterns and length limits, and the
          limits the ASFF reference documents (Title 256, Description 1024,
          Types taxonomy, ProductArn of the account's default product, ...).
        Prints one JSON line of counts on stdout; errors go to stderr and
        the exit status is 1.

    validate_exports.py --write-ocsf-schemas SCHEMAS_DIR
        Regenerates tests/schemas/ocsf-1.8.0/*.json from the official OCSF
        1.8.0 export that the ocsf-json-schema package ships.

Not named test_*.py: pytest does not collect it; tests/integration/exports.rs
runs it.
"""

import hashlib
import json
import re
import sys
from datetime import datetime
from pathlib import Path

OCSF_VERSION = "1.8.0"
OCSF_PROFILES = ["cloud"]
OCSF_CLASSES = {2003: "compliance_finding", 2004: "detection_finding"}
SARIF_SCHEMA_FILE = "sarif-schema-2.1.0.json"
# The vendored SARIF schema, byte for byte as OASIS publishes it (README).
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
ERRORS_SHOWN_PER_FILE = 5

# ASFF limits from the AWS Security Finding Format syntax reference that the
# service model does not carry.
ASFF_TYPE_NAMESPACES = (
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
)
ASFF_MAX = {"Id": 512, "Title": 256, "Description": 1024, "GeneratorId": 512}


def ocsf_schema_dir(schemas: Path) -> Path:
    return schemas / f"ocsf-{OCSF_VERSION}"


def generate_ocsf_schemas() -> dict:
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

    ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    out = {}
    for uid, name in OCSF_CLASSES.items():
        assert ocsf.lookup_class_name_from_uid(class_uid=uid) == name, (uid, name)
        schema = ocsf.get_class_schema(class_name=name, profiles=OCSF_PROFILES)
        out[f"{name}.json"] = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    return out


def write_ocsf_schemas(schemas: Path) -> None:
    target = ocsf_schema_dir(schemas)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in generate_ocsf_schemas().items():
        (target / name).write_text(text)
        print(f"wrote {target / name}")


class Report:
    def __init__(self):
        self.errors = []
        self.counts = {
            "ocsf": {"files": 0, "events": 0, "by_class": {}},
            "sarif": {"files": 0, "results": 0},
            "asff": {"files": 0, "findings": 0},
        }

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


def validator_for(schema):
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # Every format jsonschema knows, not only the draft's own: SARIF's
    # draft-04 schema uses uri-reference, which draft 4 did not define.
    checker = jsonschema.FormatChecker()
    for fmt in ("date-time", "uri", "uri-reference"):
        if fmt not in checker.checkers:
            raise SystemExit(f"jsonschema cannot check format {fmt!r}: install jsonschema[format-nongpl]")
    return cls(schema, format_checker=checker)


def schema_errors(validator, instance, where: str, report: Report) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    for e in errors[:ERRORS_SHOWN_PER_FILE]:
        path = "/".join(str(p) for p in e.absolute_path)
        report.error(where, f"at /{path}: {e.message[:300]}")
    if len(errors) > ERRORS_SHOWN_PER_FILE:
        report.error(where, f"... and {len(errors) - ERRORS_SHOWN_PER_FILE} more")


def load_ocsf_validators(schemas: Path, report: Report) -> dict:
    vendored = {}
    for name in (f"{n}.json" for n in OCSF_CLASSES.values()):
        path = ocsf_schema_dir(schemas) / name
        vendored[name] = path.read_text()
    # The vendored files are what ocsf-json-schema makes of the official
    # export: a hand edit or a different package version shows here.
    for name, text in generate_ocsf_schemas().items():
        if vendored[name] != text:
            report.error(str(ocsf_schema_dir(schemas) / name), "differs from what ocsf-json-schema generates; regenerate")
    return {uid: validator_for(json.loads(vendored[f"{name}.json"])) for uid, name in OCSF_CLASSES.items()}


def validate_ocsf(path: Path, validators: dict, report: Report) -> None:
    report.counts["ocsf"]["files"] += 1
    events = json.loads(path.read_text())
    if not isinstance(events, list):
        report.error(str(path), "not a JSON array of events")
        return
    for i, event in enumerate(events):
        where = f"{path.name}[{i}]"
        report.counts["ocsf"]["events"] += 1
        class_uid = event.get("class_uid")
        by_class = report.counts["ocsf"]["by_class"]
        by_class[str(class_uid)] = by_class.get(str(class_uid), 0) + 1
        validator = validators.get(class_uid)
        if validator is None:
            report.error(where, f"class_uid {class_uid!r} is not an exported class")
            continue
        schema_errors(validator, event, where, report)
        if event.get("type_uid") != class_uid * 100 + event.get("activity_id", -1):
            report.error(where, "type_uid is not class_uid * 100 + activity_id")
        metadata = event.get("metadata", {})
        if metadata.get("version") != OCSF_VERSION:
            report.error(where, f"metadata.version {metadata.get('version')!r} is not {OCSF_VERSION}")
        if metadata.get("profiles") != OCSF_PROFILES:
            report.error(where, f"metadata.profiles {metadata.get('profiles')!r} is not {OCSF_PROFILES}")


def load_sarif_validator(schemas: Path, report: Report):
    path = schemas / SARIF_SCHEMA_FILE
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SARIF_SCHEMA_SHA256:
        report.error(str(path), "is not the published SARIF 2.1.0 schema (sha256 differs)")
    return validator_for(json.loads(data))


def validate_sarif(path: Path, validator, report: Report) -> None:
    report.counts["sarif"]["files"] += 1
    log = json.loads(path.read_text())
    schema_errors(validator, log, path.name, report)
    for run in log.get("runs") or []:
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        for i, result in enumerate(run.get("results") or []):
            report.counts["sarif"]["results"] += 1
            index = result.get("ruleIndex")
            if index is None or index >= len(rules) or rules[index].get("id") != result.get("ruleId"):
                report.error(f"{path.name} results[{i}]", "ruleIndex does not point at its ruleId")
            if result.get("kind", "fail") != "fail" and result.get("level", "none") != "none":
                report.error(f"{path.name} results[{i}]", "a result whose kind is not fail must have level none")


def check_shape(value, shape, where: str, report: Report) -> None:
    """The constraints of the service model that botocore does not check."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if isinstance(value, dict) and name in value:
                check_shape(value[name], member, f"{where}.{name}", report)
    elif kind == "list":
        if "max" in meta and len(value) > meta["max"]:
            report.error(where, f"{len(value)} items, at most {meta['max']}")
        for i, item in enumerate(value):
            check_shape(item, shape.member, f"{where}[{i}]", report)
    elif kind == "map":
        for k, v in value.items():
            check_shape(k, shape.key, f"{where} key {k!r}", report)
            check_shape(v, shape.value, f"{where}[{k!r}]", report)
    elif kind == "string":
        if shape.enum and value not in shape.enum:
            report.error(where, f"{value!r} is not one of {shape.enum}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            report.error(where, f"{value[:80]!r} does not match {meta['pattern']!r}")
        if "max" in meta and len(value) > meta["max"]:
            report.error(where, f"{len(value)} characters, at most {meta['max']}")
    elif kind in ("integer", "long", "double", "float"):
        if "max" in meta and value > meta["max"]:
            report.error(where, f"{value} over {meta['max']}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_asff_documented_limits(finding: dict, where: str, report: Report) -> None:
    for field, limit in ASFF_MAX.items():
        if utf16_len(finding.get(field, "")) > limit:
            report.error(where, f"{field} is longer than {limit}")
    types = finding.get("Types", [])
    if not 1 <= len(types) <= 50:
        report.error(where, f"{len(types)} Types, 1 to 50 expected")
    for t in types:
        parts = t.split("/")
        if parts[0] not in ASFF_TYPE_NAMESPACES or not 1 <= len(parts) <= 3 or "" in parts:
            report.error(where, f"type {t!r} is not namespace/category/classifier")
    if len(finding.get("Compliance", {}).get("RelatedRequirements", [])) > 32:
        report.error(where, "more than 32 RelatedRequirements")
    fields = finding.get("ProductFields", {})
    if len(fields) > 50 or any(len(k) > 128 or len(v) > 2048 for k, v in fields.items()):
        report.error(where, "ProductFields over 50 entries, 128-character keys or 2048-character values")
    text = finding.get("Remediation", {}).get("Recommendation", {}).get("Text", "")
    if utf16_len(text) > 512:
        report.error(where, "Remediation.Recommendation.Text is longer than 512")
    if len(finding.get("Resources", [])) > 32:
        report.error(where, "more than 32 Resources")
    account = finding.get("AwsAccountId", "")
    region = finding.get("Region", "")
    want = f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
    if finding.get("ProductArn") != want or not re.fullmatch(r"\d{12}", account):
        report.error(where, f"ProductArn {finding.get('ProductArn')!r} is not {want!r}")
    for field in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        if field in finding:
            try:
                datetime.fromisoformat(finding[field].replace("Z", "+00:00"))
            except ValueError:
                report.error(where, f"{field} {finding[field]!r} is not RFC 3339")
            if not finding[field].endswith("Z") or "T" not in finding[field]:
                report.error(where, f"{field} {finding[field]!r} is not RFC 3339 UTC")


def validate_asff(path: Path, report: Report) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    report.counts["asff"]["files"] += 1
    findings = json.loads(path.read_text())
    if not isinstance(findings, list):
        report.error(str(path), "not a JSON array of findings")
        return
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    for start in range(0, len(findings), 100):
        batch = {"Findings": findings[start : start + 100]}
        where = f"{path.name} findings[{start}:{start + len(batch['Findings'])}]"
        result = ParamValidator().validate(batch, shape)
        if result.has_errors():
            report.error(where, result.generate_report()[:2000])
        check_shape(batch, shape, where, report)
    for i, finding in enumerate(findings):
        report.counts["asff"]["findings"] += 1
        check_asff_documented_limits(finding, f"{path.name}[{i}]", report)


def validate(schemas: Path, exports: Path) -> int:
    report = Report()
    ocsf = load_ocsf_validators(schemas, report)
    sarif = load_sarif_validator(schemas, report)
    for path in sorted(exports.iterdir()):
        if path.name.endswith(".ocsf.json"):
            validate_ocsf(path, ocsf, report)
        elif path.name.endswith(".sarif"):
            validate_sarif(path, sarif, report)
        elif path.name.endswith(".asff.json"):
            validate_asff(path, report)
    for e in report.errors:
        print(e, file=sys.stderr)
    print(json.dumps(report.counts, sort_keys=True))
    return 1 if report.errors else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "--write-ocsf-schemas":
        write_ocsf_schemas(Path(argv[1]))
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return validate(Path(argv[0]), Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
