"""Project files may come from an untrusted pull request: no template in a model,
destinations.yml or retl_project.yml can run code, read a secret, or print one in an error."""

from __future__ import annotations

from pathlib import Path

import pytest

SECRET = "SENTINEL-tok-7f3a9c"  # the value of every secret variable in these tests
PLAIN = "plain-value-51d0e2"  # a variable that holds no secret, read by a model

MODEL = """
{{ config(primary_key='event_id') }}
select 'Purchase' as event, 'e1' as event_id, timestamp '2026-11-30 10:00:00' as event_time,
       'a@example.com' as email
"""

DESTINATIONS = """
destinations:
  shop:
    type: tiktok_events
    model: events
    access_token: "{{ env_var('TIKTOK_ACCESS_TOKEN') }}"
    event_source_id: CPIXEL
"""

ENV = {
    "TIKTOK_ACCESS_TOKEN": SECRET,
    "MY_API_TOKEN": SECRET,
    "RETL_PLAIN": PLAIN,
    "PGPASSWORD": SECRET,
}


def _project(
    make_project,
    root: Path,
    *,
    model: str = MODEL,
    destinations: str = DESTINATIONS,
    project: str | None = None,
) -> Path:
    tree = {"models/events.sql": model, "destinations.yml": destinations}
    if project is not None:
        tree["retl_project.yml"] = project
    return make_project(root, tree)


def _assert_clean(result, root: Path) -> None:
    """Exit 1 with a message, and no secret, env value or command output anywhere."""
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "Traceback" not in text
    for leaked in (SECRET, PLAIN, "uid=", "pwned"):
        assert leaked not in text
    assert not list(root.rglob("pwned*"))
    assert not list(Path.cwd().glob("pwned*"))


# --- models ------------------------------------------------------------------------------

MODEL_ESCAPES = [
    # Jinja's default globals are gone; they were the way to Python's os module
    "{{ cycler.__init__.__globals__.os.popen('touch pwned && id').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch pwned').read() }}",
    "{{ joiner.__init__.__globals__.os.environ }}",
    # the documented helpers have no way in either
    "{{ env_var.__globals__['os'].environ }}",
    "{{ env_var._fn.__globals__['os'].environ }}",
    "{{ ref.__call__.__globals__ }}",
    "{{ config.__self__ }}",
    "{{ range.__globals__['__builtins__'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''|attr('__class__') }}",
    "{{ self._TemplateReference__context }}",
    "{{ var.__init__.__globals__.os.popen('touch pwned').read() }}",
    "{% set x = {} %}{% do x.update(a=1) %}{{ x }}",
]


