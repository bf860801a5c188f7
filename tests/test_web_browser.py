"""``zeroleague serve`` in a real browser: Debian's chromium driven by selenium (headless).

The tests start the server as a subprocess (``python -m zeroleague serve``), then by clicking: play a full 9x9
Go game and a full 6 nimmt! round, watch a short match, and open a stored game and an SGF file; screenshots go to
``docs/screenshots/`` (``ZEROLEAGUE_SCREENSHOTS`` overrides; the README shows two of them). They skip cleanly
where chromium, chromedriver or selenium are missing; ``.ci/run`` installs them and runs this file with
``-m slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("ZEROLEAGUE_SCREENSHOTS", ROOT / "docs" / "screenshots"))

webdriver = pytest.importorskip("selenium.webdriver")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(f"chromium/chromedriver not installed ({CHROMIUM}, {CHROMEDRIVER})", allow_module_level=True)

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A results store with one 9x9 Go tournament (2 games) written by the harness."""
    from zeroleague.agents.registry import make_agent
    from zeroleague.envs.registry import make_game
    from zeroleague.leagues.harness import play_match
    from zeroleague.leagues.store import ResultStore, pairing_key

    path = tmp_path_factory.mktemp("store") / "results.db"
    st = ResultStore(path)
    game = make_game("go_v0", board_size=9)
    st.register_tournament("demo9", {"env": "go_v0", "env_kwargs": {"board_size": 9}, "seed": 1})
    res = play_match(game, make_agent("random", game, seed=1), make_agent("az_uniform:sims=4", game, seed=2), 2, 1)
    for rec in res.records:
        st.add_game("demo9", pairing_key("random", "az_uniform:sims=4"), "go_v0", rec)
    st.close()
    return path


@pytest.fixture(scope="module")
def server(store):
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = open(store.parent / "server.log", "w")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "zeroleague", "serve", "--port", str(port), "--db", str(store)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited: {(store.parent / 'server.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the server did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="zeroleague-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1400,950"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as e:  # a broken browser install: skip rather than fail the suite
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium could not be started: {e}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, server, tab: str):
    browser.get(server + "/")
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    browser.find_element(By.ID, f"tab-{tab}").click()


def _draws(browser) -> int:
    return int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-draws") or 0)


def _click_and_wait(browser, element, timeout: float = 60) -> None:
    """Click and wait until the page has drawn the server's answer (or shown a message)."""
    body = browser.find_element(By.TAG_NAME, "body")
    draws, msgs = _draws(browser), body.get_attribute("data-messages")
    element.click()
    WebDriverWait(browser, timeout).until(
        lambda d: _draws(d) > draws or body.get_attribute("data-messages") != msgs
    )


def _set(browser, element_id: str, value: str) -> None:
    e = browser.find_element(By.ID, element_id)
    e.clear()
    e.send_keys(value)


def _over(browser) -> bool:
    return browser.find_element(By.ID, "result").get_attribute("data-over") == "1"


def _shot(browser, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def test_play_a_full_9x9_go_game(browser, server):
    _open(browser, server, "play")
    Select(browser.find_element(By.ID, "play-env")).select_by_value("go9")
    Select(browser.find_element(By.ID, "play-seat")).select_by_value("0")
    _set(browser, "play-agent", "random")
    _set(browser, "play-seed", "3")
    _click_and_wait(browser, browser.find_element(By.ID, "play-new"))
    assert "Your move" in browser.find_element(By.ID, "status").text
    # an illegal click (an occupied point) gets a message and changes nothing
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "svg.goboard .pt[data-action='40']"))
    occupied = browser.find_element(By.CSS_SELECTOR, "svg.goboard .pt[data-action='40']")
    assert "legal" not in occupied.get_attribute("class")
    stones = len(browser.find_elements(By.CSS_SELECTOR, "svg.goboard circle"))
    _click_and_wait(browser, occupied)
    assert "occupied" in browser.find_element(By.ID, "message").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.goboard circle")) == stones
    # a few more moves, then pass until the game ends (random passes now and then; the move cap ends it anyway)
    for k in range(6):
        legal = browser.find_elements(By.CSS_SELECTOR, "svg.goboard .pt.legal")
        _click_and_wait(browser, legal[(7 * k) % len(legal)])
    for _ in range(200):
        if _over(browser):
            break
        _click_and_wait(browser, browser.find_element(By.ID, "btn-pass"))
    assert _over(browser)
    result = browser.find_element(By.ID, "result").text
    assert "wins" in result or "draw" in result
    assert "area Black" in result  # the Tromp-Taylor area count beside the score
    _shot(browser, "play_go_9x9.png")


