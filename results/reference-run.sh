#!/usr/bin/env bash
# reference-run.sh regenerates the published reference run of nas: a search under
# 300 MFLOPs on Fashion-MNIST with seed 1, its front, the comparison of its best
# members with mobilenet_v2 and shufflenet_v2 scaled into the same budget, the
# plots, and the tables in results/README.md.
#
# Usage, from anywhere in the repository (relative paths below are relative to
# the repository root):
#
#   bash results/reference-run.sh [extra nas run flags]
#
# Environment (all optional):
#   NAS                 the nas binary (default: go build -o /tmp/nas-ref ./cmd/nas)
#   DB                  the results database (default results/reference.db)
#   OUT                 where every output goes (default results/); when it is not
#                       results/, results/README.md is copied there and the copy
#                       is rewritten, so a trial run leaves the committed files alone
#   COMPARE_TOP         front members trained by the comparison (default 3)
#   COMPARE_TRAIN_SIZE  training images of the comparison (default 12000)
#   COMPARE_EPOCHS      epochs of the comparison (default 2)
#
# The search is resumed if $DB holds an interrupted run named "reference", and
# skipped if that run has finished (delete $DB to search again). Extra flags are
# passed to nas run after the reference settings, so they override them.
#
# Outputs in $OUT: front.tsv and front.json (nas best --pareto), compare.json and
# compare.tsv (the full-fidelity comparison, with test accuracy), refs.json (the
# zoo networks trained at the search's own proxy fidelity, the points on the
# plot), front.png, hypervolume.png and README.md with its tables regenerated.
set -euo pipefail

cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

DB=${DB:-results/reference.db}
OUT=${OUT:-results}
OUT=${OUT%/}
COMPARE_TOP=${COMPARE_TOP:-3}
COMPARE_TRAIN_SIZE=${COMPARE_TRAIN_SIZE:-12000}
COMPARE_EPOCHS=${COMPARE_EPOCHS:-2}
RUN=reference

# The reference settings. The time limit is off so that the result depends on the
# seed alone, not on how fast the machine is (nas run stops after 18 minutes by
# default).
SETTINGS=(--budget 300MFLOPs --dataset fashion-mnist --seed 1 --time-limit 0)

log() { printf 'reference-run: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v jq >/dev/null || die "jq is needed to read nas's JSON output (apt-get install jq)"
if [[ -z ${NAS:-} ]]; then
	NAS=/tmp/nas-ref
	log "building nas into $NAS"
	go build -o "$NAS" ./cmd/nas
fi
mkdir -p "$OUT" "$(dirname "$DB")"
SECONDS=0

# The search: new, resumed or already done.
status=""
if [[ -e $DB ]]; then
	status=$("$NAS" runs --db "$DB" --json | jq -r --arg run "$RUN" '.[] | select(.name == $run) | .status')
fi
case $status in
"")
	log "searching: nas run ${SETTINGS[*]} --name $RUN --db $DB $*"
	"$NAS" run "${SETTINGS[@]}" --name "$RUN" --db "$DB" "$@" >&2
	;;
