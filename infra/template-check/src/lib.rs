//! Drift tests between the committed CloudFormation translation of `infra/template.yaml`
//! (`infra/generated/template.json`) and the workspace. The tests live in `tests/drift.rs`.
