"""The Athena table over the index of exported jobs (template.yaml's IndexDatabase and
IndexTable) against what writes the index (playment_exporter.export_index) and what the
documentation (docs/dataset.md) tells people to run.

`make check-template` lints and scans the table's declaration; these tests pin what no linter
sees: that the columns are IndexLine's fields with Hive types its JSON lines parse with, that
the table and its partition projection point where index_key writes, and that the dataset
page's queries name what exists and pick a job's latest line.
"""

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from playment_exporter.export_index import IndexLine, index_key, index_location, timestamp, to_jsonl
from playment_local.cfn_template import CfnTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
DATASET_PAGE = ROOT / "docs" / "dataset.md"
SAMCONFIG_PATH = ROOT / "samconfig.toml"
PARTITION_KEY = "batch_id"
BUCKET = "results-bucket"
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Athena's rule for database, table and column names.
ATHENA_NAME = re.compile(r"[a-z0-9_]+")


# ---------------------------------------------------------------- helpers


@dataclass(frozen=True)
class HiveType:
    """A parsed Hive type: a primitive (``name`` only), ``array`` (one ``items`` entry, named
    ""), or ``struct`` (its fields, in order)."""

    name: str
    items: tuple[tuple[str, "HiveType"], ...] = ()


def parse_hive_type(text: str) -> HiveType:
    """Parse a Glue column type (``array<struct<key:string,size:bigint>>``); raise on anything
    left over or malformed."""
    parsed, end = _parse_at(text.replace(" ", ""), 0)
    if end != len(text.replace(" ", "")):
        raise ValueError(f"trailing text in Hive type {text!r}")
    return parsed


def _parse_at(text: str, at: int) -> tuple[HiveType, int]:
    match = re.compile(r"[a-z]+").match(text, at)
    if match is None:
        raise ValueError(f"no type name at {at} in {text!r}")
    name, at = match.group(), match.end()
    if name == "array":
        item, at = _parse_at(text, _expect(text, at, "<"))
        return HiveType("array", (("", item),)), _expect(text, at, ">")
    if name == "struct":
        fields: list[tuple[str, HiveType]] = []
        at = _expect(text, at, "<")
        while True:
            field = re.compile(r"[a-z_][a-z0-9_]*").match(text, at)
            if field is None:
                raise ValueError(f"no field name at {at} in {text!r}")
            field_type, at = _parse_at(text, _expect(text, field.end(), ":"))
            fields.append((field.group(), field_type))
            if text.startswith(">", at):
                return HiveType("struct", tuple(fields)), at + 1
            at = _expect(text, at, ",")
    return HiveType(name), at


def _expect(text: str, at: int, token: str) -> int:
    if not text.startswith(token, at):
        raise ValueError(f"expected {token!r} at {at} in {text!r}")
    return at + len(token)


def type_errors(value: Any, hive_type: HiveType, path: str) -> list[str]:
    """Why a JSON value would not read as ``hive_type`` with the JSON SerDe (empty: it does).
    Strict: no null (none of IndexLine's fields is optional, a null would be a lost value),
    and a struct's object must have exactly its fields (an extra one would be dropped)."""
    if hive_type.name == "string":
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if hive_type.name == "bigint":
        if isinstance(value, int) and not isinstance(value, bool):
            in_range = BIGINT_MIN <= value <= BIGINT_MAX
            return [] if in_range else [f"{path}: {value} is out of bigint's range"]
        return [f"{path}: {value!r} is not an integer"]
    if hive_type.name == "array":
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not an array"]
        ((_, item_type),) = hive_type.items
        return [
            e for i, item in enumerate(value) for e in type_errors(item, item_type, f"{path}[{i}]")
        ]
    if hive_type.name == "struct":
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object"]
        fields = dict(hive_type.items)
        if set(value) != set(fields):
            return [f"{path}: keys {sorted(value)} are not the struct's {sorted(fields)}"]
        return [
            e for name, t in fields.items() for e in type_errors(value[name], t, f"{path}.{name}")
        ]
    return [f"{path}: the checker does not know Hive type {hive_type.name!r}"]


def cfn_literal(text: str) -> str:
    """What CloudFormation makes of a resolved Fn::Sub string's escapes: ``${!name}`` is the
    literal ``${name}`` (the local resolver leaves the escape as written)."""
    return text.replace("${!", "${")


def evaluate_name(expression: Any, stack_name: str) -> str:
    """Fn::Join / Fn::Split / Ref AWS::StackName, which the database name is made of."""
    if isinstance(expression, str):
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref" and argument == "AWS::StackName":
        return stack_name
    if function == "Fn::Join":
        delimiter, items = argument
        parts = items if isinstance(items, list) else evaluate_parts(items, stack_name)
        return str(delimiter).join(evaluate_name(part, stack_name) for part in parts)
    raise AssertionError(f"the database name uses {function}, which this test cannot evaluate")


