"""Uploaded files keep their extension (it tells CSV from XLSX) whatever the length of their name."""

from jatigi.assistance.pages import upload_name


def test_a_long_name_keeps_its_extension_and_no_path() -> None:
    name = upload_name("../../" + "rapport orange " * 12 + ".xlsx", "report.csv")
    assert name.endswith(".xlsx") and "/" not in name and len(name) <= 110
    assert upload_name(None, "report.csv") == "report.csv"
    assert upload_name("..", "report.csv") == "report.csv"
