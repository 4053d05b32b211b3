"""Which environment variables hold secrets, so that no template can read them where the value
could be printed (a model's SQL, a non-secret setting).

A variable holds a secret when a secret setting of the project (``access_token``, ``password``
…) reads it, or when its name says so (``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, ``*_KEY``…, as
dbt's ``DBT_ENV_SECRET_`` prefix does). The name rule errs on the side of refusing: a model that
needs such a value can take it through ``var()`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from reverse_etl.config.templates import env_names

SECRET_KEYS = frozenset(
    {
        "access_token",
        "password",
        "secret",
        "client_secret",
        "token",
        "private_key",
        "app_secret",
        "dsn",  # a libpq connection string holds its password
    }
)

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASS|CREDENTIAL|PRIVATE|AUTH|COOKIE|SESSION|SIGNATURE|(^|_)(API_?)?KEY(_|$)"
    # a connection string or URL with its credential in it (DATABASE_URL=postgres://u:pw@…,
    # SENTRY_DSN, SLACK_WEBHOOK_URL), and a password spelt short (DB_PWD)
    r"|DSN|PWD|WEBHOOK|(^|_)UR[LI](_|$)|CONN(ECTION)?_?STR(ING)?"
    # personal access tokens, JWTs, credential files and certificates as CI systems name them
    # (GH_PAT, CI_JOB_JWT_V2, GCP_SA_JSON, KUBECONFIG, NPM_RC, DOCKER_CONFIG_JSON, DB_PW)
    r"|(^|_)(PAT|JWT|PW|RC|CREDS|NETRC|BEARER|HMAC)(_|$)|JWT|KUBE_?CONFIG|CONFIG_JSON"
    r"|SA_JSON|SERVICE_?ACCOUNT|KEYSTORE|CERT|SIGNING",
    re.IGNORECASE,
)


# Settings that are secrets by where they sit rather than by their name: a webhook's URL
# carries its credential (Slack's, Teams') in its path. "*" stands for any list index.
SECRET_PATHS: tuple[tuple[str, ...], ...] = (("notify", "*", "url"),)


def is_secret_setting(path: Sequence[str | int]) -> bool:
    """True when the setting at ``path`` (key names and list indexes) holds a secret.

    Nothing under ``vars:`` does, whatever its key is called: models read vars (``var()``),
    so a var named ``password`` holding ``env_var('AWS_SECRET_ACCESS_KEY')`` handed that
    secret to any model of a pull request; such a var may not read a secret variable."""
    if path and path[0] == "vars":
        return False
    last = path[-1] if path else None
    if isinstance(last, str) and last in SECRET_KEYS:
        return True
    return any(
        len(p) == len(path)
        and all(want == "*" or want == str(got) for want, got in zip(p, path, strict=True))
        for p in SECRET_PATHS
    )


def is_secret_name(name: str, declared: Iterable[str] = ()) -> bool:
    """True when the variable ``name`` holds a secret (by its name, or ``declared`` so)."""
    return name in set(declared) or _SECRET_NAME.search(name) is not None


def secret_env_refs(data: Any, path: tuple[str | int, ...] = ()) -> frozenset[str]:
    """The environment variables that the secret settings of a raw YAML tree read."""
    if isinstance(data, dict):
        return frozenset().union(*(secret_env_refs(v, (*path, k)) for k, v in data.items()))
    if isinstance(data, list):
        return frozenset().union(*(secret_env_refs(v, (*path, i)) for i, v in enumerate(data)))
    if isinstance(data, str) and is_secret_setting(path):
        return frozenset(env_names(data))
    return frozenset()


def project_secret_env(files: Iterable[Path]) -> frozenset[str]:
    """The variables that the secret settings of these YAML files read (files that are
    missing or do not parse count for nothing: their own loading reports them)."""
    from reverse_etl.config.yaml_loader import load_yaml
    from reverse_etl.errors import ConfigError

    found: frozenset[str] = frozenset()
    for path in files:
        try:
            loaded = load_yaml(path, required=False)
        except ConfigError:
            continue
        if loaded is not None:
            found |= secret_env_refs(loaded.data)
    return found
