"""A throwaway certificate authority, a server certificate and an NSS db.

Chromium acts on 103 Early Hints only over a certificate it trusts (with
``ignore_https_errors`` the hinted responses are not reused), so the tests
sign the server certificate with their own CA and trust that CA in an NSS
database under a temporary ``HOME`` that Chromium is started with.

Built with the ``openssl`` and ``certutil`` command-line tools, which the
e2e setup installs anyway, rather than a Python crypto package the project
would otherwise not need.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from .parts import find_binary

# Short-lived certificates: they only need to outlive one test session.
_DAYS = "7"
# P-256 keys are generated in milliseconds, RSA keys take far longer.
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class CertificateAuthority:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ServerCertificate:
    cert: Path
    key: Path
    ca: CertificateAuthority


@dataclass(frozen=True)
class Pki:
    """Everything :func:`throwaway_pki` made; *home* is a HOME for Chromium."""

    ca: CertificateAuthority
    server: ServerCertificate
    home: Path


def make_ca(
    directory: Path, *, common_name: str = "Flask-Push-Templates e2e CA"
) -> CertificateAuthority:
    """Create a self-signed CA certificate and key in *directory*."""
    openssl = find_binary("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    # An explicit config, so the system openssl.cnf cannot add or clash
    # with extensions.
    config = directory / "ca.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n"
        f"[dn]\nCN = {common_name}\n"
        "[v3_ca]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n"
    )
    ca = CertificateAuthority(directory / "ca.pem", directory / "ca.key")
    _run([openssl, "req", "-x509", "-config", str(config), *_KEY, "-days", _DAYS,
          "-keyout", str(ca.key), "-out", str(ca.cert)])  # fmt: skip
    return ca


def make_server_certificate(
    ca: CertificateAuthority,
    directory: Path,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
) -> ServerCertificate:
    """Create a server certificate for *hosts* (names or IPs) signed by *ca*."""
    openssl = find_binary("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    # Browsers match only subjectAltName, never the CN.
    alt_names = ", ".join(("IP:" if _is_ip(h) else "DNS:") + h for h in hosts)
    config = directory / "server.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n"
        f"[dn]\nCN = {hosts[0]}\n"
        "[v3_server]\nbasicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
        f"subjectAltName = {alt_names}\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
    )
    server = ServerCertificate(directory / "server.pem", directory / "server.key", ca)
    request = directory / "server.csr"
    _run([openssl, "req", "-new", "-config", str(config), *_KEY,
          "-keyout", str(server.key), "-out", str(request)])  # fmt: skip
    _run([openssl, "x509", "-req", "-in", str(request), "-CA", str(ca.cert),
          "-CAkey", str(ca.key), "-CAcreateserial", "-days", _DAYS,
          "-extfile", str(config), "-extensions", "v3_server",
          "-out", str(server.cert)])  # fmt: skip
    return server


def make_nss_home(ca: CertificateAuthority, home: Path, *, nickname: str = "e2e-test-ca") -> Path:
    """Make *home* a HOME whose NSS db (``.pki/nssdb``) trusts *ca*; return it.

    Chromium on Linux reads user-added trust anchors from ``$HOME/.pki/nssdb``.
    """
    certutil = find_binary("certutil")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    db = f"sql:{nssdb}"
    _run([certutil, "-d", db, "-N", "--empty-password"])
    # "C,,": a trusted CA for TLS server certificates only.
    _run([certutil, "-d", db, "-A", "-t", "C,,", "-n", nickname, "-i", str(ca.cert)])
    return home


@contextlib.contextmanager
def throwaway_pki(hosts: Sequence[str] = ("localhost", "127.0.0.1")) -> Iterator[Pki]:
    """Make a CA, a server certificate for *hosts* and a trusting HOME; delete on exit."""
    directory = Path(tempfile.mkdtemp(prefix="e2e-pki-"))
    try:
        ca = make_ca(directory / "ca")
        server = make_server_certificate(ca, directory / "server", hosts=hosts)
        home = make_nss_home(ca, directory / "home")
        yield Pki(ca, server, home)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} failed with status {result.returncode}: {' '.join(argv)}\n"
            f"{result.stdout}{result.stderr}"
        )
