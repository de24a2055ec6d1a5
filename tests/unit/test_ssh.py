import shlex
import stat
from pathlib import Path

import pytest

from progress_card.compute.slurm.ssh import SshClient, SshSettings
from progress_card.errors import SshConfigError

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n-----END OPENSSH PRIVATE KEY-----\n"


def test_host_keys_are_always_checked_and_the_script_goes_on_stdin() -> None:
    argv = SshClient(environ={}).argv(SshSettings(host="login.example", user="gen", port=2222))
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"]
    assert "StrictHostKeyChecking=yes" in argv
    assert not any("StrictHostKeyChecking=no" in part or "accept-new" in part for part in argv)
    assert argv[-7:] == ["-p", "2222", "-l", "gen", "--", "login.example", "sh -l -s"]


def test_key_material_from_the_environment_goes_to_a_private_file_never_the_command_line() -> None:
    with SshClient(
        environ={"SSH_PRIVATE_KEY": KEY, "SSH_KNOWN_HOSTS": "login.example ssh-ed25519 AAAA\n"}
    ) as client:
        argv = client.argv(SshSettings(host="login.example"))
        key = Path(argv[argv.index("-i") + 1])
        known_hosts = Path(
            next(part for part in argv if part.startswith("UserKnownHostsFile=")).split("=", 1)[1]
        )
        assert key.read_text() == KEY and known_hosts.read_text() == "login.example ssh-ed25519 AAAA\n"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
        assert not any("secret-key-material" in part for part in argv)
    assert not key.exists() and not key.parent.exists()


def test_named_variables_must_be_set() -> None:
    settings = SshSettings(host="login.example", key_env="CLUSTER_KEY")
    with pytest.raises(SshConfigError, match="environment variable CLUSTER_KEY"):
        SshClient(environ={}).argv(settings)


def test_a_bastion_is_reached_with_the_same_strict_options() -> None:
    settings = SshSettings(
        host="node.internal", known_hosts=Path("/keys/known_hosts"), proxy_jump="me@gate.example:2200"
    )
    argv = SshClient(environ={}).argv(settings)
    proxy = shlex.split(
        next(part for part in argv if part.startswith("ProxyCommand=")).removeprefix("ProxyCommand=")
    )
    assert proxy[0] == "ssh" and proxy[-4:] == ["-l", "me", "--", "gate.example"]
    assert "StrictHostKeyChecking=yes" in proxy and "UserKnownHostsFile=/keys/known_hosts" in proxy
    assert proxy[proxy.index("-W") + 1] == "%h:%p" and proxy[proxy.index("-p") + 1] == "2200"


@pytest.mark.parametrize(
    "settings",
    [
        SshSettings(host="-oProxyCommand=touch /tmp/x"),
        SshSettings(host="login.example;id"),
        SshSettings(host="login.example", user="root -oX"),
        SshSettings(host="login.example", proxy_jump="gate;id"),
        SshSettings(host="login.example", key_env="A B"),
        SshSettings(host="login.example", key_file=Path("/keys/%h")),
    ],
)
def test_values_that_could_become_options_or_shell_are_refused(settings: SshSettings) -> None:
    with pytest.raises(SshConfigError):
        SshClient(environ={}).argv(settings)
