#!/usr/bin/env python3
"""Checks that every flag every lagvk command documents in its --help is run by at least one CLI test.

The commands come from `lagvk --help` (and the log verbs from `lagvk log --help`), the flags from each
command's `--help`; the tests' command lines are the C++ string literals of the given test files that
start with a command name ("run -m {model} --seed 7 ..."; adjacent literals are joined). A flag counts for
a command when it appears in one of that command's literals. A new flag or command without a test fails
this check, so coverage cannot shrink unnoticed.

usage: check_cli_coverage.py LAGVK TEST_FILE...   (exit 1 listing what no test runs)
"""
import re
import subprocess
import sys


def help_text(lagvk, args):
    r = subprocess.run([lagvk, *args], capture_output=True, text=True, timeout=60)
    if r.returncode not in (0, 2):
        sys.exit(f"'{' '.join([lagvk, *args])}' failed with exit {r.returncode}:\n{r.stderr}")
    return r.stdout


def listed_names(text, heading):
    """Names listed as '  name  summary' under a heading line ('commands:', 'verbs:')."""
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == heading:
            inside = True
        elif inside and not line.strip():
            break
        elif inside:
            names.append(line.split()[0])
    return names


def documented_flags(text):
    flags, inside = set(), False
    for line in text.splitlines():
        if line.strip() == "options:":
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+(?:(-\w), )?(--?[\w-]+)", line)
            if m:
                flags.update(f for f in m.groups() if f)
    return flags


LITERAL = re.compile(r'R"(?P<delim>[^(]*)\((?P<raw>.*?)\)(?P=delim)"|"(?P<text>(?:[^"\\\n]|\\.)*)"', re.S)


def command_lines(source):
    """The string literals of a C++ file, adjacent ones (whitespace between) joined."""
    joined, end = [], None
    for m in LITERAL.finditer(source):
        text = m.group("raw") if m.group("raw") is not None else m.group("text")
        if end is not None and joined and source[end:m.start()].strip() == "":
            joined[-1] += text
        else:
            joined.append(text)
        end = m.end()
    return joined


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    lagvk, test_files = sys.argv[1], sys.argv[2:]
    commands = listed_names(help_text(lagvk, ["--help"]), "commands:")
    if not commands:
        sys.exit("found no commands in 'lagvk --help'")
    wanted = {}
    for c in commands:
        wanted[c] = documented_flags(help_text(lagvk, [c, "--help"])) | {"--help"}
        if c == "log":
            for verb in listed_names(help_text(lagvk, ["log", "--help"]), "verbs:"):
                wanted[f"log {verb}"] = documented_flags(help_text(lagvk, ["log", verb, "--help"]))
    # Longest names first: "log add ..." is a log add line, not a log line.
    names = sorted(wanted, key=len, reverse=True)
    seen = {name: set() for name in wanted}
    for path in test_files:
        with open(path, encoding="utf-8") as f:
            for line in command_lines(f.read()):
                stripped = line.strip()
                name = next((n for n in names if stripped == n or stripped.startswith(n + " ")), None)
                if name is None:
                    continue
                for token in stripped[len(name):].split():
                    if re.match(r"^--?[A-Za-z][\w-]*", token):
                        seen[name].add(token.split("=", 1)[0])
    missing = [f"lagvk {name} {flag}" for name in sorted(wanted) for flag in sorted(wanted[name] - seen[name])]
    total = sum(len(v) for v in wanted.values())
    if missing:
        print(f"{len(missing)} of {total} documented flags are run by no CLI test ({', '.join(test_files)}):")
        print("\n".join("  " + m for m in missing))
        return 1
    print(f"every one of the {total} documented flags of {len(wanted)} commands is run by a CLI test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
