#!/usr/bin/env bash
# Answers every query of the contract with two `mailshot` binaries on the same generated corpus
# and compares the JSON byte for byte: a refactoring must not change any answer.
#
#   scripts/compare_queries.sh OLD_BINARY NEW_BINARY [INPUTS] [SEED]
#
# Each binary ingests the corpus into a data dir of its own; then, for each binary, the same
# list of query commands runs with `--json` (stats over ranges and scopes, the event lists of
# sampled subscribers, templates and sequences with type and date filters and a second page,
# subscribers, traces, the suppression list, link stats, and bad arguments with their exit
# status and error). Prints the number of commands compared; exits 1 at the first difference.
set -euo pipefail

old="$1"
new="$2"
inputs="${3:-20000}"
seed="${4:-11}"
work="$(mktemp -d -t mailshot-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export MAILSHOT_QUIET=1

# The generator writes June 2024; moved to last month so that no event row has expired (event
# lists hide rows older than 365 days). Both binaries ingest the same moved corpus.
month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
next=$(date -u -d "$(date -u +%Y-%m-01)" +%Y-%m)
if [ "$(date -u -d "$month-01 +1 month -1 day" +%d)" -lt 30 ]; then
  month=$(date -u -d "$(date -u +%Y-%m-01) -2 month" +%Y-%m)
  next=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
fi
"$new" gen --inputs "$inputs" --seed "$seed" | sed -e "s/2024-06-/$month-/g; s/2024-07-/$next-/g" >"$work/corpus.ndjson"
"$old" --data "$work/old" ingest "$work/corpus.ndjson" >/dev/null 2>&1
"$new" --data "$work/new" ingest "$work/corpus.ndjson" >/dev/null 2>&1

# Keys to ask about, sampled from the corpus (header values appear plain and JSON-escaped).
sample() { # field, how many
  grep -oE "$1\\\\?\",\\\\?\"value\\\\?\":\\\\?\"[^\"\\\\]+" "$work/corpus.ndjson" | sed -E 's/.*"//' | sort | uniq -c | sort -rn | head -"$2" | awk '{print $2}'
}
templates=$(sample X-Template-Key 6)
sequences=$(sample X-Sequence-Id 4)
emails=$(grep -oE '"destination\\?":\[\\?"[^"\\]+' "$work/corpus.ndjson" | sed -E 's/.*"//' | sort | uniq -c | sort -rn | head -6 | awk '{print $2}')
emails="$emails $("$new" --data "$work/new" suppressed --limit 4 --json | grep -o '"email":"[^"]*"' | cut -d'"' -f4)"
first="$month-01"
mid="$month-15"
last="$next-05"

commands=(
  "stats" "stats --from $first --to $last" "stats --from $mid" "stats --to $mid"
  "stats --from $last --to $first"
  "stats --from 2024-13-01"
  "suppressed" "suppressed --limit 3" "suppressed --limit 0"
  "links" "links --from $mid"
  "events subscriber nobody"
  "events campaign x"
  "subscriber nobody@example.com"
  "trace nobody@example.com"
)
for e in $emails; do
  commands+=("subscriber $e" "trace $e" "events subscriber $e" "events subscriber $e --type open"
             "events subscriber $e --from $mid --limit 2")
done
for t in $templates; do
  commands+=("stats --template $t" "stats --template $t --from $mid" "events template $t --limit 7"
             "events template $t --type delivery --limit 3" "links --template $t")
done
for s in $sequences; do
  commands+=("stats --sequence $s" "events sequence $s --limit 5")
  for t in $templates; do commands+=("stats --template $t --sequence $s --to $mid"); done
done

answer() { # binary data-dir command...
  local bin="$1" dir="$2"
  shift 2
  local out status
  set +e
  out=$("$bin" --data "$dir" "$@" --json 2>&1)
  status=$?
  set -e
  # The ingest time is the one wall-clock field (each binary ingested at its own moment).
  printf '%s\nexit %s\n' "$out" "$status" | sed -E 's/"ingestTime":"[^"]*"/"ingestTime":"…"/g'
}

n=0
full=0
for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  a=$(answer "$old" "$work/old" $c | sed "s#$work/old#DATA#g")
  # shellcheck disable=SC2086
  b=$(answer "$new" "$work/new" $c | sed "s#$work/new#DATA#g")
  if [ "$a" != "$b" ]; then
    echo "DIFFERENT: mailshot $c --json" >&2
    diff <(echo "$a") <(echo "$b") | cut -c1-300 | head -20 >&2
    exit 1
  fi
  # The second page of an event list, through each binary's own token.
  token=$(echo "$b" | grep -o '"nextToken":"[^"]*"' | cut -d'"' -f4 || true)
  if [ -n "$token" ]; then
    # shellcheck disable=SC2086
    a=$(answer "$old" "$work/old" $c --next "$token")
    # shellcheck disable=SC2086
    b=$(answer "$new" "$work/new" $c --next "$token")
    if [ "$a" != "$b" ]; then
      echo "DIFFERENT: mailshot $c --next $token --json" >&2
      diff <(echo "$a") <(echo "$b") | cut -c1-300 | head -20 >&2
      exit 1
    fi
    n=$((n + 1))
  fi
  n=$((n + 1))
  case "$b" in *'"items":[{'*|*'"counts":{"bounce":'[1-9]*|*'"links":[{'*) full=$((full + 1)) ;; esac
done
echo "$n query commands answered identically by $old and $new ($inputs inputs, seed $seed; $full of them with a non-empty list or count)"
