"""A service-account key that authenticates nobody, for rendering the BigQuery SQL without Google.

dbt-bigquery builds its client from a key before it compiles anything, and `dbt compile --target
bigquery` sends nothing else (no registry lookup unless a call pins an alias), so a well-formed
throwaway key is all CI needs to render and lint the production SQL. Its private key is generated
on the spot and matches no Google account.
"""

from __future__ import annotations

import json
from pathlib import Path

OFFLINE_PROJECT = "dummy-project"


def write_offline_key(path: Path, project: str = OFFLINE_PROJECT) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": "0",
                "private_key": pem,
                "client_email": f"offline@{project}.iam.gserviceaccount.com",
                "client_id": "0",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path