interrupted | running)
	[[ $# -eq 0 ]] || die "run $RUN in $DB is $status: resume it without extra flags, or delete $DB to start again"
	log "resuming the $status run $RUN in $DB"
	"$NAS" resume "$RUN" --db "$DB" >&2
	;;
finished)
	[[ $# -eq 0 ]] || die "run $RUN in $DB has finished: delete $DB to search again with other flags"
	log "run $RUN in $DB has finished; regenerating its outputs only"
	;;
*)
	die "run $RUN in $DB is $status: delete $DB to search again"
	;;
esac
search_seconds=$SECONDS

# The front, as nas prints it for programs.
"$NAS" best --pareto --run "$RUN" --db "$DB" | cat >"$OUT/front.tsv"
"$NAS" best --pareto --run "$RUN" --db "$DB" --json >"$OUT/front.json"

# The zoo networks trained at the search's own proxy fidelity (the run's last
# rung): the points on the plot, comparable with the front drawn there. Its one
# candidate is the front's most accurate, retrained as the search trained it.
log "training the zoo baselines at the search's proxy fidelity"
"$NAS" compare --run "$RUN" --db "$DB" --top 1 --json >"$OUT/refs.json"
retrained=$(jq -r --slurpfile front "$OUT/front.json" '.[] | select(.kind == "candidate")
	| . as $c | ($front[0][] | select(.id == $c.candidate)) as $s
	| "candidate \($c.candidate) retrained at \($s.fidelity): val accuracy \($c.val_accuracy), \($s.accuracy) in the search"' "$OUT/refs.json")
log "$retrained"

# The full-fidelity comparison, with test accuracy.
log "comparing the top $COMPARE_TOP front members with the zoo baselines on $COMPARE_TRAIN_SIZE images for $COMPARE_EPOCHS epochs"
start=$SECONDS
"$NAS" compare --run "$RUN" --db "$DB" --top "$COMPARE_TOP" --train-size "$COMPARE_TRAIN_SIZE" \
	--epochs "$COMPARE_EPOCHS" --test --json >"$OUT/compare.json"
compare_seconds=$((SECONDS - start))
jq -r '["name", "kind", "candidate", "width", "macs", "params", "proxy_macs", "val_accuracy", "val_loss", "test_accuracy", "train_seconds"] as $cols
	| ($cols | @tsv), (.[] | [.[$cols[]]] | map(. // "") | @tsv)' "$OUT/compare.json" >"$OUT/compare.tsv"

# The plots.
refs=()
while IFS= read -r ref; do
	refs+=(--ref "$ref")
done < <(jq -r '.[] | select(.kind == "zoo") | "\(.name)=\(.macs):\(.val_accuracy)"' "$OUT/refs.json")
"$NAS" plot --run "$RUN" --db "$DB" -o "$OUT/front.png" "${refs[@]}"
"$NAS" plot --hypervolume --run "$RUN" --db "$DB" -o "$OUT/hypervolume.png"

# The README's tables.
readme=$OUT/README.md
if [[ $(realpath -m "$OUT") != $(realpath results) ]]; then
	cp results/README.md "$readme"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The run: its settings and how long it took. A search run here is timed here; one
# resumed or run earlier is timed from the database (first start to last change).
run_json=$("$NAS" runs --db "$DB" --json | jq --arg run "$RUN" '.[] | select(.name == $run)')
config=$(jq '.config | if type == "string" then fromjson else . end' <<<"$run_json")
shape=$(jq -r '"\(.target), \(.classes) classes"' <<<"$config")
if [[ -z $status ]]; then
	command="\`nas run ${SETTINGS[*]} --name $RUN --db $DB${*:+ $*}\`"
	search_time="$((search_seconds / 60)) min $((search_seconds % 60)) s"
else
	command="run earlier or resumed; its settings are below"
	span=$(jq 'def t: sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601; (.updated_at | t) - (.created_at | t)' <<<"$run_json")
	search_time="$((span / 60)) min $((span % 60)) s from its start to its last change"
fi
{
	echo "| | |"
	echo "|---|---|"
	echo "| search | $command |"
	echo "| settings | \`$(jq -c . <<<"$config")\` |"
	jq -r '"| status | \(.status), \(.candidates) evaluations |",
		"| nas version | \(.nas_version) |",
		"| started | \(.created_at) |"' <<<"$run_json"
	echo "| commit | $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!results' || echo ' with uncommitted changes') |"
	echo "| machine | $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) |"
	echo "| search time | $search_time |"
	echo "| reproduced | $retrained |"
	echo "| comparison time | $((compare_seconds / 60)) min $((compare_seconds % 60)) s |"
} >"$tmp/run.md"

# The front at the run's highest fidelity (most images x epochs x width, as nas
# plot draws it), from front.tsv (ID GEN ACCURACY MACS PARAMS FIDELITY HASH).
awk -F'\t' -v shape="$shape" '
function size(f,   p, n, k) {
	n = split(f, p, "/"); k = split(p[n], p, "-")
	return substr(p[1], 2) * substr(p[2], 2) * substr(p[3], 2)
}
NR == 1 { next }
{ row[NR] = $0; s = size($6); if (s > best) { best = s; fid = $6 } }
END {
	printf "Front at fidelity `%s`, by increasing MACs (proxy validation accuracy; MACs and params of the deployment network at %s). front.tsv also holds the fronts at lower fidelities.\n\n", fid, shape
	print "| candidate | generation | val accuracy | MACs (M) | params (M) | hash |"
	print "|---:|---:|---:|---:|---:|---|"
	for (i = 2; i <= NR; i++) {
		split(row[i], c, "\t")
		if (c[6] != fid) continue
		gsub(/,/, "", c[4]); gsub(/,/, "", c[5])
		printf "| %s | %s | %s | %.1f | %.2f | `%s` |\n", c[1], c[2], c[3], c[4] / 1e6, c[5] / 1e6, c[7]
	}
}' "$OUT/front.tsv" >"$tmp/front.md"

# The comparison, from compare.tsv.
awk -F'\t' -v size="$COMPARE_TRAIN_SIZE" -v epochs="$COMPARE_EPOCHS" -v shape="$shape" \
	-v data="$(jq -r .dataset <<<"$config")" -v width="$(jq -r '.fidelities[-1].width' <<<"$config")" '
NR == 1 {
	printf "Trained identically on %d %s images for %d epochs at proxy width %s; validation accuracy on the held-out validation images, test accuracy on the whole test set. MACs and params at %s.\n\n", size, data, epochs, width, shape
	print "| network | width | MACs (M) | params (M) | val accuracy | test accuracy | train s |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	next
}
{ printf "| %s | %.3g | %.1f | %.2f | %.4f | %.4f | %.0f |\n", $1, $4, $5 / 1e6, $6 / 1e6, $8, $10, $11 }' "$OUT/compare.tsv" >"$tmp/compare.md"

# replace NAME FILE: put FILE between <!-- NAME:begin --> and <!-- NAME:end -->.
replace() {
	grep -q "^<!-- $1:begin -->\$" "$readme" && grep -q "^<!-- $1:end -->\$" "$readme" ||
		die "$readme has no <!-- $1:begin --> ... <!-- $1:end --> markers"
	awk -v name="$1" -v file="$2" '
	$0 == "<!-- " name ":begin -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
	$0 == "<!-- " name ":end -->" { skip = 0 }
	!skip' "$readme" >"$tmp/readme" && cat "$tmp/readme" >"$readme"
}
replace run "$tmp/run.md"
replace front "$tmp/front.md"
replace compare "$tmp/compare.md"

log "done in $((SECONDS / 60)) min $((SECONDS % 60)) s; outputs in $OUT/"
