"""The offline check reads real archives: weights inside -> offline; download calls -> not offline."""

import io
import tarfile
import zipfile

from benchmarks.offline_check import check_package, inspect_members, read_members


def make_wheel(path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def make_sdist(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_package_with_weights_and_no_download_runs_offline(tmp_path):
    wheel = tmp_path / "peer-1.0-py3-none-any.whl"
    make_wheel(wheel, {"peer/__init__.py": b"import onnxruntime\n", "peer/data/model.onnx": b"\0" * 60_000})
    check = inspect_members("peer", read_members(wheel))
    assert check.weight_files == ["peer/data/model.onnx (0.1 MB)"]
    assert check.download_evidence == []
    assert "can run offline" in check.verdict


def test_download_call_is_found_with_file_and_line(tmp_path):
    sdist = tmp_path / "peer-2.0.tar.gz"
    code = b"import urllib.request\n\ndef load():\n    urllib.request.urlretrieve(URL, path)\n"
    make_sdist(sdist, {"peer-2.0/peer/models.py": code, "peer-2.0/peer/tests/test_x.py": b"hf_hub_download(x)\n"})
    check = inspect_members("peer", read_members(sdist))
    assert check.download_evidence == ["peer-2.0/peer/models.py:4: urllib.request.urlretrieve(URL, path)"]
    assert "cannot run offline" in check.verdict


def test_commented_out_calls_and_small_files_do_not_count():
    members = {"p/a.py": b"# torch.hub.load_state_dict_from_url(u)\nx = 1\n", "p/tiny.pt": 100}
    check = inspect_members("p", members)
    assert check.download_evidence == [] and check.weight_files == []
    assert "no weights" in check.verdict


def test_check_package_uses_the_cached_archive(tmp_path):
    folder = tmp_path / "peer"
    folder.mkdir()
    make_wheel(folder / "peer-3.1-py3-none-any.whl", {"peer/w.h5": b"\0" * 70_000, "peer/m.py": b"x = 1\n"})
    check = check_package("peer", tmp_path)
    assert check.version == "3.1" and "can run offline" in check.verdict and not check.error