def test_play_a_full_sixnimmt_round_with_a_hint(browser, server):
    _open(browser, server, "play")
    Select(browser.find_element(By.ID, "play-env")).select_by_value("sixnimmt_v0")
    Select(browser.find_element(By.ID, "play-seat")).select_by_value("1")
    _set(browser, "play-agent", "mcs:rollouts=20")
    _set(browser, "play-seed", "7")
    _click_and_wait(browser, browser.find_element(By.ID, "play-new"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hand-1 .card")) == 10
    assert not browser.find_elements(By.CSS_SELECTOR, "#hand-0")  # the opponent's hand is never drawn
    assert len(browser.find_elements(By.CSS_SELECTOR, ".card.back")) == 10
    shot = False
    for _ in range(40):
        if _over(browser):
            break
        rows = browser.find_elements(By.CSS_SELECTOR, ".sixrow.choosable")
        if rows:
            _click_and_wait(browser, rows[0])
            continue
        cards = browser.find_elements(By.CSS_SELECTOR, "#hand-1 .card.legal")
        if len(cards) == 7 and not shot:  # mid-round: ask the search for a hint and keep the picture
            _click_and_wait(browser, browser.find_element(By.ID, "btn-hint"))
            assert browser.find_elements(By.CSS_SELECTOR, "#search-table tr")
            assert browser.find_elements(By.CSS_SELECTOR, "#hand-1 .card .heat")
            _shot(browser, "play_sixnimmt_hint.png")
            shot = True
            cards = browser.find_elements(By.CSS_SELECTOR, "#hand-1 .card.legal")
        _click_and_wait(browser, cards[len(cards) // 2])
    assert _over(browser) and shot
    assert len(browser.find_elements(By.CSS_SELECTOR, ".trickline")) == 10
    assert "bullheads" in browser.find_element(By.ID, "result").text or "draw" in browser.find_element(
        By.ID, "result").text


def test_watch_a_short_match_with_the_search(browser, server):
    _open(browser, server, "watch")
    Select(browser.find_element(By.ID, "watch-env")).select_by_value("go9")
    _set(browser, "watch-a", "az:checkpoints/go9/alphazero.pt,sims=48,threads=1")
    _set(browser, "watch-b", "az:checkpoints/go9/alphazero.pt,sims=8,threads=1")
    _set(browser, "watch-seed", "1")
    browser.execute_script("document.getElementById('watch-delay').value = '0.2'")
    _click_and_wait(browser, browser.find_element(By.ID, "watch-start"))
    WebDriverWait(browser, 180).until(lambda d: len(d.find_element(By.ID, "moves").text.split()) >= 14)
    browser.find_element(By.ID, "watch-pause").click()  # the speed control: pause
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "watch-pause").text == "Resume")
    sid = browser.find_element(By.TAG_NAME, "body").get_attribute("data-session")
    state = {}

    def settled(d) -> bool:  # paused, no move in flight, and the page shows the server's last position
        with urllib.request.urlopen(f"{server}/api/watch/{sid}") as r:
            state.update(json.load(r))
        return state["paused"] and not state["stepping"] and len(
            d.find_element(By.ID, "moves").text.split()) == state["ply"]

    WebDriverWait(browser, 120, poll_frequency=0.5).until(settled)
    n = state["ply"]
    time.sleep(1.5)
    assert len(browser.find_element(By.ID, "moves").text.split()) == n  # paused: nothing more is played
    assert browser.find_elements(By.CSS_SELECTOR, "#search-heatmap svg circle")
    assert browser.find_element(By.ID, "search-pv").text.startswith("PV:")
    assert browser.find_elements(By.CSS_SELECTOR, "#value-graph polyline")
    _shot(browser, "watch_go_search.png")
    # a whole short match: 6 nimmt! tactical, mcs against AlphaZero-style search without a network
    Select(browser.find_element(By.ID, "watch-env")).select_by_value("sixnimmt_tactical_v0")
    _set(browser, "watch-a", "mcs:rollouts=8")
    _set(browser, "watch-b", "az_uniform:sims=16")
    browser.execute_script("document.getElementById('watch-delay').value = '0'")
    _click_and_wait(browser, browser.find_element(By.ID, "watch-start"))
    try:
        WebDriverWait(browser, 120).until(_over)
    except TimeoutException:
        pytest.fail("the watched 6 nimmt! round did not finish in 120 s")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".trickline")) == 10
    _shot(browser, "watch_sixnimmt.png")


def test_open_a_stored_game_and_an_sgf(browser, server, store, tmp_path):
    before = store.read_bytes()
    _open(browser, server, "replay")
    assert browser.find_element(By.ID, "replay-db").get_attribute("value") == str(store)
    browser.find_element(By.ID, "replay-load").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#replay-game option"))
    assert "demo9" in browser.find_element(By.ID, "replay-tournament").text
    _click_and_wait(browser, browser.find_element(By.ID, "replay-open"))
    assert _over(browser) and browser.find_element(By.ID, "result").text
    _click_and_wait(browser, browser.find_element(By.ID, "replay-start"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.goboard circle")) == 0  # the empty board
    _click_and_wait(browser, browser.find_element(By.ID, "replay-next"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.goboard circle")) >= 1
    _shot(browser, "replay_stored.png")
    assert store.read_bytes() == before
    assert not Path(str(store) + "-wal").exists() and not Path(str(store) + "-shm").exists()
    from zeroleague.envs.go.sgf import to_sgf

    sgf = tmp_path / "game.sgf"
    sgf.write_bytes(to_sgf(9, 7.5, [40, 30, 50, 81, 81], result="W+1.5", black_name="ann", white_name="bo"))
    body = browser.find_element(By.TAG_NAME, "body")
    draws = _draws(browser)
    browser.find_element(By.ID, "replay-sgf").send_keys(str(sgf))
    WebDriverWait(browser, 30).until(lambda d: _draws(d) > draws or body.get_attribute("data-messages"))
    assert "5 moves" in browser.find_element(By.ID, "replay-title").text
    assert browser.find_element(By.ID, "moves").text.split() == ["1.E5", "2.D6", "3.F4", "4.pass", "5.pass"]