def evaluate_parts(expression: Any, stack_name: str) -> list[str]:
    ((function, argument),) = expression.items()
    assert function == "Fn::Split", function
    delimiter, source = argument
    return evaluate_name(source, stack_name).split(delimiter)


def page_section(title: str) -> str:
    text = DATASET_PAGE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def page_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", page_section("Query the index with Athena"), re.S)


def index_lines() -> list[IndexLine]:
    """Lines as FetchResult writes them: edge values of every type included."""
    moment = datetime(2026, 12, 2, 1, 45, 1, 123456, tzinfo=UTC)
    return [
        IndexLine(
            project_id="proj-1",
            batch_id="batch-a",
            job_id="job-1",
            reference_id="ref \"quoted\" \\ 'apostrophe' é 日本",
            key="exports/batch-a/job-1.json",
            size=0,
            sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            exported_at=timestamp(moment),
            execution="export-20261202T014500Z-0a1b2c3d",
        ),
        # (IndexLine's own validation builds the referenced files, wherever their model lives)
        IndexLine.model_validate(
            {
                "project_id": "proj-1",
                "batch_id": "batch-a",
                "job_id": "job-2",
                "reference_id": "",
                "key": "exports/batch-a/job-2.json",
                "size": BIGINT_MAX,
                "sha256": "ab" * 32,
                "referenced": [
                    {"key": "exports/batch-a/job-2/files/a.png", "size": 1, "sha256": "cd" * 32},
                    {"key": "exports/batch-a/job-2/b.pcd", "size": 2**40, "sha256": "ef" * 32},
                ],
                "exported_at": timestamp(moment + timedelta(days=400)),
                "execution": "console-started-execution",
            }
        ),
    ]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def table(template: dict[str, Any]) -> dict[str, Any]:
    (name,) = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Glue::Table"]
    resource: dict[str, Any] = template["Resources"][name]["Properties"]
    return resource


@pytest.fixture(scope="module")
def columns(table: dict[str, Any]) -> dict[str, HiveType]:
    declared = table["TableInput"]["StorageDescriptor"]["Columns"]
    return {column["Name"]: parse_hive_type(column["Type"]) for column in declared}


@pytest.fixture(scope="module")
def database_name_expression(template: dict[str, Any], table: dict[str, Any]) -> Any:
    reference = table["DatabaseName"]
    assert reference == {"Ref": "IndexDatabase"}
    database = template["Resources"]["IndexDatabase"]
    assert database["Type"] == "AWS::Glue::Database"
    return database["Properties"]["DatabaseInput"]["Name"]


# ---------------------------------------------------------------- the columns


def test_the_columns_are_index_lines_fields_in_order_the_partition_key_left_out(
    table: dict[str, Any],
) -> None:
    # Given the table's columns and partition keys, and IndexLine's fields
    declared = [c["Name"] for c in table["TableInput"]["StorageDescriptor"]["Columns"]]
    partition_keys = table["TableInput"]["PartitionKeys"]
    fields = list(IndexLine.model_fields)

    # Then batch_id is the one partition key, a string, and not a column too (Athena rejects a
    # table whose partition key is also a column)
    assert partition_keys == [{"Name": PARTITION_KEY, "Type": "string"}]
    assert PARTITION_KEY in fields
    # And the columns are every other field, in IndexLine's order, each a valid Athena name
    assert declared == [name for name in fields if name != PARTITION_KEY]
    assert all(ATHENA_NAME.fullmatch(name) for name in declared)


def test_the_checker_refuses_what_the_declared_types_would_not_read() -> None:
    # Given the referenced files' type, parsed
    files = parse_hive_type("array<struct<key:string,size:bigint,sha256:string>>")

    # Then it reads as an array of structs with those fields
    assert files == HiveType(
        "array",
        (
            (
                "",
                HiveType(
                    "struct",
                    (
                        ("key", HiveType("string")),
                        ("size", HiveType("bigint")),
                        ("sha256", HiveType("string")),
                    ),
                ),
            ),
        ),
    )
    # And the checker accepts a conforming value and refuses every kind of mismatch
    good = {"key": "k", "size": 1, "sha256": "00"}
    assert type_errors([good], files, "f") == []
    assert type_errors([{**good, "size": "1"}], files, "f")
    assert type_errors([{**good, "size": 2**63}], files, "f")
    assert type_errors([{**good, "size": True}], files, "f")
    assert type_errors([{**good, "extra": 1}], files, "f")
    assert type_errors([{"key": "k", "size": 1}], files, "f")
    assert type_errors(good, files, "f")
    assert type_errors([good], HiveType("int"), "f")
    with pytest.raises(ValueError, match="expected"):
        parse_hive_type("array<string")


