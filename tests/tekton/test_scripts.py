"""The step scripts of tekton/scripts/, run here against the real tools they call (git, ruff,
pytest, bandit, python); kaniko and trivy cannot run here, so for them the exact command the
script builds is checked, with a recording stand-in executable in their place."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tekton.tekton_helpers import ROOT, SCRIPTS, recording_server, run, serving

VENV_BIN = Path(sys.executable).parent


def git(repo: Path, *args: str) -> str:
    result = run(
        ["git", "-C", repo, *args],
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
        check=True,
    )
    return result.stdout.strip()


def commit_files(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_files(
        repo,
        {
            "README.md": "x\n",
            "services/kit/app.py": "x = 1\n",
            "services/product_api/app.py": "x = 1\n",
            "services/order_api/app.py": "x = 1\n",
            "services/frontend/app.py": "x = 1\n",
        },
        "initial",
    )
    return repo


# ---- detect-changes ------------------------------------------------------------------------


def detect(repo: Path, tmp_path: Path, **env: str) -> tuple[list[str], dict[str, str]]:
    results = {name: tmp_path / name for name in ("services", "csv", "any")}
    result = run(
        ["sh", SCRIPTS / "detect-changes.sh"],
        env={
            "SOURCE_DIR": str(repo),
            "RESULT_SERVICES": str(results["services"]),
            "RESULT_SERVICES_CSV": str(results["csv"]),
            "RESULT_ANY": str(results["any"]),
            **env,
        },
    )
    assert result.returncode == 0, result.stderr
    written = {name: path.read_text() for name, path in results.items()}
    assert json.loads(written["services"]) == result.stdout.split()
    assert written["csv"] == ",".join(result.stdout.split())
    assert written["any"] == ("true" if result.stdout.split() else "false")
    return result.stdout.split(), written


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"services/product_api/views.py": "y = 2\n"}, ["product-api"]),
        (
            {"services/order_api/a.py": "1\n", "services/frontend/b.py": "1\n"},
            ["order-api", "frontend"],
        ),
        ({"README.md": "docs\n", "tests/test_x.py": "1\n", "monitoring/a.yml": "1\n"}, []),
        ({"services/kit/db.py": "shared\n"}, ["product-api", "order-api", "frontend"]),
        ({"services/Dockerfile": "FROM x\n"}, ["product-api", "order-api", "frontend"]),
        ({"manifests/base/a.yaml": "a: 1\n"}, ["product-api", "order-api", "frontend"]),
        ({"tekton/pipelines/cd.yaml": "a: 1\n"}, ["product-api", "order-api", "frontend"]),
    ],
)
def test_detect_changes_maps_changed_paths_to_services(repo, tmp_path, changed, expected):
    base = git(repo, "rev-parse", "HEAD")
    commit_files(repo, changed)
    services, _ = detect(repo, tmp_path, SERVICES="auto", BASE_REVISION=base)
    assert services == expected


def test_detect_changes_selects_all_without_a_usable_base(repo, tmp_path):
    everything = ["product-api", "order-api", "frontend"]
    assert detect(repo, tmp_path, SERVICES="auto", BASE_REVISION="")[0] == everything
    assert detect(repo, tmp_path, SERVICES="auto", BASE_REVISION="0" * 40)[0] == everything
    assert detect(repo, tmp_path, SERVICES="auto", BASE_REVISION="ab" * 20)[0] == everything


def test_detect_changes_explicit_list_all_and_force(repo, tmp_path):
    base = git(repo, "rev-parse", "HEAD")
    assert detect(repo, tmp_path, SERVICES="frontend, product-api")[0] == [
        "product-api",
        "frontend",
    ]
    assert detect(repo, tmp_path, SERVICES="all")[0] == ["product-api", "order-api", "frontend"]
    assert detect(repo, tmp_path, SERVICES="none")[0] == []
    services, written = detect(repo, tmp_path, SERVICES="auto", BASE_REVISION=base)
    assert services == []
    assert written["services"] == "[]"
    assert detect(repo, tmp_path, SERVICES="auto", BASE_REVISION=base, FORCE_ALL="true")[0] == [
        "product-api",
        "order-api",
        "frontend",
    ]


def test_detect_changes_rejects_an_unknown_service(repo):
    result = run(
        ["sh", SCRIPTS / "detect-changes.sh"], env={"SOURCE_DIR": str(repo), "SERVICES": "cart"}
    )
    assert result.returncode == 2
    assert "unknown service 'cart'" in result.stderr


# ---- git-clone -----------------------------------------------------------------------------


def test_git_clone_checks_out_the_revision_and_writes_results(repo, tmp_path):
    first = git(repo, "rev-parse", "HEAD")
    second = commit_files(repo, {"services/frontend/app.py": "x = 2\n"})
    git(repo, "branch", "feature/x", first)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / ".stale").write_text("left over from an earlier attempt")
    results = {n: tmp_path / n for n in ("commit", "short", "url")}
    env = {
        "URL": f"file://{repo}",
        "DEST": str(dest),
        "RESULT_COMMIT": str(results["commit"]),
        "RESULT_SHORT_COMMIT": str(results["short"]),
        "RESULT_URL": str(results["url"]),
    }
    result = run(["sh", SCRIPTS / "git-clone.sh"], env={**env, "REVISION": "main"})
    assert result.returncode == 0, result.stderr
    assert results["commit"].read_text() == second
    assert results["short"].read_text() == second[:7]
    assert results["url"].read_text() == f"file://{repo}"
    assert not (dest / ".stale").exists()
    assert (dest / "services/frontend/app.py").read_text() == "x = 2\n"
    # Full history by default: the previous commit is there for detect-changes.
    assert git(dest, "cat-file", "-t", first) == "commit"

    result = run(
        ["sh", SCRIPTS / "git-clone.sh"], env={**env, "REVISION": "feature/x", "DEPTH": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert results["commit"].read_text() == first
    assert git(dest, "rev-list", "--count", "HEAD") == "1"


def test_git_clone_and_detect_changes_work_in_a_directory_another_user_owns(repo, tmp_path):
    """A workspace volume's root is often root's while the steps run as 65532 (local-path
    volumes, as on kind): git refuses a repository whose worktree it does not own unless told to
    trust it. Here the checkout directory belongs to another user than the one running git."""
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root (CI runs as root)")
    first = git(repo, "rev-parse", "HEAD")
    commit_files(repo, {"services/frontend/app.py": "x = 2\n"})
    dest = tmp_path / "volume"
    dest.mkdir()
    os.chown(dest, 4242, 4242)
    dest.chmod(0o777)
    home = tmp_path / "home"
    home.mkdir()
    clone = run(
        ["sh", SCRIPTS / "git-clone.sh"],
        env={"URL": f"file://{repo}", "DEST": str(dest), "REVISION": "main", "HOME": str(home)},
    )
    assert clone.returncode == 0, clone.stderr
    services, _ = detect(dest, tmp_path, BASE_REVISION=first, HOME=str(home))
    assert services == ["frontend"]
    assert not (home / ".gitconfig").exists(), "the user's own git config must stay untouched"


def test_git_clone_fails_on_a_missing_revision_and_a_bad_depth(repo, tmp_path):
    env = {"URL": f"file://{repo}", "DEST": str(tmp_path / "d")}
    assert run(["sh", SCRIPTS / "git-clone.sh"], env={**env, "REVISION": "nope"}).returncode != 0
    bad = run(["sh", SCRIPTS / "git-clone.sh"], env={**env, "DEPTH": "1; rm -rf /"})
    assert bad.returncode == 2
    assert "DEPTH must be a number" in bad.stderr


# ---- python-test ---------------------------------------------------------------------------

PYPROJECT = """\
[tool.ruff]
line-length = 100
[tool.ruff.lint]
select = ["E", "F", "W", "I"]
[tool.pytest.ini_options]
pythonpath = ["services"]
testpaths = ["services"]
"""
GOOD_CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
GOOD_TEST = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_sub():\n    assert sub(3, 2) == 1\n"
)


def python_project(root: Path, code: str = GOOD_CODE, test: str = GOOD_TEST) -> Path:
    (root / "services").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "services" / "calc.py").write_text(code)
    (root / "services" / "test_calc.py").write_text(test)
    return root


def python_test(project: Path, reports: Path, coverage_min: str = "90"):
    return run(
        ["sh", SCRIPTS / "python-test.sh"],
        env={
            "SOURCE_DIR": str(project),
            "REPORT_DIR": str(reports),
            "COVERAGE_MIN": coverage_min,
            "INSTALL": "false",
            "PYTHON": sys.executable,
        },
        timeout=300,
    )


def test_python_test_passes_and_writes_junit_and_coverage(tmp_path):
    project = python_project(tmp_path / "p")
    result = python_test(project, tmp_path / "reports")
    assert result.returncode == 0, result.stdout + result.stderr
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert 'tests="2"' in junit
    assert 'failures="0"' in junit
    assert "<coverage" in (tmp_path / "reports" / "coverage.xml").read_text()


@pytest.mark.parametrize(
    ("code", "test", "message"),
    [
        ("import os\n" + GOOD_CODE, GOOD_TEST, "ruff check FAILED"),
        (GOOD_CODE.replace("return a + b", "return a+b"), GOOD_TEST, "ruff format FAILED"),
        (GOOD_CODE.replace("a + b", "a * b"), GOOD_TEST, "pytest FAILED"),
        (
            GOOD_CODE + "\n\ndef untested(x):\n    if x:\n        return 1\n    return 2\n",
            GOOD_TEST,
            "pytest FAILED",
        ),
    ],
    ids=["lint-error", "unformatted", "failing-test", "coverage-below-gate"],
)
def test_python_test_fails(tmp_path, code, test, message):
    project = python_project(tmp_path / "p", code, test)
    result = python_test(project, tmp_path / "reports")
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    if "coverage" in message or "pytest" in message:
        assert (tmp_path / "reports" / "junit.xml").is_file()


def test_python_test_runs_only_the_given_test_paths(tmp_path):
    project = python_project(tmp_path / "p")
    other = project / "other"
    other.mkdir()
    (other / "test_broken.py").write_text("def test_broken():\n    assert False\n")
    env = {
        "SOURCE_DIR": str(project),
        "COVERAGE_MIN": "90",
        "INSTALL": "false",
        "PYTHON": sys.executable,
    }
    script = ["sh", SCRIPTS / "python-test.sh"]
    only = run(script, env={**env, "REPORT_DIR": str(tmp_path / "r1"), "TEST_PATHS": "services"})
    assert only.returncode == 0, only.stdout + only.stderr
    both = run(
        script, env={**env, "REPORT_DIR": str(tmp_path / "r2"), "TEST_PATHS": "services other"}
    )
    assert both.returncode == 1
    assert 'tests="3"' in (tmp_path / "r2" / "junit.xml").read_text()


def test_python_test_coverage_gate_is_the_parameter(tmp_path):
    code = GOOD_CODE + "\n\ndef untested(x):\n    if x:\n        return 1\n    return 2\n"
    project = python_project(tmp_path / "p", code)
    assert python_test(project, tmp_path / "r1", coverage_min="90").returncode == 1
    assert python_test(project, tmp_path / "r2", coverage_min="50").returncode == 0
    bad = python_test(project, tmp_path / "r3", coverage_min="80; echo")
    assert bad.returncode == 2


# ---- bandit --------------------------------------------------------------------------------


def bandit(source: Path, reports: Path):
    return run(
        ["sh", SCRIPTS / "bandit.sh"],
        env={
            "SOURCE_DIR": str(source),
            "REPORT_DIR": str(reports),
            "INSTALL": "false",
            "BANDIT": str(VENV_BIN / "bandit"),
        },
        timeout=300,
    )


def test_bandit_passes_on_low_findings_and_writes_json_and_sarif(tmp_path):
    src = tmp_path / "src" / "services" / "app"
    src.mkdir(parents=True)
    # B404 (import subprocess) is LOW: reported, not blocking.
    (src / "run.py").write_text("import subprocess\n\nsubprocess.run(['ls'], check=True)\n")
    (src / "tests").mkdir()
    (src / "tests" / "test_x.py").write_text("import pickle\n\npickle.loads(b'')\n")
    result = bandit(tmp_path / "src", tmp_path / "reports")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "reports" / "bandit.json").read_text())
    ids = {r["test_id"] for r in report["results"]}
    assert "B404" in ids
    assert not any("tests" in r["filename"] for r in report["results"]), "tests are excluded"
    sarif = json.loads((tmp_path / "reports" / "bandit.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "Bandit"


def test_bandit_fails_on_a_high_severity_finding(tmp_path):
    src = tmp_path / "src" / "services" / "app"
    src.mkdir(parents=True)
    (src / "run.py").write_text(
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    )
    result = bandit(tmp_path / "src", tmp_path / "reports")
    assert result.returncode == 1
    assert "HIGH severity findings: FAILED" in result.stderr
    report = json.loads((tmp_path / "reports" / "bandit.json").read_text())
    assert any(r["issue_severity"] == "HIGH" for r in report["results"])


# ---- the package index (pip-index-url): python-step.sh's install_venv -----------------------


def probe_wheel(directory: Path) -> Path:
    """A one-module wheel, techcommerce-probe 1.0, written into DIRECTORY."""
    files = {
        "techcommerce_probe/__init__.py": b"VERSION = '1.0'\n",
        "techcommerce_probe-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: techcommerce-probe\nVersion: 1.0\n"
        ),
        "techcommerce_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{name},sha256="
        f"{base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}\n"
        for name, data in files.items()
    )
    files["techcommerce_probe-1.0.dist-info/RECORD"] = (
        record + "techcommerce_probe-1.0.dist-info/RECORD,,\n"
    ).encode()
    wheel = directory / "techcommerce_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel


@pytest.fixture
def package_index(tmp_path):
    """A PEP 503 index on loopback serving techcommerce-probe; yields its URL and the paths it
    was asked for."""
    root = tmp_path / "index"
    project = root / "simple" / "techcommerce-probe"
    project.mkdir(parents=True)
    wheel = probe_wheel(root)
    (project / "index.html").write_text(f'<a href="../../{wheel.name}">{wheel.name}</a>\n')
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield f"{url}/simple/", requested


def install_probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """python-step.sh's install_venv of techcommerce-probe==1.0, with none of this machine's
    PIP_* settings: only ENV (and PIP_CONFIG_FILE, default none) tell pip where to look."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        [
            "sh",
            "-c",
            '. "$1" && install_venv techcommerce-probe==1.0',
            "sh",
            SCRIPTS / "python-step.sh",
        ],
        env={**clean, "PIP_CONFIG_FILE": os.devnull, "VENV": str(tmp_path / "venv"), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_install_venv_installs_from_the_given_index(tmp_path, package_index):
    url, requested = package_index
    result = install_probe(tmp_path, PIP_INDEX_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/simple/techcommerce-probe/" in requested
    assert any(p.endswith(".whl") for p in requested)
    probe = run([tmp_path / "venv" / "bin" / "python", "-c", "import techcommerce_probe"])
    assert probe.returncode == 0, probe.stderr


def test_install_venv_with_an_empty_index_leaves_pip_its_own_default(tmp_path, package_index):
    """The param's default, "", is not an index: pip keeps its own (here its configuration
    file names the loopback index, so no network is needed to see that it was used)."""
    url, requested = package_index
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {url}\n")
    result = install_probe(tmp_path, PIP_INDEX_URL="", PIP_CONFIG_FILE=str(conf))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/simple/techcommerce-probe/" in requested


@pytest.mark.parametrize(
    ("index", "trusted"),
    [
        ("http://10.201.0.2:8081/simple/", "10.201.0.2:8081"),
        ("http://python-index.techcommerce-ci.svc/simple/", "python-index.techcommerce-ci.svc"),
        ("https://mirror.example/simple/", ""),
    ],
)
def test_install_venv_trusts_the_host_of_a_plain_http_index_only(tmp_path, index, trusted):
    """pip ignores a plain-HTTP index on any host but loopback unless the host is trusted: an
    http:// pip-index-url (an index inside the cluster) gets PIP_TRUSTED_HOST, an https one not.
    A stand-in python3 records the environment pip would get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "python3"
    stand_in.write_text(
        '#!/bin/sh\n[ "$1" = -m ] && mkdir -p "$VENV/bin" && '
        'printf \'#!/bin/sh\\necho "trusted=${PIP_TRUSTED_HOST:-}"\\n\' >"$VENV/bin/pip" && '
        'chmod +x "$VENV/bin/pip"\n'
    )
    stand_in.chmod(0o755)
    result = install_probe(tmp_path, PIP_INDEX_URL=index, PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"trusted={trusted}\n" in result.stdout


# ---- recording stand-ins for kaniko and trivy ----------------------------------------------

RECORDER = """#!{python}
import json, os, sys
log = os.environ["RECORD_LOG"]
with open(log, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
for i, a in enumerate(args):
    if a == "--output":
        open(args[i + 1], "w").write("{{}}")
    if a.startswith("--digest-file="):
        open(a.split("=", 1)[1], "w").write(os.environ.get("RECORD_DIGEST", ""))
if args and args[0] == "convert":
    sys.exit(0)
sys.exit(int(os.environ.get("RECORD_EXIT", "0")))
"""


@pytest.fixture
def recorder(tmp_path) -> tuple[Path, Path]:
    exe = tmp_path / "recorder"
    exe.write_text(RECORDER.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe, tmp_path / "calls.jsonl"


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


DIGEST = "sha256:" + "ab" * 32
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Build:
    """One run of kaniko-build.sh: its process, its result files and the executor's call log."""

    result: subprocess.CompletedProcess
    results: dict[str, Path]
    log: Path

    def executor_args(self) -> list[str]:
        """The arguments of the executor's one call, after checking the script succeeded."""
        assert self.result.returncode == 0, self.result.stderr
        [args] = calls(self.log)
        return args


@pytest.fixture
def kaniko(recorder, tmp_path):
    """Run kaniko-build.sh with the recording executor: the frontend at COMMIT to r.example,
    unless the keyword arguments (the script's environment) say otherwise."""
    exe, log = recorder

    def build(**env: str) -> Build:
        results = {n: tmp_path / n for n in ("url", "digest", "ref")}
        result = run(
            ["sh", SCRIPTS / "kaniko-build.sh"],
            env={
                "EXECUTOR": str(exe),
                "RECORD_LOG": str(log),
                "RECORD_DIGEST": DIGEST,
                "SOURCE_DIR": "/ws/source",
                "DIGEST_FILE": str(tmp_path / "digest-file"),
                "RESULT_IMAGE_URL": str(results["url"]),
                "RESULT_IMAGE_DIGEST": str(results["digest"]),
                "RESULT_IMAGE_REF": str(results["ref"]),
                "SERVICE": "frontend",
                "REGISTRY": "r.example",
                "COMMIT": COMMIT,
                **env,
            },
        )
        return Build(result, results, log)

    return build


def test_kaniko_build_command_tags_caches_and_results(kaniko):
    build = kaniko(
        SERVICE="order-api",
        REGISTRY="registry.example.com/shop/",
        BRANCH="feature/Cart-2",
        SOURCE_URL="https://github.com/o/r",
    )
    args = build.executor_args()
    repo = "registry.example.com/shop/techcommerce/order-api"
    assert args[:4] == [
        "--context=dir:///ws/source/services",
        "--dockerfile=/ws/source/services/Dockerfile",
        "--build-arg=SERVICE=order_api",
        f"--destination={repo}:{COMMIT}",
    ]
    assert f"--destination={repo}:feature-Cart-2" in args
    assert "--cache=true" in args
    assert "--cache-repo=registry.example.com/shop/techcommerce/cache" in args
    assert f"--label=org.opencontainers.image.revision={COMMIT}" in args
    assert "--label=org.opencontainers.image.source=https://github.com/o/r" in args
    assert "--reproducible" in args
    assert "--no-push" not in args
    assert "--insecure" not in args, "verified HTTPS unless the registry is declared insecure"
    assert "--skip-tls-verify" not in args
    assert build.results["url"].read_text() == f"{repo}:{COMMIT}"
    assert build.results["digest"].read_text() == DIGEST
    assert build.results["ref"].read_text() == f"{repo}@{DIGEST}"


def test_kaniko_build_without_push_or_cache(kaniko):
    build = kaniko(PUSH="false", CACHE="false")
    args = build.executor_args()
    assert "--no-push" in args
    assert not any(a.startswith("--cache") for a in args)
    assert [a for a in args if a.startswith("--destination")] == [
        f"--destination=r.example/techcommerce/frontend:{COMMIT}"
    ]
    assert build.results["ref"].read_text() == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SERVICE": "cart"}, "unknown service"),
        ({"COMMIT": "main; reboot"}, "COMMIT must be a hex"),
        *(
            ({"INSECURE_REGISTRY": value}, "INSECURE_REGISTRY must be true or false")
            for value in ["True", "yes", "1", "true; reboot"]
        ),
    ],
)
def test_kaniko_build_refuses_bad_input(kaniko, env, message):
    build = kaniko(**env)
    assert build.result.returncode == 2
    assert message in build.result.stderr
    assert not build.log.exists(), "the executor must not run"


def test_kaniko_build_insecure_registry_pushes_over_plain_http(kaniko):
    """A plain-HTTP registry (kind's kind-registry:5000) needs --insecure (HTTP for the push and
    the layer cache) and --skip-tls-verify; the push still reports its digest."""
    build = kaniko(SERVICE="product-api", REGISTRY="kind-registry:5000", INSECURE_REGISTRY="true")
    args = build.executor_args()
    assert args.count("--insecure") == 1
    assert args.count("--skip-tls-verify") == 1
    assert "--cache-repo=kind-registry:5000/techcommerce/cache" in args
    assert "--no-push" not in args
    assert build.results["ref"].read_text() == (
        f"kind-registry:5000/techcommerce/product-api@{DIGEST}"
    )


def test_kaniko_build_hands_the_package_index_to_the_dockerfile(kaniko):
    index = "http://python-index.techcommerce-ci.svc:8080/simple/"
    args = kaniko(PIP_INDEX_URL=index).executor_args()
    assert f"--build-arg=PIP_INDEX_URL={index}" in args


def test_kaniko_build_without_an_index_or_base_adds_no_build_argument(kaniko):
    args = kaniko(PIP_INDEX_URL="", SERVICE_BASE_IMAGE="").executor_args()
    assert [a for a in args if a.startswith("--build-arg=")] == ["--build-arg=SERVICE=frontend"]


@pytest.mark.parametrize(
    "base",
    ["127.0.0.1:5000/mirror/python:3.11.14-slim-bookworm", "python@sha256:" + "ab" * 32],
)
def test_kaniko_build_hands_a_pinned_base_image_to_the_dockerfile(kaniko, base):
    args = kaniko(SERVICE_BASE_IMAGE=base).executor_args()
    assert f"--build-arg=BASE_IMAGE={base}" in args


@pytest.mark.parametrize(
    "base", ["127.0.0.1:5000/mirror/python", "python:latest", "127.0.0.1:5000/python:"]
)
def test_kaniko_build_refuses_an_unpinned_base_image(kaniko, base):
    build = kaniko(SERVICE_BASE_IMAGE=base)
    assert build.result.returncode == 2
    assert "SERVICE_BASE_IMAGE must be pinned" in build.result.stderr
    assert not build.log.exists(), "kaniko must not run"


def test_kaniko_build_warns_when_the_docker_config_has_no_config_json(kaniko, tmp_path):
    """A registry Secret bound without items shows kaniko .dockerconfigjson, not config.json."""
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / ".dockerconfigjson").write_text('{"auths": {}}')
    env = {"DOCKER_CONFIG_BOUND": "true", "DOCKER_CONFIG_DIR": str(config)}
    result = kaniko(**env).result
    assert result.returncode == 0, result.stderr
    assert "no config.json" in result.stderr
    assert "item=.dockerconfigjson=config.json" in result.stderr
    (config / "config.json").write_text('{"auths": {}}')
    result = kaniko(**env).result
    assert result.returncode == 0, result.stderr
    assert "config.json" not in result.stderr


