"""Provisioning over TFTP with the clients phones' administrators use:
tftp-hpa's `tftp` and curl's tftp:// (with blksize), and curl -T for the
Report_Rule uploads TFTP allows."""
import hashlib
import os
import subprocess

import pytest
import requests

from conftest import run

SAMPLE = "000e08abcdef"


def tftp_hpa_get(u, name, dest):
    return run(["tftp", "127.0.0.1", str(u.port("tftp")), "-m", "binary", "-c", "get", name, dest])


def curl_get(u, name, blksize=None):
    args = ["curl", "-sS", "--fail"]
    if blksize:
        args += ["--tftp-blksize", str(blksize)]
    r = subprocess.run(args + [f"tftp://127.0.0.1:{u.port('tftp')}/{name}"], capture_output=True, timeout=60)
    return r


def test_tftp_hpa_fetches_the_seed_basic_profile(ucedge, tmp_path):
    dest = tmp_path / "basic.txt"
    r = tftp_hpa_get(ucedge, "basic.txt", dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dest.read_bytes() == (ucedge.data_dir / "prov/basic.txt").read_bytes()


def test_per_mac_profile_over_tftp_is_rendered(ucedge, tmp_path):
    r = curl_get(ucedge, f"CP-7841-3PCC{SAMPLE}.cfg", blksize=1024)
    assert r.returncode == 0, r.stderr
    assert b"CP-7841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://127.0.0.1:" in r.stdout
    assert b"Resync failed: $ERR" in r.stdout


@pytest.mark.parametrize("blksize", [None, 512, 1428, 8192])
def test_firmware_image_streams_intact(ucedge, tmp_path, blksize):
    image = ucedge.data_dir / "prov/firmware/sip78xx.11-0-1MPP.loads"
    image.parent.mkdir(exist_ok=True)
    data = os.urandom(3 * 1024 * 1024 + 17)
    image.write_bytes(data)
    r = curl_get(ucedge, "firmware/sip78xx.11-0-1MPP.loads", blksize=blksize)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(data).hexdigest()


def test_exact_multiple_of_the_block_size(ucedge, tmp_path):
    (ucedge.data_dir / "prov/exact.bin").write_bytes(b"x" * 1024)
    dest = tmp_path / "exact.bin"
    assert tftp_hpa_get(ucedge, "exact.bin", dest).returncode == 0
    assert dest.read_bytes() == b"x" * 1024


@pytest.mark.parametrize("name", ["../ucedge.db", "/../ucedge.db", "prov/../../master.key", "..\\ucedge.db",
                                  "%2e%2e/ucedge.db", "/etc/passwd", "dtaf/./../../ucedge.db"])
def test_path_traversal_is_refused_over_tftp(ucedge, tmp_path, name):
    r = curl_get(ucedge, name)
    assert r.returncode != 0
    assert b"SQLite" not in r.stdout and b"root:" not in r.stdout


def test_missing_file_is_file_not_found(ucedge, tmp_path):
    r = run(["tftp", "127.0.0.1", str(ucedge.port("tftp")), "-m", "binary", "-v", "-c", "get", "nothing.cfg",
             tmp_path / "nothing"])
    assert "File not found" in r.stdout + r.stderr or "Error code 1" in r.stdout + r.stderr


def test_report_upload_goes_to_the_devices_reports_only(ucedge, tmp_path):
    report = tmp_path / "report.xml"
    report.write_text("<flat-profile><GPP_A>from the phone</GPP_A></flat-profile>\n")
    r = run(["curl", "-sS", "--fail", "-T", report, f"tftp://127.0.0.1:{ucedge.port('tftp')}/reports/{SAMPLE}.xml"])
    assert r.returncode == 0, r.stderr
    device = requests.get(ucedge.url("http", f"/api/v1/devices/{SAMPLE}"), auth=ucedge.admin(), timeout=10).json()
    assert device["reports"][0]["transport"] == "tftp"
    got = requests.get(ucedge.url("http", f"/api/v1/devices/{SAMPLE}/reports/{device['reports'][0]['id']}"),
                       auth=ucedge.admin(), timeout=10)
    assert got.content == report.read_bytes()
    # Writes anywhere else are refused, and nothing is created.
    r = run(["curl", "-sS", "--fail", "-T", report, f"tftp://127.0.0.1:{ucedge.port('tftp')}/basic.txt"])
    assert r.returncode != 0
    assert b"from the phone" not in (ucedge.data_dir / "prov/basic.txt").read_bytes()
    r = run(["curl", "-sS", "--fail", "-T", report, f"tftp://127.0.0.1:{ucedge.port('tftp')}/reports/unknown.xml"])
    assert r.returncode != 0


def test_device_with_http_credentials_is_not_served_over_tftp(ucedge):
    r = requests.patch(ucedge.url("http", f"/api/v1/devices/{SAMPLE}"), auth=ucedge.admin(), timeout=30,
                       json={"http_username": "p", "http_password": "secret"})
    assert r.status_code == 200
    assert curl_get(ucedge, f"CP-7841-3PCC{SAMPLE}.cfg").returncode != 0
    assert curl_get(ucedge, "basic.txt").returncode == 0  # files of no device stay open


def test_encrypted_profile_over_tftp_opens_with_openssl(ucedge, tmp_path):
    r = requests.patch(ucedge.url("http", f"/api/v1/devices/{SAMPLE}"), auth=ucedge.admin(), timeout=30,
                       json={"encoding": "aes", "profile_key": "MyOwnSecret"})
    assert r.status_code == 200
    got = curl_get(ucedge, f"CP-7841-3PCC{SAMPLE}.cfg")
    assert got.returncode == 0 and got.stdout.startswith(b"Salted__")
    dec = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-md", "md5", "-k", "MyOwnSecret"],
                         input=got.stdout, capture_output=True, timeout=30)
    assert dec.returncode == 0 and b"<flat-profile>" in dec.stdout
