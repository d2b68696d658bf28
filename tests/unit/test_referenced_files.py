import pytest

from playment_exporter.referenced_files import (
    ReferencedFile,
    ReferencedFileFailed,
    referenced_files,
)

BASE = "https://playment-data-uploads.s3.ap-south-1.amazonaws.com/p/j"


def test_each_url_is_stored_under_its_file_name_once() -> None:
    # Given a result naming a mask twice and a point cloud once
    urls = [f"{BASE}/mask.png", f"{BASE}/cloud%201.pcd".replace("%201", "-1"), f"{BASE}/mask.png"]
    # When the files are listed / Then each distinct file appears once, named by its path
    assert referenced_files(urls) == [
        ReferencedFile(f"{BASE}/mask.png", "mask.png"),
        ReferencedFile(f"{BASE}/cloud-1.pcd", "cloud-1.pcd"),
    ]


@pytest.mark.parametrize(
    ("urls", "code"),
    [
        ([f"{BASE}/"], "invalid_referenced_url"),
        ([f"{BASE}/.."], "invalid_referenced_url"),
        ([f"{BASE}/a%2Fb.png"], "invalid_referenced_url"),
        (["file:///etc/passwd"], "invalid_referenced_url"),
        ([f"{BASE}/mask.png", "https://elsewhere.example/x/mask.png"], "duplicate_referenced_name"),
    ],
)
def test_names_that_cannot_be_stored_safely_fail_the_job(urls, code) -> None:
    # Given URLs whose file name is empty, climbs, hides a slash, or collides
    # When listed / Then the job fails with a code that says why, before any download
    with pytest.raises(ReferencedFileFailed) as raised:
        referenced_files(urls)
    assert raised.value.code == code
