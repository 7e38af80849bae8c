#!/usr/bin/env bash
# Renders tui/screenshot.png, the README's picture of the UI, from a real
# capture: twtrace --demo runs in a tmux pane, capture-pane reads the screen
# ~40 s into the demo, ImageMagick draws the text line by line (its label
# reader refuses blank lines). Needs tmux, imagemagick and fonts-dejavu-core.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./twtrace}
work=$(mktemp -d)
trap 'tmux -L twtrace-shot kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
tmux -L twtrace-shot new-session -d -s shot -x 110 -y 36 "$bin --demo --speed 2; sleep 60"
sleep 22
tmux -L twtrace-shot capture-pane -p -t shot > "$work/screen.txt"
bg='#1e1e2e' fg='#cdd6f4' i=0
while IFS= read -r line; do
	i=$((i + 1))
	out=$(printf '%s/%03d.png' "$work" "$i")
	if [ -z "${line// /}" ]; then
		convert -size 10x17 "xc:$bg" "$out"
	else
		convert -background "$bg" -fill "$fg" -font DejaVu-Sans-Mono -pointsize 14 label:"${line//\\/\\\\}" "$out"
	fi
done < "$work/screen.txt"
convert -background "$bg" "$work"/[0-9]*.png -append -bordercolor "$bg" -border 14 tui/screenshot.png
echo "wrote tui/screenshot.png"