def test_kaniko_build_fails_when_the_push_gives_no_digest(kaniko):
    result = kaniko(RECORD_DIGEST="").result
    assert result.returncode == 1
    assert "no valid digest" in result.stderr


def trivy(recorder, tmp_path, *args, **env):
    exe, log = recorder
    source = tmp_path / "src"
    (source / "tekton").mkdir(parents=True, exist_ok=True)
    (source / "tekton" / ".trivyignore.yaml").write_text(
        "vulnerabilities:\n  - id: CVE-2026-0001\n    statement: accepted\n"
    )
    return run(
        ["sh", SCRIPTS / "trivy-scan.sh", *args],
        env={
            "TRIVY": str(exe),
            "RECORD_LOG": str(log),
            "SOURCE_DIR": str(source),
            "REPORT_DIR": str(tmp_path / "reports"),
            **env,
        },
    )


def test_trivy_fs_command(recorder, tmp_path):
    result = trivy(recorder, tmp_path, "fs")
    assert result.returncode == 0, result.stderr
    scan, convert = calls(recorder[1])
    reports = tmp_path / "reports"
    assert scan == [
        "fs",
        "--scanners",
        "vuln,secret,misconfig",
        str(tmp_path / "src"),
        "--severity",
        "HIGH,CRITICAL",
        "--exit-code",
        "1",
        "--no-progress",
        "--format",
        "json",
        "--ignorefile",
        str(tmp_path / "src" / "tekton" / ".trivyignore.yaml"),
        "--output",
        str(reports / "trivy-fs.json"),
    ]
    assert convert == ["convert", "--format", "table", str(reports / "trivy-fs.json")]


