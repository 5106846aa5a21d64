#!/usr/bin/env bash
# Set up everything this project needs, then run the demo or the tests.
#   ./dev.sh demo   set up, then run the main demo (MNIST; extra arguments go to examples/mnist.py)
#   ./dev.sh test   set up, then run the linter and the whole test suite
# Set-up makes a virtual environment in .venv (override with VENV=...) and
# installs the Graphviz `dot` program if it is missing.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

install_dot() {
    command -v dot >/dev/null 2>&1 && return 0
    echo "Graphviz 'dot' is missing; installing it."
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
            echo "Cannot install Graphviz: not root and no sudo. Run: apt-get install graphviz" >&2
            exit 1
        fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq graphviz >/dev/null
    elif command -v brew >/dev/null 2>&1; then
        brew install graphviz
    else
        echo "Cannot install Graphviz here. Install it from https://graphviz.org/download/ so that 'dot' is on PATH, then run this again." >&2
        exit 1
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
