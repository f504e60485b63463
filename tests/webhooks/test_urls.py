"""URL policy: http(s) to public hosts only, every resolved address checked, unless private is allowed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.webhooks import check_url
from pipelines.webhooks.urls import Resolver, UnresolvableHostError


def resolver(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"Name or service not known: {host}")
        return table[host]

    return resolve


PUBLIC = resolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://127.1.2.3/"],
)
def test_loopback_is_refused_by_default_and_allowed_with_the_flag(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="private, loopback or reserved"):
        check_url(url)
    target = check_url(url, allow_private=True)
    assert all(a.is_loopback for a in target.addresses)


@pytest.mark.parametrize(
    "host",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata (link-local)
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "[fc00::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "[::ffff:10.0.0.1]",
        "2130706433",  # 127.0.0.1 spelled as one number
    ],
)
def test_private_and_reserved_addresses_are_refused(host: str) -> None:
    with pytest.raises(InvalidRequestError, match="private, loopback or reserved"):
        check_url(f"https://{host}/hook")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("file:///etc/passwd", "http or https"),
        ("ftp://hooks.example.com/x", "http or https"),
        ("gopher://hooks.example.com/", "http or https"),
        ("hooks.example.com/hook", "http or https"),
        ("http:///nohost", "no host"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("http://hooks.example.com:99999/", "malformed"),
        ("https://hooks.example.com/" + "a" * 2000, "longer than"),
        ("   ", "non-empty"),
    ],
)
def test_malformed_urls_and_other_schemes_are_refused(url: str, match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        check_url(url, resolver=PUBLIC)


def test_public_host_is_accepted_with_every_address() -> None:
    target = check_url("https://Hooks.Example.com/tradeforge?x=1", resolver=PUBLIC)
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 443)
    assert [str(a) for a in target.addresses] == ["93.184.216.34", "2606:2800:220:1::1"]
    assert check_url("http://93.184.216.34:8080/").port == 8080


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    mixed = resolver({"hooks.example.com": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(InvalidRequestError, match=r"10\.0\.0\.7"):
        check_url("https://hooks.example.com/", resolver=mixed)


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnresolvableHostError, match="does not resolve"):
        check_url("https://nowhere.invalid/", resolver=PUBLIC)