def test_index_lines_parse_with_the_declared_column_types(columns: dict[str, HiveType]) -> None:
    # Given sample lines as FetchResult writes them (to_jsonl, one model_dump_json a line)
    written = to_jsonl(index_lines()).decode().splitlines()

    for text in written:
        # When the JSON SerDe reads a line into the declared columns
        document = json.loads(text)

        # Then the line holds exactly the columns and the partition key (nothing dropped)
        assert set(document) == {*columns, PARTITION_KEY}
        # And every column's value reads as its declared Hive type
        errors = [e for name, t in columns.items() for e in type_errors(document[name], t, name)]
        assert errors == []


# ---------------------------------------------------------------- where the table reads


@pytest.mark.parametrize("prefix", ["", "exports/", "team/playment/"])
@pytest.mark.parametrize("bucket_name", ["", "their-bucket"])
def test_the_table_and_its_projection_read_where_index_key_writes(
    template: dict[str, Any], table: dict[str, Any], prefix: str, bucket_name: str
) -> None:
    # Given the template deployed with this ResultsPrefix, into its own bucket or the user's
    cfn = CfnTemplate(
        template,
        parameters={"ResultsPrefix": prefix, "ResultsBucketName": bucket_name},
        physical_ids={"ResultsBucket": {"Ref": BUCKET}},
    )
    bucket = bucket_name or BUCKET
    table_input = cfn.resolve(table["TableInput"])

    # When Athena projects the partition of a batch the query names
    location = table_input["StorageDescriptor"]["Location"]
    template_text = cfn_literal(table_input["Parameters"]["storage.location.template"])
    assert template_text.count("${batch_id}") == 1
    projected = template_text.replace("${batch_id}", "batch-7")

    # Then the table's LOCATION is the index's location
    assert location == index_location(bucket, prefix)
    # And the projected partition is the folder index_key writes that batch's pages to
    written = f"s3://{bucket}/" + index_key(prefix, "batch-7", "export-1", 3)
    assert written.rsplit("/", 1)[0] + "/" == projected
    # And it lies under the LOCATION, Hive-style (batch_id=<value>)
    assert projected == f"{location}{PARTITION_KEY}=batch-7/"


