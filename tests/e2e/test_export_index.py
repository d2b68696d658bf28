"""The index of exported jobs, written as the export runs, on the local engine: each line maps
a job to the team's own ID, its result's key, size and SHA-256."""

import hashlib
import json
from typing import Any

from playment_exporter.export_index import INDEX_DIRECTORY
from playment_simulator import sample_catalog
from tests.e2e.conftest import completed

PROJECT = "demo-project"
BATCHES = {"b1": 40, "b2": 25}


def index_lines(engine: Any) -> list[dict[str, Any]]:
    lines = []
    for key in engine.keys(f"{INDEX_DIRECTORY}/"):
        body = engine.s3.get_object(Bucket=engine.bucket, Key=key)["Body"].read()
        batch = key.split("/")[1].removeprefix("batch_id=")
        for text in body.decode().splitlines():
            line = json.loads(text)
            assert line["batch_id"] == batch, key  # each part lies in its batch's partition
            lines.append(line)
    return lines


def latest_per_job(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The dataset page's query (docs/dataset.md), row_number() over (partition by batch_id,
    job_id order by exported_at desc) = 1, over the index files."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        job = (line["batch_id"], line["job_id"])
        if job not in latest or line["exported_at"] > latest[job]["exported_at"]:
            latest[job] = line
    return latest


def test_the_index_maps_each_job_to_its_reference_id_and_its_bytes(
    start_simulator, local_engine
) -> None:
    # Given two batches whose jobs carry the team's own reference IDs
    catalog = sample_catalog(PROJECT, BATCHES, not_completed_every=9)
    engine = local_engine(start_simulator(catalog))
    # When the first batch is exported
    first = engine.run({"project_id": PROJECT, "batch_id": "b1"})
    assert first.succeeded
    # Then every exported job has one line, whose reference_id, key, size and SHA-256 are
    # those of the stored result, byte for byte
    lines = index_lines(engine)
    wanted = completed(catalog, PROJECT, "b1")
    assert sorted(line["job_id"] for line in lines) == sorted(wanted)
    for line in lines:
        body = engine.s3.get_object(Bucket=engine.bucket, Key=line["key"])["Body"].read()
        number = int(line["job_id"].rsplit("-", 1)[1])
        assert line["reference_id"] == f"b1-ref-{number:05d}"
        assert line["key"] == f"b1/{line['job_id']}.json"
        assert (line["size"], line["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
        assert (line["project_id"], line["execution"]) == (PROJECT, first.name)
    # When both batches are exported / Then lines are added for the new jobs only
    second = engine.run({"project_id": PROJECT, "batch_ids": list(BATCHES)})
    assert second.succeeded
    added = [line for line in index_lines(engine) if line["execution"] == second.name]
    assert sorted(line["job_id"] for line in added) == sorted(completed(catalog, PROJECT, "b2"))
    # When b1 is exported again with overwrite / Then its new lines supersede the old ones in
    # the latest-line-per-job query, and every job still has exactly one latest line
    again = engine.run({"project_id": PROJECT, "batch_id": "b1", "overwrite": True})
    assert again.succeeded
    latest = latest_per_job(index_lines(engine))
    assert len(latest) == len(wanted) + len(completed(catalog, PROJECT, "b2"))
    assert {line["execution"] for (batch, _), line in latest.items() if batch == "b1"} == {
        again.name
    }
    assert {line["execution"] for (batch, _), line in latest.items() if batch == "b2"} == {
        second.name
    }


def test_referenced_files_are_indexed_beside_their_result(start_simulator, local_engine) -> None:
    # Given a segmentation batch whose results reference masks and point clouds
    from tests.e2e.conftest import segmentation_catalog

    catalog = segmentation_catalog(PROJECT)
    engine = local_engine(start_simulator(catalog))
    # When it is exported with its referenced files
    result = engine.run({"project_id": PROJECT, "batch_id": "seg", "include_referenced": True})
    assert result.succeeded
    # Then each line lists the files written beside the result, with their sizes and SHA-256
    for line in index_lines(engine):
        names = sorted(file["key"].rsplit("/", 1)[1] for file in line["referenced"])
        number = int(line["job_id"].rsplit("-", 1)[1])
        assert names == sorted(["mask.png", f"cloud-{number}.pcd", "frame-1.png"])
        for file in line["referenced"]:
            body = engine.s3.get_object(Bucket=engine.bucket, Key=file["key"])["Body"].read()
            assert (file["size"], file["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
