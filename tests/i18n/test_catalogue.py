"""The Hindi catalogue (locale/hi): every string marked in the templates, the code and the
scripts has its Hindi, with the same placeholders, and the committed .mo files are compiled
from the committed .po files."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "hi" / "LC_MESSAGES"
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_entry_has_its_hindi_with_the_same_placeholders(domain):
    po = polib.pofile(str(LOCALE / f"{domain}.po"))
    assert len(po) > 40
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    wrong = []
    for entry in po:
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, entry.msgstr_plural[1])]
            if set(placeholders(entry.msgstr_plural[0])) - set(placeholders(entry.msgid_plural)):
                wrong.append(entry.msgid)
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        wrong += [source for source, hindi in pairs if placeholders(source) != placeholders(hindi)]
    assert wrong == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalogue_is_the_committed_one(domain):
    """`make messages` compiles the .mo; a .po edited without it is caught here."""
    def entries(catalogue):
        return {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in catalogue if e.msgid}

    po = polib.pofile(str(LOCALE / f"{domain}.po"))
    mo = polib.mofile(str(LOCALE / f"{domain}.mo"))
    assert entries(mo) == entries(po)


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs gettext (xgettext) to collect the strings")
def test_no_marked_string_is_missing_from_the_catalogue(tmp_path):
    """What `make messages-collect` finds in the sources now is what the catalogue holds: a
    string added to a page, a message or a script without its Hindi fails here."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "var", ".git", "tests", "bench", "node_modules",
                                                              "__pycache__", "*.mo"))
    subprocess.run(["make", "-s", "messages-collect", f"PY={sys.executable}"], cwd=copy, check=True,
                   capture_output=True, timeout=300)
    for domain in DOMAINS:
        found = {(e.msgctxt, e.msgid) for e in polib.pofile(str(copy / "locale" / "hi" / "LC_MESSAGES" / f"{domain}.po"))}
        kept = {(e.msgctxt, e.msgid) for e in polib.pofile(str(LOCALE / f"{domain}.po"))}
        assert sorted(found - kept, key=str) == [], f"{domain}: new strings without Hindi: run `make messages`"
        assert sorted(kept - found, key=str) == [], f"{domain}: strings no longer used: run `make messages`"
