"""Translates infra/template.yaml (AWS SAM) to plain CloudFormation JSON, offline."""

import json
import sys

import boto3
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies(ManagedPolicyLoader):
    """The template uses no managed policies by name, so nothing is asked of IAM."""

    def __init__(self):
        pass

    def load(self):
        return {}


def main(source, target):
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # The translator accepts only S3 code locations (sam package would upload them). Each local build is
    # replaced by a placeholder key named after the function's binary, so the crate stays visible.
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            resource["Properties"]["CodeUri"] = f"s3://local-build/{binary}.zip"
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(cause.message, file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
