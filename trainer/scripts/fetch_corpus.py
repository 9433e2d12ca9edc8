#!/usr/bin/env python3
"""Fetches the Debian Java corpus: source packages -> .java files + manifest.

    python3 trainer/scripts/fetch_corpus.py [--packages trainer/corpus/packages.txt] [--out data/corpus] [--jobs 2]

Steps, each resumable (a rerun skips what is already there):
  1. enables Debian's `deb-src` index for bookworm `main` (one sources file,
     /etc/apt/sources.list.d/logitloom-deb-src.sources) and refreshes only it;
  2. `apt-get source --download-only` for every package of the list, into OUT/download;
  3. unpacks the upstream tarballs, keeping regular `.java` files only, into
     OUT/src/PACKAGE/... (the tarball's top directory dropped; a component
     tarball `orig-NAME` goes under PACKAGE/NAME/);
  4. writes OUT/manifest.jsonl: package, version, licence (the DEP-5
     `Files: *` licence of debian/copyright), split (train or heldout),
     files, bytes (of the .java files as unpacked).

Licence headers are stripped by `logitloom prepare --strip-license-headers`,
the same code that has always done it, so the files here stay as upstream
wrote them. Needs root for step 1 (or the sources file already in place).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ProcessPoolExecutor

SOURCES_FILE = "/etc/apt/sources.list.d/logitloom-deb-src.sources"
SOURCES = """# Added by logitloom trainer/scripts/fetch_corpus.py: Debian source packages for the Java corpus.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def read_packages(path):
    packages = []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 2 or (len(fields) == 2 and fields[1] != "heldout"):
            sys.exit(f"{path}:{number}: expected `PACKAGE` or `PACKAGE heldout`, got {line!r}")
        packages.append((fields[0], "heldout" if len(fields) == 2 else "train"))
    return packages


def enable_deb_src():
    if not os.path.exists(SOURCES_FILE):
        with open(SOURCES_FILE, "w") as f:
            f.write(SOURCES)
    # Refresh only this source list: the binary indexes are none of our business.
    subprocess.run(["apt-get", "update", "-qq", "-o", f"Dir::Etc::sourcelist={SOURCES_FILE}", "-o", "Dir::Etc::sourceparts=-"], check=True)


