"""deploy/ stays true: the env example lists exactly the settings the code reads, nginx accepts the site, the
site's body limit is the app's, and the systemd units run commands the CLI has."""

from __future__ import annotations

import ast
import configparser
import datetime
import importlib
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "vreception.env.example"
SITE = DEPLOY / "nginx" / "vreception.conf"
PACKAGES = ("vreception", "scheduling", "signaling", "recordings", "web")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def settings_classes() -> list[type[BaseSettings]]:
    """Every pydantic-settings class in the five packages (found in the source, so a new one cannot hide)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and any(
                        (isinstance(b, ast.Name) and b.id == "BaseSettings")
                        or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings") for b in node.bases):
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    found.append(getattr(importlib.import_module(module), node.name))
    return found


def setting_names() -> set[str]:
    names = set()
    for cls in settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        names |= {f"{prefix}{name}".upper() for name in cls.model_fields}
    return names


def listed(text: str) -> list[str]:
    """The variables the example assigns, set or commented out as '#NAME=value'."""
    return re.findall(r"^#?(VRECEPTION_[A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_env_example_lists_every_setting_and_nothing_else():
    names = setting_names()
    assert {"VRECEPTION_SECRET_KEY", "VRECEPTION_TURN_SECRET", "VRECEPTION_SMS_GATEWAY"} <= names
    found = listed(ENV_EXAMPLE.read_text(encoding="utf-8"))
    assert len(found) == len(set(found)), "a variable is listed twice"
    assert sorted(names - set(found)) == [], "settings missing from deploy/vreception.env.example"
    assert sorted(set(found) - names) == [], "the example lists variables no setting reads"


def test_env_example_loads_as_a_production_configuration(monkeypatch):
    from vreception import turn
    from vreception.config import Settings
    from vreception.sms.settings import SmsSettings

    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE)
    assert settings.is_production and settings.cookie_secure and settings.database_url.startswith("postgresql")
    assert settings.trusted_proxies == ["127.0.0.1"] and settings.recording_storage == "s3"
    relay = turn.relay_from(settings)
    assert relay is not None and len(relay.urls) == 3 and relay.urls[2].startswith("turns:")
    assert SmsSettings(_env_file=ENV_EXAMPLE).gateway == "smpp"
    # The placeholders are refused in production: nobody runs the example's secret by mistake.
    from vreception.config import InsecureConfiguration

    with pytest.raises(InsecureConfiguration):
        settings.check_production()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reception.example.gov.cn")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_nginx_accepts_the_site(tmp_path):
    if not Path(NGINX).exists():
        message = "nginx is not installed: `make test` installs Debian's nginx"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cert, key = _self_signed(tmp_path)
    site = SITE.read_text().replace("/etc/ssl/vreception/fullchain.pem", str(cert)) \
        .replace("/etc/ssl/vreception/privkey.pem", str(key))
    assert str(cert) in site and str(key) in site
    (tmp_path / "vreception.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path / 'nginx.pid'};
error_log {tmp_path / 'error.log'};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {tmp_path / 'vreception.conf'};
}}
""")
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                           "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr and "test is successful" in done.stderr
    # A broken site is refused: the check can fail.
    (tmp_path / "vreception.conf").write_text(site.replace("client_max_body_size 201m;", "client_max_body_size;"))
    broken = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=30)
    assert broken.returncode != 0


def _location(site: str, pattern: str) -> str:
    """The body of the location block whose header matches PATTERN."""
    match = re.search(r"location\s+" + pattern + r"\s*\{(.*?)\n    \}", site, flags=re.DOTALL)
    assert match, pattern
    return match.group(1)


def test_site_bounds_bodies_like_the_app_and_upgrades_the_call_socket():
    from vreception.config import Settings
    from vreception.tasks import MAX_ATTACHMENTS
    from web.limits import MAX_TEXT_BODY, MULTIPART_OVERHEAD

    site = SITE.read_text()
    size = re.search(r"client_max_body_size\s+(\d+)([kmg]?);", site)
    assert size, "no client_max_body_size"
    factor = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[size.group(2)]
    # The largest body the app itself accepts (an upload of the most attachments): nginx must not refuse first
    # (its 413 is an English page, the app's is a Chinese message with a code).
    largest = Settings(_env_file=None).max_upload_bytes * MAX_ATTACHMENTS + MULTIPART_OVERHEAD
    assert int(size.group(1)) * factor == largest > MAX_TEXT_BODY
    ws = _location(site, r"/ws/")
    assert "proxy_set_header Upgrade $http_upgrade;" in ws and "proxy_set_header Connection $connection_upgrade;" in ws
    assert re.search(r"proxy_read_timeout\s+1h;", ws)
    assert "alias /opt/vreception/static/;" in _location(site, r"/static/")
    for header in ("Host $host", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in site
    assert re.search(r"listen 443 ssl", site) and "return 301 https://" in site


@pytest.mark.parametrize("unit", ["vreception-front@.service", "vreception-media-worker@.service"])
def test_systemd_units_run_commands_the_cli_has(unit):
    from vreception.cli import parser

    config = configparser.ConfigParser(strict=False, interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config.read(DEPLOY / "systemd" / unit)
    service = config["Service"]
    assert service["EnvironmentFile"] == "/etc/vreception/vreception.env"
    assert service["User"] == "vreception" and service["Restart"] == "always"
    argv = shlex.split(service["ExecStart"].replace("%i", "8001").replace("%H", "media1"))
    assert argv[0] == "/opt/vreception/venv/bin/vreception"
    args = parser().parse_args(argv[1:])
    expected = {"vreception-front@.service": "cmd_serve", "vreception-media-worker@.service": "cmd_media_worker"}
    assert args.func.__name__ == expected[unit]
    assert config["Install"]["WantedBy"] == "multi-user.target"
