"""The block list remembers each track's verdict: hundreds of rules must not cost every
rule against every track at each library check (the core holds its lock meanwhile)."""

from __future__ import annotations

from types import SimpleNamespace

from kiosk.library import blocklist as bl_mod
from kiosk.library.blocklist import BlockList


def tracks(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(path=f"/m/bg/{i:03d}.ogg", title=f"Tune {i}", artist=f"Band {i % 5}")
            for i in range(n)]  # fmt: skip


def test_verdicts_are_remembered_and_follow_rule_changes(tmp_path, monkeypatch):
    bl = BlockList(tmp_path / "b.json")
    for i in range(300):
        bl.add("pattern", f"*nothing{i}*")
    lib = tracks(200)
    calls = [0]
    real = bl_mod.matches

    def counting(*a):
        calls[0] += 1
        return real(*a)

    monkeypatch.setattr(bl_mod, "matches", counting)
    assert len(bl.allowed(lib)) == 200
    calls[0] = 0
    for _ in range(5):  # five library checks
        assert len(bl.allowed(lib)) == 200
    assert calls[0] == 0
    bl.add("artist", "band 1")  # one new rule: one look per remembered track
    assert calls[0] <= 200
    assert [t.title for t in bl.allowed(lib)][:3] == ["Tune 0", "Tune 2", "Tune 3"]
    assert bl.blocked(lib[1]) and not bl.blocked(lib[0])
    renamed = SimpleNamespace(path=lib[0].path, title="Tune 0", artist="Band 1")  # new tags
    assert bl.blocked(renamed)
    assert bl.remove("artist", "band 1")
    assert len(bl.allowed(lib)) == 200 and not bl.blocked(renamed)
    bl.reseed([bl_mod.BlockEntry(pattern="tune 4*")])
    assert not bl.blocked(lib[3]) and bl.blocked(lib[4]) and bl.blocked(lib[45])
