"""Device syslog as phones send it, with util-linux `logger` playing the
phone: the resync messages become each device's last request, result and
error, kept across a restart."""
import time

import requests

from conftest import run


def api(u, path):
    return requests.get(u.url("http", path), auth=u.admin(), timeout=30)


def logger(u, message, rfc="--rfc3164"):
    r = run(["logger", rfc, "-d", "-n", "127.0.0.1", "-P", str(u.port("syslog")), "-t", "phone", message])
    assert r.returncode == 0, r.stderr


def resync_state(u, mac="000e08abcdef", want=lambda s: True, timeout=5.0):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = api(u, f"/api/v1/devices/{mac}").json()["resync"]
        if state and want(state):
            return state
        time.sleep(0.1)
    return state


def test_resync_messages_become_the_devices_state(ucedge):
    logger(ucedge, "CP-7841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt")
    s = resync_state(ucedge, want=lambda s: s["last_request_url"])
    assert s["last_request_url"] == "tftp://192.168.1.200/basic.txt" and s["last_request_at"]
    assert s["last_address"] == "127.0.0.1"
    logger(ucedge, "CP-7841-3PCC 00:0e:08:ab:cd:ef -- Successful resync tftp://192.168.1.200/basic.txt", "--rfc5424")
    s = resync_state(ucedge, want=lambda s: s["last_result"] == "success")
    assert s["last_result"] == "success" and s["last_result_url"] == "tftp://192.168.1.200/basic.txt"
    logger(ucedge, "CP-7841-3PCC 00:0e:08:ab:cd:ef Resync failed: file not found")
    s = resync_state(ucedge, want=lambda s: s["last_result"] == "failure")
    assert s["last_result"] == "failure" and s["last_error"] == "file not found"


def test_state_survives_a_restart_and_unknown_devices_are_ignored(start_ucedge):
    u = start_ucedge()
    logger(u, "CP-7841-3PCC 000E08ABCDEF -- Successful resync http://x/y.cfg")
    logger(u, "CP-7841-3PCC 00:0e:08:99:99:99 -- Successful resync http://x/z.cfg")
    assert resync_state(u, want=lambda s: s["last_result"] == "success")["last_result_url"] == "http://x/y.cfg"
    metrics = requests.get(u.url("http", "/metrics"), timeout=10).text
    assert "ucedge_prov_syslog_unknown_device_total 1" in metrics
    assert u.stop() == 0
    u.start()
    s = api(u, "/api/v1/devices/000e08abcdef").json()["resync"]
    assert s["last_result"] == "success" and s["last_result_url"] == "http://x/y.cfg"
