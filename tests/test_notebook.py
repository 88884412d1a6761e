"""The example notebook runs from top to bottom (in its tiny configuration), so it cannot rot.

The notebook reads its settings from environment variables: ``SKSEQATTN_NOTEBOOK_TINY=1``
trains a tiny model, and ``SKSEQATTN_DATA`` points it at a folder of surname files. The tests
give it either a small fake surname folder or an empty one, in which case the notebook falls
back to synthetic first names (through ``examples/_data.py``); they never read real data and
never download (the notebook's tiny mode forbids it).
"""

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "attention_notebook.ipynb"

# Three made-up "languages" whose surnames differ by their endings.
_FAKE_SURNAMES = {
    "Ovian": ["Petrov", "Ivanov", "Sidorov", "Kuznetsov", "Popov", "Sokolov", "Lebedev"],
    "Skian": ["Nowski", "Kowalski", "Wisniewski", "Lewski", "Zielski", "Dabrowski"],
    "Ezian": ["Gomez", "Lopez", "Perez", "Sanchez", "Ramirez", "Torrez", "Alvarez"],
}


def _write_fake_surnames(data_home):
    folder = data_home / "names"
    folder.mkdir(parents=True)
    for language, names in _FAKE_SURNAMES.items():
        # prefixes make the names distinct, so that de-duplication keeps them all
        lines = [f"{prefix}{name.lower()}" for prefix in ("Al", "Bo", "Ca", "Da") for name in names]
        (folder / f"{language}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run_notebook(monkeypatch, data_home):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NoSuchKernel

    monkeypatch.setenv("SKSEQATTN_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("SKSEQATTN_DATA", str(data_home))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny model; no thread contention
    # The kernel imports this checkout's package, as the tests do (not another installed one).
    pythonpath = [str(NOTEBOOK.parents[1]), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, pythonpath)))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        client.execute()
    except NoSuchKernel:  # pragma: no cover - depends on the environment
        pytest.skip("no 'python3' Jupyter kernel is installed")
    return notebook


def _outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def _check_outputs(notebook):
    outputs = list(_outputs(notebook))
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("skseqattn-explanations" in h and "rgba(" in h for h in html)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the heatmap and the training curves
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "\x1b[" not in text
    assert "held-out accuracy" in text
    return text


def test_notebook_runs_on_surname_files(tmp_path, monkeypatch):
    _write_fake_surnames(tmp_path)
    notebook = _run_notebook(monkeypatch, tmp_path)
    text = _check_outputs(notebook)
    # the 7 + 6 + 7 made-up names of the 3 languages, with 4 prefixes each: all kept
    assert "80 sequences of 3 classes (surnames)" in text
    assert "Could not load" not in text


def test_notebook_falls_back_to_synthetic_data(tmp_path, monkeypatch):
    notebook = _run_notebook(monkeypatch, tmp_path / "nothing here")
    text = _check_outputs(notebook)
    assert "Could not load the surname data (fetch_surnames found no copy" in text
    assert str(tmp_path / "nothing here") in text  # where it looked
    assert "set SKSEQATTN_DATA to a folder that holds names/*.txt" in text
    assert "300 sequences of 2 classes (synthetic first names)" in text


def test_committed_notebook_has_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None