def parse_dsc(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    version = re.search(r"^Version: (.+)$", text, re.M).group(1).strip()
    files = re.search(r"^Files:\n((?: .+\n?)+)", text, re.M).group(1).split("\n")
    names = [line.split()[2] for line in files if len(line.split()) == 3]
    return version, names


def dsc_of(download, package):
    found = [n for n in os.listdir(download) if n.startswith(package + "_") and n.endswith(".dsc")]
    return os.path.join(download, sorted(found)[-1]) if found else None


def complete(download_dir, package):
    """Whether the .dsc and every file it lists are here (a failed fetch can leave the .dsc alone)."""
    dsc = dsc_of(download_dir, package)
    return dsc is not None and all(os.path.exists(os.path.join(download_dir, n)) for n in parse_dsc(dsc)[1])


def download(packages, download_dir):
    missing = [p for p in packages if not complete(download_dir, p)]
    failed = []
    for start in range(0, len(missing), 25):
        batch = missing[start:start + 25]
        print(f"download {start + len(batch)}/{len(missing)}: {batch[0]} .. {batch[-1]}", flush=True)
        done = subprocess.run(["apt-get", "source", "--download-only", "-qq", *batch], cwd=download_dir)
        if done.returncode != 0:
            # One unknown name fails the whole call; retry one by one to find it.
            for package in batch:
                if not complete(download_dir, package):
                    one = subprocess.run(["apt-get", "source", "--download-only", "-qq", package], cwd=download_dir)
                    if one.returncode != 0 or not complete(download_dir, package):
                        failed.append(package)
    return failed


def licence_of(debian_tar, prefix):
    """The licence of `Files: *` in debian/copyright, else the first one named there."""
    try:
        with tarfile.open(debian_tar) as tar:
            member = tar.extractfile(prefix + "debian/copyright")
            text = member.read().decode("utf-8", "replace") if member else ""
    except (KeyError, tarfile.TarError, OSError):
        return "unknown"
    for stanza in re.split(r"\n\s*\n", text):
        if re.search(r"^Files:\s*\*\s*$", stanza, re.M):
            found = re.search(r"^License:\s*(.+)$", stanza, re.M)
            if found:
                return found.group(1).strip()
    found = re.search(r"^License:\s*(.+)$", text, re.M)
    return found.group(1).strip() if found else "unknown"


def unpack(args):
    try:
        return unpack_one(*args)
    except (tarfile.TarError, EOFError, OSError) as e:
        # One broken tarball must not stop the other thousand packages.
        shutil.rmtree(os.path.join(args[3], args[0]), ignore_errors=True)
        return {"package": args[0], "error": f"{type(e).__name__}: {e}"}


def unpack_one(package, split, download_dir, src_dir):
    dsc = dsc_of(download_dir, package)
    version, names = parse_dsc(dsc)
    target = os.path.join(src_dir, package)
    marker = os.path.join(target, ".unpacked")
    if not os.path.exists(marker):
        os.makedirs(target, exist_ok=True)
        for name in names:
            orig = re.search(r"\.orig(?:-([A-Za-z0-9-]+))?\.tar\.", name)
            native = ".orig." not in name and ".debian.tar" not in name and ".tar." in name
            if not (orig or native):
                continue
            sub = os.path.join(target, orig.group(1)) if orig and orig.group(1) else target
            with tarfile.open(os.path.join(download_dir, name), "r|*") as tar:
                for member in tar:
                    if not member.isfile() or not member.name.endswith(".java"):
                        continue
                    parts = [p for p in member.name.split("/") if p not in ("", ".")]
                    if len(parts) < 2 or ".." in parts:
                        continue
                    path = os.path.join(sub, *parts[1:])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "wb") as out:
                        out.write(tar.extractfile(member).read())
        open(marker, "w").close()
    files = bytes_ = 0
    for root, _, entries in os.walk(target):
        for entry in entries:
            if entry.endswith(".java"):
                files += 1
                bytes_ += os.path.getsize(os.path.join(root, entry))
    debian = [n for n in names if ".debian.tar." in n]
    if debian:
        licence = licence_of(os.path.join(download_dir, debian[0]), "")
    else:
        native = [n for n in names if ".tar." in n]
        top = f"{package}-{version.split(':')[-1]}/"
        licence = licence_of(os.path.join(download_dir, native[0]), top) if native else "unknown"
    return {"package": package, "version": version, "licence": licence, "split": split, "files": files, "bytes": bytes_}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", default=os.path.join(here, "..", "corpus", "packages.txt"))
    parser.add_argument("--out", default="data/corpus")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-apt-update", action="store_true", help="the deb-src index is already fresh")
    parser.add_argument("--retry-failed", action="store_true", help="try again the packages listed in OUT/not-fetched.txt")
    args = parser.parse_args()

    packages = read_packages(args.packages)
    download_dir = os.path.join(args.out, "download")
    src_dir = os.path.join(args.out, "src")
    os.makedirs(download_dir, exist_ok=True)
    os.makedirs(src_dir, exist_ok=True)
    if not args.no_apt_update:
        enable_deb_src()
    # A mirror that lacks a package's files answers 404 every time; remember
    # those so that a rerun does not ask again (--retry-failed does).
    failed_path = os.path.join(args.out, "not-fetched.txt")
    known_failed = set() if args.retry_failed or not os.path.exists(failed_path) else set(open(failed_path).read().split())
    failed = sorted(known_failed) + download([p for p, _ in packages if p not in known_failed], download_dir)
    with open(failed_path, "w") as f:
        f.write("".join(p + "\n" for p in failed))
    for package in failed:
        print(f"not fetched: {package} (apt-get source failed; see {failed_path})", file=sys.stderr)
    todo = [(p, s, download_dir, src_dir) for p, s in packages if p not in failed]
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for done, row in enumerate(pool.map(unpack, todo, chunksize=4), 1):
            if "error" in row:
                print(f"not unpacked: {row['package']}: {row['error']}", file=sys.stderr, flush=True)
                continue
            rows.append(row)
            if done % 50 == 0 or done == len(todo):
                print(f"unpacked {done}/{len(todo)} packages, {sum(r['files'] for r in rows)} .java files, "
                      f"{sum(r['bytes'] for r in rows) / 1e6:.0f} MB", flush=True)
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"manifest: {len(rows)} packages ({len(failed)} not fetched), {sum(r['files'] for r in rows)} files, "
          f"{sum(r['bytes'] for r in rows) / 1e6:.0f} MB -> {os.path.join(args.out, 'manifest.jsonl')}")


if __name__ == "__main__":
    main()