def test_the_table_needs_no_partition_management_after_a_deploy(table: dict[str, Any]) -> None:
    # Given the table's declaration
    table_input = table["TableInput"]
    parameters = table_input["Parameters"]
    storage = table_input["StorageDescriptor"]

    # Then the partitions are projected, batch_id injected from the query
    assert parameters["projection.enabled"] == "true"
    assert parameters[f"projection.{PARTITION_KEY}.type"] == "injected"
    assert [k for k in parameters if k.startswith("projection.")] == [
        "projection.enabled",
        f"projection.{PARTITION_KEY}.type",
    ]
    # And the table reads the JSON lines as text with the OpenX JSON SerDe, failing on a
    # malformed line instead of returning nulls
    assert table_input["TableType"] == "EXTERNAL_TABLE"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    serde = storage["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert serde.get("Parameters", {}).get("ignore.malformed.json", "false") == "false"


@pytest.mark.parametrize(
    ("stack_name", "database"),
    [
        ("playment-exporter", "playment_exporter"),
        ("Exporter-Prod-2", "exporter_prod_2"),
        ("exporter", "exporter"),
    ],
)
def test_the_database_is_named_after_the_stack_as_athena_accepts(
    database_name_expression: Any, stack_name: str, database: str
) -> None:
    # When the database name is made from this stack name (Glue folds it to lowercase)
    name = evaluate_name(database_name_expression, stack_name).lower()

    # Then it is the stack's name with "_" for "-", a valid Athena name
    assert name == database
    assert ATHENA_NAME.fullmatch(name)


def test_the_outputs_name_the_database_and_the_table(template: dict[str, Any]) -> None:
    # Given the stack's outputs
    outputs = template["Outputs"]

    # Then they give the database's and the table's names (Ref of each)
    assert outputs["IndexDatabase"]["Value"] == {"Ref": "IndexDatabase"}
    assert outputs["IndexTable"]["Value"] == {"Ref": "IndexTable"}


# ------------------------------------------------------------ the dataset page's queries

SQL_WORDS = {"select", "from", "where", "and", "or", "in", "over", "partition", "by", "order"}
SQL_WORDS |= {"desc", "asc", "as", "row_number"}
WINDOW = re.compile(
    r"row_number\(\)\s+OVER\s*\(\s*PARTITION\s+BY\s+(?P<partition>\w+(?:\s*,\s*\w+)*)"
    r"\s+ORDER\s+BY\s+(?P<order>\w+)\s+(?P<direction>ASC|DESC)\s*\)\s+AS\s+(?P<alias>\w+)",
    re.I,
)


def test_the_dataset_pages_queries_name_the_table_and_columns_that_exist(
    table: dict[str, Any], columns: dict[str, HiveType], database_name_expression: Any
) -> None:
    # Given the dataset page's queries, the stack name they assume (samconfig.toml's) and the table
    queries = page_queries()
    samconfig = tomllib.loads(SAMCONFIG_PATH.read_text(encoding="utf-8"))
    stack_name = samconfig["default"]["global"]["parameters"]["stack_name"]
    qualified = f"{evaluate_name(database_name_expression, stack_name).lower()}."
    qualified += table["TableInput"]["Name"]
    known = {*columns, PARTITION_KEY}
    assert len(queries) == 2

    for query in queries:
        # When its string literals are left out and its identifiers read
        code = re.sub(r"'[^']*'", "''", query)
        aliases = {a.lower() for a in re.findall(r"\bAS\s+(\w+)", code, re.I)}
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?", code)

        # Then it reads the table by its database and name, and names its batch (the
        # injected projection refuses a query without one)
        assert re.search(rf"\bFROM\s+{re.escape(qualified)}\s", code, re.I), query
        assert re.search(rf"\bWHERE\s+{PARTITION_KEY}\s*=\s*''", code, re.I), query
        # And every other name is a column, the partition key or an alias it defines
        unknown = {
            n for n in names if n.lower() not in SQL_WORDS | known | aliases and n != qualified
        }
        assert unknown == set(), query
    # And the first is the join query
    assert re.sub(r"\s+", " ", queries[0]).strip().startswith("SELECT reference_id, key FROM")


def latest_lines(documents: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """The dataset page's query's window, run in Python over the lines as Athena reads them:
    row_number() OVER (PARTITION BY ... ORDER BY ... ASC|DESC), rows numbered 1 kept."""
    window = WINDOW.search(query)
    assert window is not None, query
    assert re.search(rf"WHERE\s+{window['alias']}\s*=\s*1\b", query, re.I), query
    keys = [k.strip() for k in window["partition"].split(",")]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for document in documents:
        groups.setdefault(tuple(document[k] for k in keys), []).append(document)
    descending = window["direction"].upper() == "DESC"
    return [
        sorted(group, key=lambda d: d[window["order"]], reverse=descending)[0]
        for group in groups.values()
    ]


def test_the_dataset_pages_latest_line_query_keeps_an_overwrites_line(
    columns: dict[str, HiveType],
) -> None:
    # Given lines from an earlier run and from an overwrite run that exported job-1 again: the
    # later run's clock is on another offset, earlier on the wall, later in time
    (query,) = [q for q in page_queries() if "row_number" in q]
    earlier = datetime(2026, 12, 2, 10, 0, 0, 999000, tzinfo=UTC)
    later = datetime(2026, 12, 2, 6, 0, 1, tzinfo=timezone(timedelta(hours=-5)))  # 11:00:01Z

    def line(batch_id: str, job_id: str, moment: datetime, execution: str) -> IndexLine:
        return IndexLine(
            project_id="p",
            batch_id=batch_id,
            job_id=job_id,
            reference_id=f"ref-{job_id}",
            key=f"{batch_id}/{job_id}.json",
            size=10,
            sha256="00" * 32,
            exported_at=timestamp(moment),
            execution=execution,
        )

    written = [
        line("b1", "job-1", later, "overwrite-run"),
        line("b1", "job-1", earlier, "first-run"),
        line("b1", "job-2", earlier, "first-run"),
        line("b2", "job-1", earlier, "first-run"),
    ]
    documents = [json.loads(text) for text in to_jsonl(written).decode().splitlines()]
    assert all(set(d) == {*columns, PARTITION_KEY} for d in documents)

    # When the query's window keeps one line per job
    kept = latest_lines(documents, query)

    # Then each (batch, job) has one line, and job-1 of b1 has the overwrite run's
    by_job = {(d["batch_id"], d["job_id"]): d["execution"] for d in kept}
    assert by_job == {
        ("b1", "job-1"): "overwrite-run",
        ("b1", "job-2"): "first-run",
        ("b2", "job-1"): "first-run",
    }
    # And exported_at's text order is its time order (what the query relies on)
    assert timestamp(earlier) < timestamp(later)
    assert len(timestamp(earlier)) == len(timestamp(later)) == len("2026-12-02T01:45:01.123Z")