def test_trivy_runs_with_telemetry_and_version_notices_off(tmp_path):
    """trivy sends usage data and fetches version notices by default: the scans switch both off
    (a stand-in trivy records the environment it gets)."""
    seen = tmp_path / "env"
    stand_in = tmp_path / "trivy"
    stand_in.write_text(f'#!/bin/sh\nenv | grep "^TRIVY_" >>"{seen}"\n')
    stand_in.chmod(0o755)
    (tmp_path / "src" / "tekton").mkdir(parents=True)
    (tmp_path / "src" / "tekton" / ".trivyignore.yaml").write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    result = subprocess.run(
        ["sh", SCRIPTS / "trivy-scan.sh", "fs"],
        env={
            **clean,
            "TRIVY": str(stand_in),
            "SOURCE_DIR": str(tmp_path / "src"),
            "REPORT_DIR": str(tmp_path / "reports"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = set(seen.read_text().splitlines())
    assert {"TRIVY_DISABLE_TELEMETRY=true", "TRIVY_SKIP_VERSION_CHECK=true"} <= lines


def test_trivy_blocking_finding_fails_the_step(recorder, tmp_path):
    result = trivy(recorder, tmp_path, "fs", RECORD_EXIT="1", IGNORE_UNFIXED="true")
    assert result.returncode == 1
    assert "HIGH,CRITICAL findings: FAILED" in result.stderr
    assert "--ignore-unfixed" in calls(recorder[1])[0]


def test_trivy_image_scans_every_image_by_digest(recorder, tmp_path):
    refs = [f"r.example/techcommerce/{s}@{DIGEST}" for s in ("product-api", "frontend")]
    result = trivy(recorder, tmp_path, "image", *refs, RECORD_EXIT="1")
    assert result.returncode == 1
    scans = [c for c in calls(recorder[1]) if c[0] == "image"]
    assert [c[3] for c in scans] == refs, "both images are scanned even after a failure"
    assert scans[0][:3] == ["image", "--scanners", "vuln,secret"]
    assert str(tmp_path / "reports" / "trivy-image-frontend.json") in scans[1]


def test_trivy_insecure_registry(recorder, tmp_path):
    ref = f"kind-registry:5000/techcommerce/order-api@{DIGEST}"
    result = trivy(recorder, tmp_path, "image", ref)
    assert result.returncode == 0, result.stderr
    [scan] = [c for c in calls(recorder[1]) if c[0] == "image"]
    assert "--insecure" not in scan
    recorder[1].unlink()
    result = trivy(recorder, tmp_path, "image", ref, INSECURE_REGISTRY="true")
    assert result.returncode == 0, result.stderr
    [scan] = [c for c in calls(recorder[1]) if c[0] == "image"]
    assert scan[:4] == ["image", "--scanners", "vuln,secret", ref]
    assert "--insecure" in scan
    # The source scan pulls its database from a registry too (a mirror may be plain HTTP).
    recorder[1].unlink()
    assert trivy(recorder, tmp_path, "fs", INSECURE_REGISTRY="true").returncode == 0
    assert "--insecure" in calls(recorder[1])[0]


def test_trivy_takes_the_database_mirror_and_the_built_in_checks(recorder, tmp_path):
    assert trivy(recorder, tmp_path, "fs").returncode == 0
    scan = calls(recorder[1])[0]
    assert "--db-repository" not in scan and "--skip-check-update" not in scan
    recorder[1].unlink()
    mirror = "10.0.0.5:5000/techcommerce-e2e/trivy-db:2"
    result = trivy(recorder, tmp_path, "fs", DB_REPOSITORY=mirror, SKIP_CHECK_UPDATE="true")
    assert result.returncode == 0, result.stderr
    scan = calls(recorder[1])[0]
    assert scan[scan.index("--db-repository") + 1] == mirror
    assert "--skip-check-update" in scan


@pytest.mark.parametrize(
    ("name", "value"),
    [("DB_REPOSITORY", "mirror:5000/trivy-db:2 --severity LOW"), ("SKIP_CHECK_UPDATE", "yes")],
)
def test_trivy_refuses_an_unclear_database_setting(recorder, tmp_path, name, value):
    result = trivy(recorder, tmp_path, "fs", **{name: value})
    assert result.returncode == 2
    assert f"{name} must be" in result.stderr
    assert not recorder[1].exists()


def test_trivy_refuses_an_unclear_insecure_registry(recorder, tmp_path):
    ref = f"kind-registry:5000/techcommerce/order-api@{DIGEST}"
    result = trivy(recorder, tmp_path, "image", ref, INSECURE_REGISTRY="yes")
    assert result.returncode == 2
    assert "INSECURE_REGISTRY must be true or false" in result.stderr
    assert not recorder[1].exists()


def test_trivy_image_refuses_a_tag(recorder, tmp_path):
    result = trivy(recorder, tmp_path, "image", "r.example/techcommerce/frontend:main")
    assert result.returncode == 2
    assert "not pinned by digest" in result.stderr
    assert not recorder[1].exists()


# ---- report-status -------------------------------------------------------------------------


@pytest.fixture
def github():
    with recording_server(201) as server:
        yield server


def report(**env):
    return run([sys.executable, SCRIPTS / "report_status.py"], env={"GITHUB_TOKEN": "", **env})


def test_report_status_posts_a_failure_with_the_failed_tasks(github):
    url, requests = github
    result = report(
        AGGREGATE_STATUS="Failed",
        TASK_STATUSES="python-test=Succeeded,deploy-production=Failed",
        COMMIT=COMMIT,
        REPO_URL="https://github.com/acme/shop.git",
        CONTEXT="tekton/cd",
        TARGET_URL="https://dashboard.example/#/x",
        GITHUB_TOKEN="t0ken",
        GITHUB_API_URL=url,
    )
    assert result.returncode == 0, result.stderr
    [(path, headers, body)] = requests
    assert path == f"/repos/acme/shop/statuses/{COMMIT}"
    assert headers["Authorization"] == "Bearer t0ken"
    assert json.loads(body) == {
        "state": "failure",
        "description": "pipeline failed: failed deploy-production",
        "context": "tekton/cd",
        "target_url": "https://dashboard.example/#/x",
    }


def test_report_status_success_over_ssh_url(github):
    url, requests = github
    result = report(
        AGGREGATE_STATUS="Completed",
        COMMIT=COMMIT,
        REPO_URL="git@github.com:acme/shop.git",
        GITHUB_TOKEN="t",
        GITHUB_API_URL=url,
    )
    assert result.returncode == 0
    assert requests[0].path == f"/repos/acme/shop/statuses/{COMMIT}"
    assert json.loads(requests[0].body)["state"] == "success"


def test_report_status_without_token_only_logs(github):
    _, requests = github
    result = report(AGGREGATE_STATUS="Succeeded", COMMIT=COMMIT, REPO_URL="https://github.com/a/b")
    assert result.returncode == 0
    assert "commit status not sent" in result.stdout
    assert requests == []


def test_report_status_unreachable_api_never_fails_the_run():
    result = report(
        AGGREGATE_STATUS="Succeeded",
        COMMIT=COMMIT,
        REPO_URL="https://github.com/a/b",
        GITHUB_TOKEN="t",
        GITHUB_API_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 0
    assert "could not send" in result.stderr


# ---- shell hygiene -------------------------------------------------------------------------


def test_shellcheck_passes_on_every_script():
    scripts = [*sorted(SCRIPTS.glob("*.sh")), ROOT / "hack" / "dev" / "deps" / "tekton.sh"]
    result = run(["shellcheck", *scripts])
    assert result.returncode == 0, result.stdout
