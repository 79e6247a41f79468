"""`ucedge config check` and start-up with bad configuration: every error with
FILE:LINE:COLUMN, non-zero exit, nothing started."""
import pathlib

from conftest import BINARY, run

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_default_config_checks_ok():
    r = run([BINARY, "config", "check", str(ROOT / "etc/ucedge.toml")])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(": OK")


def test_every_error_is_reported_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nthreads = "two"\n\n[http]\nlisten = "somewhere"\nmystery = 1\n'
                   '[tls]\nmin_version = "1.1"\ncipher_suites = ["TLS_NOT_A_SUITE"]\n')
    r = run([BINARY, "config", "check", str(bad)])
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert any(l.startswith(f"{bad}:2:") and "server.threads" in l for l in lines), r.stderr
    assert any(l.startswith(f"{bad}:5:") and "http.listen" in l for l in lines), r.stderr
    assert any(l.startswith(f"{bad}:6:") and "unknown key" in l for l in lines), r.stderr
    assert any(l.startswith(f"{bad}:8:") and "min_version" in l for l in lines), r.stderr
    assert any(l.startswith(f"{bad}:9:") and "TLS_NOT_A_SUITE" in l for l in lines), r.stderr


def test_syntax_error_has_position(tmp_path):
    bad = tmp_path / "syntax.toml"
    bad.write_text("[http]\nlisten = \n")
    r = run([BINARY, "config", "check", str(bad)])
    assert r.returncode == 1
    assert r.stderr.startswith(f"{bad}:2:")


def test_serve_refuses_a_bad_config_before_starting(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[server]\ndata_dir = "{tmp_path}/var"\n[http]\nidle_timeout = "forever"\n')
    r = run([BINARY, "serve", "--config", str(bad)])
    assert r.returncode == 2
    assert f"{bad}:4:" in r.stderr and "http.idle_timeout" in r.stderr
    assert not (tmp_path / "var").exists()


def test_missing_file_is_a_clear_error(tmp_path):
    r = run([BINARY, "config", "check", str(tmp_path / "nope.toml")])
    assert r.returncode == 1
    assert "cannot open the file" in r.stderr


def test_secret_from_environment_overrides_the_file(tmp_path):
    cfg = tmp_path / "pg.toml"
    cfg.write_text('[store]\nbackend = "postgres"\n')
    r = run([BINARY, "config", "check", str(cfg)])
    assert r.returncode == 1 and "postgres_url" in r.stderr
    import os
    env = dict(os.environ, UCEDGE_STORE_POSTGRES_URL="postgresql://u@127.0.0.1:1/db")
    r = run([BINARY, "config", "check", str(cfg)], env=env)
    assert r.returncode == 0, r.stderr
