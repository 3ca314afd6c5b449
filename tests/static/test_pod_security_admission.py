"""Pod Security judged by the real admission code, and by the gate's rules where it cannot run.

The selftests build kube-apiserver and etcd (scripts/bootstrap-cluster), so here the
admission code is always available; the fallback is forced with an empty binaries folder.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from static_mutations import Mutation, apply, copy_manifests, trees
from static_rule_mutations import MUTATIONS

from tests.local_target.helpers import pid_alive
from vvgate.kube.judge_apiserver import FOLDER_PREFIX, find_binaries
from vvgate.lifetime import OWNER_FILE
from vvgate.rules.admission import AdmissionJudge, policy_version, split_controls
from vvgate.rules.engine import evaluate, load_trees
from vvgate.rules.manifest.pod_security import RULE_ID
from vvgate.rules.model import Finding, Settings

PSS_MUTATIONS = [m for m in MUTATIONS if m.rule == RULE_ID]


@pytest.fixture(scope="module")
def admission() -> Iterator[tuple[AdmissionJudge, list[str]]]:
    find_binaries()  # fails with what is missing, rather than falling back unseen
    notes: list[str] = []
    judge = AdmissionJudge("1.33", notes.append)
    try:
        yield judge, notes
    finally:
        judge.close()


def _findings(root: Path, mutation: Mutation, judge: AdmissionJudge | None) -> list[Finding]:
    return [f for f in evaluate(trees(root, mutation.trees), Settings("1.33", pod_security=judge))
            if f.rule == RULE_ID]


def test_the_projects_manifests_pass_the_admission_code(
        admission: tuple[AdmissionJudge, list[str]]) -> None:
    judge, notes = admission
    found = evaluate(load_trees(Path(__file__).resolve().parents[2] / "manifests"),
                     Settings("1.33", pod_security=judge))
    assert [f.line() for f in found] == []
    assert notes == [f"Pod Security: judged by kube-apiserver {find_binaries().version}'s "
                     "PodSecurity admission (restricted:v1.33, server-side dry-run)"]


@pytest.mark.parametrize("mutation", PSS_MUTATIONS, ids=[m.id for m in PSS_MUTATIONS])
def test_the_admission_code_and_the_rules_refuse_the_same_pods(
        admission: tuple[AdmissionJudge, list[str]], mutation: Mutation,
        tmp_path: Path) -> None:
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    by_server = _findings(root, mutation, admission[0])
    by_rules = _findings(root, mutation, None)
    assert by_server, f"{mutation.why}: the admission code admitted it"
    # Its words, not the fallback's: the server judged.
    assert all(f.message.startswith("PodSecurity restricted:v1.33: ") for f in by_server), [
        f.line() for f in by_server]
    assert {f.subject for f in by_server} == {f.subject for f in by_rules}, (
        [f.line() for f in by_server], [f.line() for f in by_rules])
    # Each refusal points into the pod template, so SARIF places it.
    assert all(".spec" in f.path for f in by_server), [f.path for f in by_server]


def test_without_binaries_the_rules_judge_and_the_run_says_so(tmp_path: Path) -> None:
    mutation = next(m for m in PSS_MUTATIONS if m.variant == "escalation")
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    notes: list[str] = []
    empty = tmp_path / "no-binaries"
    empty.mkdir()
    judge = AdmissionJudge("1.33", notes.append, binaries_dir=empty)
    found = _findings(root, mutation, judge)
    assert found and all("allowPrivilegeEscalation != false" in f.message for f in found)
    assert len(notes) == 1 and notes[0].startswith("Pod Security: judged by the gate's rules"), \
        notes
    assert f"no kube-apiserver or etcd binary in {empty}" in notes[0]


def test_the_server_leaves_nothing_behind(tmp_path: Path) -> None:
    # What a SIGKILLed run left (its processes died with it): the next one removes it.
    left = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (left / OWNER_FILE).write_text(str(_exited_pid()))
    judge = AdmissionJudge("1.33", lambda note: None)
    mutation = next(m for m in PSS_MUTATIONS if m.variant == "privileged")
    root = copy_manifests(tmp_path)
    apply(root, mutation)
    assert _findings(root, mutation, judge)
    server = judge.server
    assert server is not None and server.folder is not None
    pids, folder = server.pids, server.folder
    judge.close()
    assert not folder.exists() and not left.exists()
    for pid in pids:
        assert not pid_alive(pid), f"process {pid} still runs"


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_policy_follows_the_targets_kubernetes_version() -> None:
    assert policy_version("1.33", "v1.34.4") == "v1.33"
    assert policy_version("1.34", "v1.34.4") == "v1.34"
    assert policy_version("1.36", "v1.34.4") == "latest"


def test_refusals_split_into_controls() -> None:
    text = ('allowPrivilegeEscalation != false (container "a" must set x=false), '
            'unrestricted capabilities (containers "a", "b" must set drop=["ALL"])')
    assert split_controls(text) == [
        'allowPrivilegeEscalation != false (container "a" must set x=false)',
        'unrestricted capabilities (containers "a", "b" must set drop=["ALL"])']

