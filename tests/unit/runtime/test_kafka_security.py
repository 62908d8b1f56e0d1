"""TLS and SASL settings: validated together, and turned into the options every Kafka client
of the services and the ops commands is built with."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from services.runtime.kafka import connection
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings


def test_plaintext_by_default() -> None:
    assert connection(RuntimeSettings(kafka_bootstrap="k:9092")) == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_with_scram_and_a_private_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(_self_signed())
    options = connection(
        RuntimeSettings(
            kafka_bootstrap="broker-1:9096,broker-2:9096",
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="entitle",
            kafka_sasl_password="s3cret",
            kafka_ssl_cafile=ca,
        )
    )
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1
    assert options == {
        "bootstrap_servers": "broker-1:9096,broker-2:9096",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "entitle",
        "sasl_plain_password": "s3cret",
    }


def test_sasl_without_credentials_is_refused_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENTITLE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ENTITLE_KAFKA_SASL_USERNAME", "entitle")
    with pytest.raises(SettingsError) as raised:
        load_settings(RuntimeSettings)
    assert raised.value.problems == [
        "ENTITLE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs ENTITLE_KAFKA_SASL_USERNAME and"
        " ENTITLE_KAFKA_SASL_PASSWORD"
    ]


def test_an_unknown_mechanism_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTITLE_KAFKA_SASL_MECHANISM", "GSSAPI")
    with pytest.raises(SettingsError) as raised:
        load_settings(RuntimeSettings)
    assert raised.value.problems[0].startswith("ENTITLE_KAFKA_SASL_MECHANISM:")


def _self_signed() -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Entitle test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
