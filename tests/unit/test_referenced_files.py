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
        (["https://host.example"], "invalid_referenced_url"),
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


def test_plain_http_urls_and_nested_paths_are_accepted() -> None:
    # Given an http (not https) URL, and a deep path
    urls = ["http://files.example/a/b/c/d.bin"]
    # When listed / Then the file is named by the last segment of its path
    assert referenced_files(urls) == [ReferencedFile(urls[0], "d.bin")]


def test_the_error_names_the_url_shortened_and_the_colliding_name() -> None:
    # Given a URL far over 200 characters that does not name a file
    long_url = "ftp://x/" + "a" * 300
    # When listed / Then the message shows the URL's first 200 characters, quoted
    with pytest.raises(ReferencedFileFailed) as raised:
        referenced_files([long_url])
    assert raised.value.message == f"{long_url[:200]!r} does not name a file that can be stored"
    # And two files with one name are named in the message
    with pytest.raises(ReferencedFileFailed) as collided:
        referenced_files([f"{BASE}/m.png", "https://other.example/m.png"])
    assert collided.value.message == "two different files are both named 'm.png'"
