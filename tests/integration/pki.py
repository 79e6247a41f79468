"""Certificates for tests, made with the openssl command line."""
from conftest import run


class Pki:
    """Client certificates made with the openssl CLI, signed by ucedge's
    development CA or by a CA of the test's own."""

    def __init__(self, u, workdir):
        self.u = u
        self.dir = workdir / "pki"
        self.dir.mkdir(exist_ok=True)
        self.dev_ca = (u.data_dir / "tls/dev-ca.pem", u.data_dir / "tls/dev-ca.key")

    def make_ca(self, name):
        key, cert = self.dir / f"{name}.key", self.dir / f"{name}.pem"
        r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        assert r.returncode == 0, r.stderr
        return cert, key

    def make_client(self, name, subject, ca=None, eku="clientAuth", san=None):
        ca_cert, ca_key = ca or self.dev_ca
        key, csr, cert, ext = (self.dir / f"{name}.key", self.dir / f"{name}.csr",
                               self.dir / f"{name}.pem", self.dir / f"{name}.ext")
        lines = ["[v3]", "basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature"]
        if eku:
            lines.append(f"extendedKeyUsage={eku}")
        if san:
            lines.append(f"subjectAltName={san}")
        ext.write_text("\n".join(lines) + "\n")
        r = run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", subject])
        assert r.returncode == 0, r.stderr
        r = run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
                 str(abs(hash(name)) % 10**9), "-days", "30", "-extfile", ext, "-extensions", "v3", "-out", cert])
        assert r.returncode == 0, r.stderr
        return cert, key
