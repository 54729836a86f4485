"""hack/tekton-validate: Tekton's own decoding, defaulting and validation, plus cross references.

The repository's resources must pass; broken copies must fail with the right message, which shows
each check really runs."""

from __future__ import annotations

import re
import shutil

import pytest

from tekton.tekton_helpers import GO_VALIDATOR, ROOT, TEKTON, VALIDATOR, edit, go_env, run


def check(validator, *paths):
    return run([validator, "check", *paths])


def test_repository_resources_pass(validator):
    result = check(validator, TEKTON)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "document(s) OK" in result.stdout


def test_every_task_has_a_readme_and_lives_in_its_own_directory():
    for task_dir in (TEKTON / "tasks").iterdir():
        assert (task_dir / "README.md").is_file(), f"{task_dir} has no README.md"
        yaml = task_dir / f"{task_dir.name}.yaml"
        # approval is a custom task (manual-approval-gate's ApprovalTask): docs only.
        assert yaml.is_file() or task_dir.name == "approval", f"{yaml} missing"


# Each case: file to break, text to replace, replacement, message the validator must print.
BROKEN = {
    "unknown field": (
        "pipelines/cd.yaml",
        "      timeout: 10m\n",
        "      timeout: 10m\n      retriez: 2\n",
        'unknown field "spec.tasks[0].retriez"',
    ),
    "unknown field in a Task step": (
        "tasks/bandit/bandit.yaml",
        "      timeout: 15m\n",
        "      timeout: 15m\n      imagePullPolicy: Always\n      workingdir: /x\n",
        'unknown field "spec.steps[0].workingdir"',
    ),
    "undeclared pipeline param": (
        "pipelines/ci.yaml",
        "value: $(params.coverage-min)",
        "value: $(params.coverage-minimum)",
        'non-existent variable in "$(params.coverage-minimum)"',
    ),
    "param the Task does not declare": (
        "pipelines/ci.yaml",
        "        - name: coverage-min\n          value: $(params.coverage-min)",
        "        - name: coverage-threshold\n          value: $(params.coverage-min)",
        'param "coverage-threshold" is not declared by Task "python-test"',
    ),
    "required Task param not passed": (
        "pipelines/cd.yaml",
        "        - name: environment\n          value: staging\n",
        "",
        'required param "environment" of Task "deploy" is not passed',
    ),
    "param of the wrong type": (
        "pipelines/cd.yaml",
        "          value: $(tasks.build.results.IMAGE_REF[*])\n        - name: commit",
        "          value: $(tasks.fetch-source.results.commit)\n        - name: commit",
        'param "images" is a string but Task "deploy" declares a array',
    ),
    "missing workspace binding": (
        "pipelines/ci.yaml",
        "        - name: reports\n          workspace: shared\n          subPath: reports\n"
        "    - name: bandit",
        "    - name: bandit",
        'workspace "reports" of Task "python-test" is not bound',
    ),
    "workspace the pipeline does not declare": (
        "pipelines/cd.yaml",
        "          workspace: docker-config\n    - name: trivy-image",
        "          workspace: registry-creds\n    - name: trivy-image",
        'expects workspace with name "registry-creds" but none exists',
    ),
    "result of a task that does not exist": (
        "pipelines/cd.yaml",
        "value: $(tasks.detect-changes.results.services-csv)",
        "value: $(tasks.detect-change.results.services-csv)",
        "detect-change",
    ),
    "result the Task does not declare": (
        "pipelines/ci.yaml",
        "value: $(tasks.fetch-source.results.commit)\n        - name: branch",
        "value: $(tasks.fetch-source.results.sha)\n        - name: branch",
        'Task "git-clone" declares no result "sha"',
    ),
    "cycle": (
        "pipelines/ci.yaml",
        "    - name: fetch-source\n      taskRef:",
        "    - name: fetch-source\n      runAfter: [build]\n      taskRef:",
        "cycle",
    ),
    "task that is not in the repository": (
        "pipelines/rollback.yaml",
        "        name: rollback\n      timeout: 30m",
        "        name: roll-back\n      timeout: 30m",
        'taskRef "roll-back" does not name a Task in the repository',
    ),
    "image param defaulting to latest": (
        "tasks/detect-changes/detect-changes.yaml",
        "default: alpine/git:2.49.1",
        "default: alpine/git:latest",
        'image "alpine/git:latest" is not pinned',
    ),
    "image from a param the Task does not declare": (
        "tasks/detect-changes/detect-changes.yaml",
        "image: $(params.git-step-image)",
        "image: $(params.git-image)",
        'image param "git-image" is not declared',
    ),
    "param interpolated into a script": (
        "tasks/detect-changes/detect-changes.yaml",
        "set -eu\n",
        'set -eu\n        echo "$(params.services)"\n',
        "script interpolates $(params.services)",
    ),
    "step running as root without the annotation": (
        "tasks/kaniko-build/kaniko-build.yaml",
        "    techcommerce.dev/runs-as-root: >-\n",
        "    techcommerce.dev/reason: >-\n",
        "runs as root",
    ),
    "pipeline task without a timeout": (
        "pipelines/rollback.yaml",
        "        name: rollback\n      timeout: 30m\n",
        "        name: rollback\n",
        "no timeout set",
    ),
    "PipelineRun shorter than the approval wait": (
        "runs/cd-run.yaml",
        "    pipeline: 27h\n    tasks: 26h30m\n",
        "    pipeline: 2h\n    tasks: 1h30m\n",
        "does not outlast the approval wait",
    ),
    "PipelineRun missing a required param": (
        "runs/cd-run.yaml",
        "    - name: registry\n      value: registry.example.com/shop\n",
        "",
        'required param "registry" of Pipeline "cd" is not set',
    ),
    "ApprovalTask with an unknown param": (
        "pipelines/cd.yaml",
        "- name: numberOfApprovalsRequired",
        "- name: approvalsRequired",
        'ApprovalTask has no param "approvalsRequired"',
    ),
    "unknown field in an EventListener": (
        "triggers/eventlistener.yaml",
        "  serviceAccountName: techcommerce-triggers\n",
        "  serviceAccountName: techcommerce-triggers\n  serviceAcountName: x\n",
        'unknown field "spec.serviceAcountName"',
    ),
    "TriggerTemplate using an undeclared param": (
        "triggers/templates.yaml",
        "value: $(tt.params.base-revision)",
        "value: $(tt.params.base-sha)",
        "base-sha",
    ),
    "Trigger with neither template ref nor spec": (
        "triggers/triggers.yaml",
        "  template:\n    ref: ci\n---",
        "  template: {}\n---",
        "validation:",
    ),
    "unsupported kind": (
        "rbac/ci.yaml",
        "kind: ServiceAccount",
        "kind: ServiceAcount",
        "unsupported apiVersion/kind",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copy_fails(validator, tekton_copy, case):
    file, old, new, message = BROKEN[case]
    edit(tekton_copy / file, old, new)
    result = check(validator, tekton_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout, result.stdout


def test_exit_status_2_on_usage_error(validator):
    assert run([validator]).returncode == 2
    assert run([validator, "check", ROOT / "no-such-dir"]).returncode == 2


def test_help_lists_the_commands_with_examples(validator):
    result = run([validator, "--help"])
    assert result.returncode == 0, result.stderr
    for text in ["check PATH", "render -resources", "Examples:", "hack/tekton-validate check"]:
        assert text in result.stdout
    assert "unknown command" in run([validator, "chek"]).stderr


def test_the_wrapper_rebuilds_when_the_sources_change(tmp_path):
    """A copy of the wrapper and the Go module: the first run builds (with a progress line),
    the second does not, and a changed source builds again."""
    (tmp_path / "hack" / "tools").mkdir(parents=True)
    shutil.copy(VALIDATOR, tmp_path / "hack" / "tekton-validate")
    shutil.copytree(GO_VALIDATOR, tmp_path / "hack" / "tools" / "tekton-validate")
    wrapper = tmp_path / "hack" / "tekton-validate"
    first = run([wrapper, "--help"], timeout=1800)
    assert first.returncode == 0, first.stderr
    assert "tekton-validate: building" in first.stderr
    assert (tmp_path / ".venv-tools" / "bin" / "tekton-validate").is_file()
    second = run([wrapper, "--help"])
    assert second.returncode == 0 and second.stderr == ""
    main_go = tmp_path / "hack" / "tools" / "tekton-validate" / "main.go"
    main_go.write_text(main_go.read_text() + "\n// changed\n")
    third = run([wrapper, "--help"], timeout=1800)
    assert "tekton-validate: building" in third.stderr


def test_go_vet_and_the_go_tests_pass(capsys):
    """go vet, then the validator's own Go tests (hack/tools/tekton-validate/*_test.go), whose
    summary is printed with pytest's output."""
    vet = run(["go", "vet", "./..."], cwd=GO_VALIDATOR, env=go_env(), timeout=1800)
    assert vet.returncode == 0, vet.stdout + vet.stderr
    result = run(
        ["go", "test", "-count=1", "-v", "./..."], cwd=GO_VALIDATOR, env=go_env(), timeout=1800
    )
    passed = len(re.findall(r"^\s*--- PASS", result.stdout, re.M))
    failed = len(re.findall(r"^\s*--- FAIL", result.stdout, re.M))
    summary = [line for line in result.stdout.splitlines() if re.match(r"^(ok|FAIL)\s", line)]
    with capsys.disabled():
        print(f"\ngo test hack/tools/tekton-validate: {passed} passed, {failed} failed")
        print("\n".join(summary))
    assert result.returncode == 0 and failed == 0, result.stdout[-6000:] + result.stderr
    assert passed >= 20
