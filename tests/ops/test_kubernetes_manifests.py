"""deploy/kubernetes/: every manifest validates against the Kubernetes schemas, checkov finds
nothing, and the manifests say what the operations design says (probes, one beat, autoscaling
on the queue, disruption budgets, the staff door on its own network, an operator's PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
# Custom resources: kubernetes-validate ships only the core schemas (checked by hand below).
CUSTOM_KINDS = {"Cluster", "ScheduledBackup", "Kustomization"}
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"


def documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def by_kind_and_name() -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for _, d in documents() if "metadata" in d}


@pytest.mark.parametrize(
    "name,doc",
    [(f"{n}:{d['kind']}/{d.get('metadata', {}).get('name', '')}", d) for n, d in documents()],
)
def test_manifest_validates_against_the_kubernetes_schema(name, doc):
    if doc["kind"] in CUSTOM_KINDS:
        # No schema is bundled for these; a core kind must never land here.
        with pytest.raises(kubernetes_validate.utils.SchemaNotFoundError):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        return
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_pins_the_image_by_digest():
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    (image,) = kustomization["images"]
    assert image["digest"].startswith("sha256:")


def test_checkov_finds_nothing():
    assert CHECKOV.exists(), "checkov is installed by `make test` (bootstrap.sh checkov)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(MANIFESTS),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 100
    assert summary["parsing_errors"] == 0


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"]


def test_web_probes_autoscaling_and_disruption_budget():
    objects = by_kind_and_name()
    for name in ("machiba-web", "machiba-web-staff"):
        (web,) = containers(objects[("Deployment", name)])
        assert web["readinessProbe"]["httpGet"]["path"].startswith("/healthz")
        assert web["livenessProbe"]["httpGet"]["path"] == "/livez"
        hpa = objects[("HorizontalPodAutoscaler", name)]
        assert hpa["spec"]["minReplicas"] >= 2
        assert objects[("PodDisruptionBudget", name)]["spec"]["minAvailable"] >= 1
        assert web["securityContext"]["readOnlyRootFilesystem"] is True
    # The portal's staff door is shut; the staff deployment opens it to the staff ingress.
    env = {
        e["name"]: e["value"] for e in containers(objects[("Deployment", "machiba-web")])[0]["env"]
    }
    assert env["MACHIBA_STAFF_NETWORKS"] == "127.0.0.1/32"


def test_workers_scale_on_queue_length_and_beat_is_exactly_one():
    objects = by_kind_and_name()
    metrics = objects[("HorizontalPodAutoscaler", "machiba-worker")]["spec"]["metrics"]
    assert any(
        m["type"] == "External" and m["external"]["metric"]["name"] == "machiba_celery_queue_length"
        for m in metrics
    )
    assert ("PodDisruptionBudget", "machiba-worker") in objects
    beat = objects[("Deployment", "machiba-beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert not any(k == "HorizontalPodAutoscaler" and n == "machiba-beat" for k, n in objects)
    job = objects[("Job", "machiba-migrate")]
    assert containers(job)[0]["command"][-2:] == ["migrate", "--noinput"]


def test_staff_ingress_and_network_policies_keep_the_back_office_apart():
    objects = by_kind_and_name()
    assert objects[("Ingress", "machiba-staff")]["spec"]["ingressClassName"] == "staff"
    assert objects[("Ingress", "machiba-portal")]["spec"]["ingressClassName"] == "public"
    deny = objects[("NetworkPolicy", "default-deny-ingress")]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"]
    staff = objects[("NetworkPolicy", "machiba-web-staff")]["spec"]["ingress"][0]["from"]
    sources = {s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in staff}
    assert sources == {"ingress-staff", "monitoring"}
    secret = objects[("Secret", "machiba")]["stringData"]
    assert {"DJANGO_SECRET_KEY", "MACHIBA_MYNUMBER_KEYS", "DATABASE_URL"} <= set(secret)


def test_postgresql_is_an_operator_cluster_with_a_replica_and_wal_archiving():
    cluster = by_kind_and_name()[("Cluster", "machiba-db")]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] >= 2
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert "wal" in store
    assert ("ScheduledBackup", "machiba-db-nightly") in by_kind_and_name()
