"""The environment `sam local invoke` gives a function of template.yaml: Globals and the
function's own variables, with parameters (defaults, or --parameter-overrides) and conditions
resolved, `Ref` of a resource as its logical id and `AWS::NoValue` dropped, as SAM CLI's local
intrinsic resolver does. Lets the tests run the documented `sam local invoke` command's
function, with its event, under cargo-lambda's emulator where Docker images cannot be pulled."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::StackName": "sam-app", "AWS::URLSuffix": "amazonaws.com"}
NO_VALUE = object()


class _Loader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)


def function_env(tpl: dict[str, Any], function: str, overrides: dict[str, str]) -> dict[str, str]:
    params = {name: str(overrides.get(name, p.get("Default", ""))) for name, p in tpl.get("Parameters", {}).items()}
    unknown = set(overrides) - set(params)
    assert not unknown, f"not parameters of the template: {unknown}"

    def condition(name: str) -> bool:
        return bool(resolve(tpl["Conditions"][name]))

    def resolve(v: Any) -> Any:
        if isinstance(v, dict) and len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return params[arg] if arg in params else PSEUDO.get(arg, arg)
            if k == "Fn::If":
                return resolve(arg[1] if condition(arg[0]) else arg[2])
            if k == "Fn::Equals":
                return resolve(arg[0]) == resolve(arg[1])
            if k == "Fn::Not":
                return not resolve(arg[0])
            if k == "Fn::And":
                return all(resolve(a) for a in arg)
            if k == "Fn::Or":
                return any(resolve(a) for a in arg)
            if k == "Fn::Condition":
                return condition(arg)
            if k == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(resolve({"Ref": m.group(1)})), arg)
            if k == "Fn::GetAtt":
                return NO_VALUE  # SAM CLI leaves attributes of undeployed resources unresolved
        return v

    variables: dict[str, Any] = {}
    variables.update(tpl.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    props = tpl["Resources"][function]["Properties"]
    variables.update(props.get("Environment", {}).get("Variables", {}))
    env = {}
    for k, v in variables.items():
        value = resolve(v)
        if value is not NO_VALUE:
            env[k] = str(value)
    return env


def documented_overrides(doc: Path, function: str) -> tuple[str, dict[str, str]]:
    """The event file and --parameter-overrides of the documented `sam local invoke <function>`."""
    text = doc.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip().startswith(f"sam local invoke {function}"):
            args = shlex.split(line)
            event = args[args.index("-e") + 1]
            overrides: dict[str, str] = {}
            if "--parameter-overrides" in args:
                for pair in args[args.index("--parameter-overrides") + 1:]:
                    if pair.startswith("-"):
                        break
                    key, _, value = pair.partition("=")
                    overrides[key] = value
            return event, overrides
    raise AssertionError(f"{doc} documents no `sam local invoke {function}`")