@pytest.mark.parametrize("expression", MODEL_ESCAPES)
def test_a_model_cannot_reach_python(tmp_path, make_project, cli, monkeypatch, expression):
    monkeypatch.chdir(tmp_path)
    root = _project(make_project, tmp_path / "p", model=f"select {expression} as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "events.sql:1" in result.stdout + result.stderr


def test_helpers_print_as_names_not_their_context(tmp_path, make_project, cli):
    root = _project(make_project, tmp_path, model="select '{{ env_var }} {{ var }}' as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<retl helper env_var()> <retl helper var()>" in result.stdout


@pytest.mark.parametrize(
    "expression",
    [
        "'{{ env_var('TIKTOK_ACCESS_TOKEN') }}'",  # read by destinations.yml's access_token
        "'{{ env_var('MY_API_TOKEN') }}'",  # a secret by its name
        "'{{ env_var('PGPASSWORD', 'x') }}'",
        "{{ {}[env_var('TIKTOK_ACCESS_TOKEN')] }}",
    ],
)
def test_a_model_cannot_read_a_secret(tmp_path, make_project, cli, expression):
    root = _project(make_project, tmp_path, model=f"select {expression} as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "holds a secret" in result.stdout + result.stderr


@pytest.mark.parametrize("command", [("compile",), ("show", "events"), ("validate",)])
def test_a_var_cannot_read_a_plain_named_variable_a_secret_setting_reads(
    tmp_path, make_project, cli, command
):
    """ACCT_X says nothing of a secret, but destinations.yml's access_token reads it: a model
    could not read it with env_var(), yet retl_project.yml's vars could (only that file's
    own secret settings counted there), and a model printed it with var() (a fuzz run)."""
    destinations = DESTINATIONS.replace("TIKTOK_ACCESS_TOKEN", "ACCT_X")
    root = _project(
        make_project,
        tmp_path,
        model="select '{{ var(\"note\") }}' as a",
        destinations=destinations,
        project="name: p\nvars:\n  note: \"{{ env_var('ACCT_X') }}\"\n",
    )
    result = cli(*command, "--project-dir", root, env={**ENV, "ACCT_X": SECRET})
    _assert_clean(result, root)
    said = " ".join((result.stdout + result.stderr).split())
    assert "retl_project.yml:3 vars.note: env_var('ACCT_X') holds a secret" in said
    assert "a secret setting of the project reads ACCT_X too" in said


@pytest.mark.parametrize(
    ("var", "expression"),
    [
        ("password", "{{ var('password').reveal().get_secret_value() }}"),
        ("x: {token", "{{ var('x').token.reveal().get_secret_value() }}"),
    ],
)
def test_a_var_named_like_a_secret_setting_cannot_carry_a_secret_to_a_model(
    tmp_path, make_project, cli, var, expression
):
    """A key under vars: named password or token was taken for a secret setting: it could
    read any secret variable, and a model took it out with var(...).reveal() (an audit)."""
    value = "\"{{ env_var('PGPASSWORD') }}\""
    line = f"  {var}: {value}}}" if var.startswith("x:") else f"  {var}: {value}"
    root = _project(
        make_project,
        tmp_path,
        model=f"select '{expression}' as a",
        project=f"name: p\nvars:\n{line}\n",
    )
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "is not a secret setting" in result.stdout + result.stderr


def test_a_secret_object_is_opaque_to_a_model_however_it_gets_there() -> None:
    """Defence in depth: no attribute or method of a secret, nor var() of one."""
    import jinja2
    from pydantic import SecretStr

    from reverse_etl.models import render

    secret = SecretStr(SECRET)
    template = render._ENV.from_string("{{ s.get_secret_value() }}")
    with pytest.raises(jinja2.exceptions.SecurityError):
        template.render(s=secret)
    assert render._holds_secret({"a": [1, {"b": secret}]})


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_URL",
        "SENTRY_DSN",
        "SLACK_WEBHOOK_URL",
        "DB_PWD",
        "MONGODB_URI",
        "POSTGRES_URL",
        "GH_PAT",
        "CI_JOB_JWT_V2",
        "GCP_SA_JSON",
        "KUBECONFIG",
        "DOCKER_CONFIG_JSON",
        "MYSQL_PW",
    ],
)
def test_a_variable_holding_a_connection_string_or_webhook_is_a_secret(
    tmp_path, make_project, cli, name
):
    """DATABASE_URL=postgres://u:pw@h/d and the like were read by any model (an audit)."""
    root = _project(make_project, tmp_path, model=f"select '{{{{ env_var('{name}') }}}}' as a")
    result = cli("compile", "--project-dir", root, env={**ENV, name: SECRET})
    _assert_clean(result, root)
    assert "holds a secret" in result.stdout + result.stderr


def test_an_env_value_never_reaches_an_error_message(tmp_path, make_project, cli):
    # RETL_PLAIN holds no secret, so a model may read it; an error must not quote it
    root = _project(make_project, tmp_path, model="select {{ {}[env_var('RETL_PLAIN')] }} as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "events.sql:1" in result.stdout + result.stderr


def test_a_model_may_still_read_a_plain_variable(tmp_path, make_project, cli):
    root = _project(make_project, tmp_path, model="select '{{ env_var('RETL_PLAIN') }}' as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert PLAIN in result.stdout


@pytest.mark.parametrize(
    "expression", ["{{ 'a' * 100000000 }}", "{{ [1] * 100000000 }}", "{{ 10 ** 100000000 }}"]
)
def test_a_model_cannot_build_huge_values(tmp_path, make_project, cli, expression):
    root = _project(make_project, tmp_path, model=f"select '{expression}' as a")
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "events.sql:1" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("template", "said"),
    [
        # nested loops: each range is small, their product is not (it ran for hours)
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "steps",
        ),
        ("{% for i in range(100000) %}{{ range(100000)|join }}{% endfor %}", "steps"),
        # a macro that calls itself twice: 2**60 calls
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(60) }}",
            "steps",
        ),
        # widths that take gigabytes at once
        ("{{ 'x'|center(2000000000) }}", "the center filter"),
        ("{{ 'x'.ljust(2000000000) }}", "str.ljust()"),
        ("{{ '%0999999999d' % 1 }}", "the format's widths"),
        ("{{ '%*d' % (999999999, 1) }}", "the format's widths"),
        ("{{ '%*d'|format(999999999, 1) }}", "the format's widths"),
        ("{{ '{:>999999999}'.format(1) }}", "a format width"),
        ("{{ '{:>{w}}'.format(1, w=999999999) }}", "a format width"),
        ("{{ ('{:>999999999}'|attr('format'))(1) }}", "a format width"),
        ("{{ '{x:>999999999}'.format_map({'x': 1}) }}", "a format width"),
        ("{{ ('x' * 1000).replace('x', 'y' * 2000) }}", "str.replace()"),
        ("{{ ('x' * 1000)|replace('x', 'y' * 2000) }}", "the replace filter"),
        ("{{ 'x'|indent(2000000) }}", "the indent filter"),
        ("{{ ('x\\n' * 1000)|indent(2000) }}", "the indent filter"),
        ("{{ ('x' * 2000).join(['a'] * 1000) }}", "str.join()"),
        ("{{ (['a'] * 1000)|join('x' * 2000) }}", "the join filter"),
        # found in review: what the first version of these limits let through
        ("{% set b = 'x' * 800000 %}{% for i in range(60000) %}{{ b }}{% endfor %}", "SQL would"),
        ("{% set s = 'x' %}" + "{% set s = s ~ s %}" * 28, "steps"),
        ("{{ ''.join(['x' * 900000] * 300) }}", "repeating a value 300 times"),
        ("{{ 'x'.encode() * 300000000 }}", "repeating a value"),
        ("{{ '%300000000d'.encode() % 1 }}", "the format's widths"),
        ("{{ ('{:>300000000}'|safe).format(1) }}", "a format width"),
        ("{{ ('x' * 1000).translate({120: 'y' * 300000}) }}", "str.translate()"),
        ("{{ ('\\t' * 1000).expandtabs(tabsize=300000) }}", "expandtabs"),
        ("{{ 'x'|center(width=300000000) }}", "the center filter"),
        ("{{ ('x' * 100000)|wordwrap(1, true, 'x' * 300000) }}", "the wordwrap filter"),
        ("{{ [1]|batch(30000000, 0)|list }}", "the batch filter"),
        ("{{ [1]|slice(3000000)|list }}", "the slice filter"),
        ("{{ ([[0] * 1000] * 1000)|sum(start=[]) }}", "steps"),
        ("{{ ([[0] * 100] * 100)|sum(start=[]) }}", "steps"),  # each + copies the sum so far
        (
            "{% set leaf = [0] * 1000 %}{% set top = [[leaf] * 30] * 30 %}"
            "{% for x in top recursive %}{% if x is sequence %}{{ loop(x) }}{% endif %}"
            "{% endfor %}",
            "steps",
        ),
        # found in a second review: aliased containers, numbers, captured blocks, codecs...
        ("{% set a = [[[0] * 1000] * 1000] * 100 %}{{ a == a }}", "steps"),
        (
            "{% set a = [[0] * 1000] * 1000 %}{% for i in range(3) %}{{ a == a }}{% endfor %}",
            "steps",
        ),
        ("{% set x = ('%999999d' * 300) % ((1,) * 300) %}", "the format's widths"),
        ("{% set x = 10 ** 200000 %}{% set y = x * x * x * x * x * x %}", "steps"),
        ("{% set x = 10 ** 2000000 %}{{ (x // (10 ** 1000000 + 1)) > 0 }}", "steps"),
        ("{{ (1).to_bytes(300000000, 'big')|length }}", "int.to_bytes()"),
        ("{{ range(300)|list|tojson(indent=1000000) }}", "tojson's indent"),
        (
            "{% set b = 'x' * 900000 %}{% set s %}{% for i in range(330) %}{{ b }}{% endfor %}"
            "{% endset %}",
            "a captured block",
        ),
        ("{{ 'abc'.encode('punycode') }}", "'punycode' encoding"),
        ("{{ (['a'] * 3000)|map(attribute='0.' * 150000)|list }}", "an attribute path"),
        ("{% set r = range(100000) %}{% for i in range(100) %}{{ 'a' in r }}{% endfor %}", "steps"),
        (
            "{% set b = '\\n' * 500000 %}{% for i in range(1000) %}{{ b.splitlines()|length }}"
            "{% endfor %}",
            "steps",
        ),
    ],
)
def test_a_model_template_cannot_run_away(tmp_path, make_project, cli, template, said):
    """Found by fuzzing: only each range() and each * was bounded."""
    root = _project(make_project, tmp_path, model=f"select 1 as a -- {template}")
    result = cli("compile", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    text = " ".join((result.stdout + result.stderr).split())
    # the output's length is known only once the template is done: no line for it
    assert ("events.sql:" if said == "SQL would" else "events.sql:1:") in text and said in text


def test_loops_formats_and_macros_of_a_real_model_still_render(tmp_path, make_project, cli):
    model = """select 1 as a
-- {% for c in 'abc' %}{{ loop.index }}/{{ loop.length }}{{ '!' if loop.last }}{% endfor %}
-- {% for i in range(3) %}{% for j in range(2) %}{{ i * j }}{% endfor %}{% else %}none{% endfor %}
-- {% macro col(n) %}{{ '%s_%02d' % ('c', n) }}{% endmacro %}{{ col(7) }}
-- {{ '{:>4}|{x}'.format(7, x='q') }} {{ '{a}'.format_map({'a': 1}) }} {{ '%s-%s'|format(1, 2) }}
-- {{ 'a b'|replace(' ', '_') }} {{ ['a', 'b']|join(', ') }} {{ 'ab'|center(6) }}|
-- {{ 'where id > %d' % 20000000 }} {{ "d like '%%2024%%' and x = %s" % 1 }} {{ '%*d' % (3, 7) }}
-- {{ 'select * from t where ts > %s'|format(1700000000) }} {{ [[1], [2]]|sum(start=[]) }}
-- {% set __retl_counted = {'a': range(1000)|list}.get %}{% for x in 'ab' %}{{ x }}{% endfor %}
-- {% for x in [[1, [2]], [3, []]] recursive %}{{ x[0] if x is sequence else x }}{% endfor %}
"""
    root = _project(make_project, tmp_path, model=model)
    result = cli("compile", "--project-dir", root, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "-- 1/32/33/3!",
        "-- 000102",
        "-- c_07",
        "--    7|q 1 1-2",
        "-- a_b a, b   ab  |",
        "-- where id > 20000000 d like '%2024%' and x = 1   7",
        "-- select * from t where ts > 1700000000 [1, 2]",
        "-- ab",
        "-- 13",
    ):
        assert line in result.stdout


# --- destinations.yml ------------------------------------------------------------------------


def _destinations(value: str, key: str = "event_source_id") -> str:
    lines = DESTINATIONS.replace("    event_source_id: CPIXEL\n", "")
    return lines + f'    {key}: "{value}"\n'


YAML_ESCAPES = [
    "{{ lipsum.__globals__['os'].popen('touch pwned').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}",
    "{{ {}[env_var('TIKTOK_ACCESS_TOKEN')] }}",
    "{{ env_var('RETL_PLAIN') | upper }}",
    "{% if true %}x{% endif %}",
    "{{ env_var('RETL_PLAIN').__class__ }}",
    "{{ env_var(\\\"RETL_PLAIN\\\" ~ 'X') }}",
]


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize("value", YAML_ESCAPES)
def test_destinations_yml_takes_only_env_var_and_var(
    tmp_path, make_project, cli, monkeypatch, command, value
):
    monkeypatch.chdir(tmp_path)
    root = _project(make_project, tmp_path / "p", destinations=_destinations(value))
    result = cli(command, "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    out = result.stdout + result.stderr
    assert "destinations.yml:6" in out
    assert "destinations.shop.event_source_id" in out
    assert "env_var('NAME')" in out  # the fix: what is allowed


@pytest.mark.parametrize("default", ["4", "true"])
def test_an_unquoted_env_var_default_is_said_to_need_quotes(tmp_path, make_project, cli, default):
    # dbt takes env_var('NAME', 4); it was refused as "a value may hold only env_var() and
    # var() calls", which it does.
    value = "{{ env_var('RETL_THREADS', " + default + ") }}"
    root = _project(make_project, tmp_path, destinations=_destinations(value, "thread_count"))
    result = cli("validate", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    out = result.stdout + result.stderr
    assert "destinations.shop.thread_count" in out
    assert "env_var()'s default is text: quote it (env_var('NAME', '4')" in out
    assert "may hold only" not in out


def test_an_unquoted_default_of_a_secret_is_not_quoted_back(tmp_path, make_project, cli):
    """A token written unquoted as a secret's default is refused without being printed (the
    message once quoted the default back, the token with it)."""
    token = "EAAB7xkQ93ZBunquotedDefaultToken4242"
    value = "{{ env_var('MY_UNSET_TOKEN', " + token + ") }}"
    dests = DESTINATIONS.replace("{{ env_var('TIKTOK_ACCESS_TOKEN') }}", value)
    assert token in dests
    root = _project(make_project, tmp_path, destinations=dests)
    for fmt in ("text", "json"):
        result = cli("validate", "--project-dir", root, "--format", fmt, env=ENV)
        _assert_clean(result, root)
        out = result.stdout + result.stderr
        assert "destinations.shop.access_token" in out
        assert "env_var()'s default is text" in out
        assert token not in out


def test_a_secret_variable_cannot_go_into_a_plain_setting(tmp_path, make_project, cli):
    dests = _destinations("{{ env_var('TIKTOK_ACCESS_TOKEN') }}")
    root = _project(make_project, tmp_path, destinations=dests)
    result = cli("plan", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "holds a secret" in result.stdout + result.stderr


def test_a_bad_template_under_a_secret_key_is_refused_before_any_use(tmp_path, make_project, cli):
    dests = DESTINATIONS.replace(
        "{{ env_var('TIKTOK_ACCESS_TOKEN') }}", "{{ env_var('TIKTOK_ACCESS_TOKEN')|reverse }}"
    )
    root = _project(make_project, tmp_path, destinations=dests)
    result = cli("validate", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    assert "destinations.shop.access_token" in result.stdout + result.stderr


def test_a_secret_setting_cannot_read_a_var_which_every_model_can_read(tmp_path, make_project, cli):
    # The model would print it ('{{ var("tt_token") }}' as a column), and --vars values sit
    # in shell histories and CI logs.
    dests = DESTINATIONS.replace("{{ env_var('TIKTOK_ACCESS_TOKEN') }}", "{{ var('tt_token') }}")
    root = _project(make_project, tmp_path, destinations=dests)
    for command in ("validate", "plan", "sync"):
        result = cli(
            command, "--project-dir", root, "--vars", "{tt_token: TTokSECRETVAR123}", env=ENV
        )
        _assert_clean(result, root)
        out = result.stdout + result.stderr
        assert "destinations.shop.access_token" in out
        assert "reads var('tt_token'), which every model can read" in out
        assert "env_var(" in out
        assert "TTokSECRETVAR123" not in out


def test_every_template_problem_of_a_file_at_once(tmp_path, make_project, cli):
    dests = _destinations("{{ lipsum }}") + '    test_event_code: "{{ cycler }}"\n'
    root = _project(make_project, tmp_path, destinations=dests)
    result = cli("validate", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    out = result.stdout + result.stderr
    assert "event_source_id" in out
    assert "test_event_code" in out


def test_env_var_default_and_var_still_work(tmp_path, make_project, cli):
    dests = _destinations("{{ env_var('RETL_UNSET_X', 'CPIX') }}-{{ var('suffix') }}")
    root = _project(
        make_project,
        tmp_path,
        destinations=dests,
        project="vars:\n  suffix: '7'\n",
    )
    result = cli("plan", "--project-dir", root, "--format", "json", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CPIX-7" in result.stdout


# --- retl_project.yml ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}",
        "{{ var('x') }}",
        "{{ env_var('PGPASSWORD') }}",
    ],
)
def test_retl_project_yml_takes_only_env_var(tmp_path, make_project, cli, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    project_yml = f'state:\n  path: "{value}"\n'
    root = _project(make_project, tmp_path / "p", project=project_yml)
    result = cli("validate", "--project-dir", root, env=ENV)
    _assert_clean(result, root)
    out = result.stdout + result.stderr
    assert "retl_project.yml:2" in out
    assert "state.path" in out


@pytest.mark.slow
def test_the_cli_boundary_holds_in_a_real_process(tmp_path, make_project, run_cli):
    """The same escape through the installed entry point: nothing runs, exit 1."""
    dests = _destinations("{{ lipsum.__globals__['os'].popen('touch pwned').read() }}")
    root = _project(
        make_project,
        tmp_path,
        destinations=dests,
        model="select {{ cycler.__init__.__globals__.os.popen('id').read() }}",
    )
    for command in ("compile", "validate"):
        result = run_cli(command, "--project-dir", root, cwd=root, env=ENV)
        _assert_clean(result, root)
