from desk_shared.contracts.regions import regions


def test_lookup_of_real_codes() -> None:
    r = regions()
    assert r.kecamatan_of("11.13.01").name == "Blangkejeren"
    assert r.regency_of_kecamatan("11.13.01").name == "Kabupaten Gayo Lues"
    assert r.village_of("11.13.01.2001").parent_code == "11.13.01"
    assert r.kecamatan_of("99.99.99") is None
    assert {a.code for a in r.kecamatan_in(frozenset({"11.13"}))} >= {"11.13.01"}
    assert len(r.kecamatan_in(frozenset({"11.13"}))) == 11
