import pytest

import ubermag_surrogate as us
from ubermag_surrogate import embedded


def test_embedded_can_be_forced(capsys):
    assert us.calculator("embedded") is embedded
    assert "embedded (magnum.np) [requested]" in capsys.readouterr().out


def test_auto_picks_oommf_only_when_oommfc_finds_it(capsys):
    chosen = us.calculator("auto")
    out = capsys.readouterr().out
    if us.oommf_available():
        assert chosen.__name__ == "oommfc"
        assert "OOMMF found" in out
    else:
        assert chosen is embedded
        assert "OOMMF not found" in out


def test_quiet_choice_prints_nothing(capsys):
    us.calculator("embedded", verbose=False)
    assert capsys.readouterr().out == ""


def test_unknown_calculator_is_refused():
    with pytest.raises(ValueError, match="Unknown calculator 'mumax'"):
        us.calculator("mumax")


def test_forcing_oommf_without_oommf_says_so():
    if us.oommf_available():
        pytest.skip("OOMMF is installed here")
    with pytest.raises(RuntimeError, match="cannot find OOMMF"):
        us.calculator("oommf")


@pytest.mark.oommf
def test_forcing_oommf_with_oommf():
    if not us.oommf_available():
        pytest.skip("needs OOMMF (oommfc's runner finds none)")
    assert us.calculator("oommf", verbose=False).__name__ == "oommfc"
