"""The shipped aero-init is fully static, with its libraries linked in."""
import json
import os
import struct
import subprocess

import pytest


@pytest.fixture(scope="module")
def static_init():
    path = os.environ.get("AERO_INIT_STATIC")
    if not path:
        pytest.skip("the static build is checked by 'make test' (AERO_INIT_STATIC unset)")
    return path


def test_file_says_statically_linked(static_init):
    out = subprocess.run(["file", "-L", static_init], capture_output=True, text=True).stdout
    assert "statically linked" in out


def test_ldd_says_not_dynamic(static_init):
    r = subprocess.run(["ldd", static_init], capture_output=True, text=True)
    assert "not a dynamic executable" in r.stdout + r.stderr


def test_no_interpreter_segment(static_init):
    """No PT_INTERP program header: the kernel starts it without ld.so."""
    with open(static_init, "rb") as f:
        elf = f.read(4096)
    assert elf[:4] == b"\x7fELF" and elf[4] == 2  # 64-bit
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    types = [struct.unpack_from("<I", elf, phoff + i * phentsize)[0] for i in range(phnum)]
    assert 1 in types  # PT_LOAD: the parsing is right
    assert 3 not in types  # PT_INTERP
    assert 2 not in types  # PT_DYNAMIC


def test_libraries_are_linked_in(static_init):
    r = subprocess.run([static_init, "--build-info"], capture_output=True, text=True, check=True)
    info = json.loads(r.stdout)
    assert info["program"] == "aero-init"
    assert info["linkage"] == "static"
    curl = info["libcurl"]
    assert curl["version"].startswith("7.88.")
    assert curl["tls"].startswith("OpenSSL/")
    assert curl["resolver"] == "c-ares"  # DNS without glibc's NSS modules
    assert "https" in curl["protocols"]
    assert info["cjson"].count(".") == 2
    assert info["libseccomp"].count(".") == 2
    assert info["libcap"]["max_bits"] > 30


def test_runs_with_an_empty_environment_and_no_libraries(static_init, tmp_path):
    """Nothing from the environment is needed to start it (no LD_* paths)."""
    r = subprocess.run(["env", "-i", static_init, "--", static_init, "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("aero-init version")
