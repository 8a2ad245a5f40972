#!/bin/sh
# `make run`: a local MinIO with a locked bucket, a development admin key, the
# room provisioned with write-only device credentials, then the daemon with the
# simulated board and the screen in a window. Ctrl-C stops everything started
# here. State lives in .dev/ (delete it to start over).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/bin"
DEV="$ROOT/.dev"
export PATH="$BIN:$PATH"
mkdir -p "$DEV/run" "$DEV/minio"
chmod 700 "$DEV"

pids=""
screen_pid=""
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	# The screen first, and wait for it, while its X server still runs: a
	# screen whose display vanishes under it can only end abruptly.
	if [ -n "$screen_pid" ]; then
		kill "$screen_pid" 2>/dev/null || true
		wait "$screen_pid" 2>/dev/null || true
	fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# MinIO root credentials for this development server, made once.
if [ ! -f "$DEV/minio-root.env" ]; then
	umask 077
	printf 'MINIO_ROOT_USER=roomkiosk-dev\nMINIO_ROOT_PASSWORD=%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" > "$DEV/minio-root.env"
fi
. "$DEV/minio-root.env"
export MINIO_ROOT_USER MINIO_ROOT_PASSWORD
MINIO_PORT=${MINIO_PORT:-9000}
echo "starting MinIO on 127.0.0.1:$MINIO_PORT (data in .dev/minio)"
minio server "$DEV/minio" --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$((MINIO_PORT + 1))" --quiet > "$DEV/minio.log" 2>&1 &
pids="$pids $!"
i=0
until curl -fsS "http://127.0.0.1:$MINIO_PORT/minio/health/ready" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "MinIO did not start; see .dev/minio.log" >&2; exit 1; fi
	sleep 0.2
done

export ROOMCTL_ENDPOINT="http://127.0.0.1:$MINIO_PORT" ROOMCTL_ACCESS_KEY="$MINIO_ROOT_USER" ROOMCTL_SECRET_KEY="$MINIO_ROOT_PASSWORD" ROOMCTL_BUCKET=roomkiosk

# The admin's settings for roomctl in another shell: `. .dev/admin.env`.
# The secret is in a file of its own (mode 0600) that roomctl reads
# (ROOMCTL_SECRET_KEY_FILE), so it never sits in an environment variable;
# both files are rewritten on each start (the port may differ).
(
	umask 077
	printf '%s\n' "$MINIO_ROOT_PASSWORD" > "$DEV/admin-secret-key.tmp"
	mv "$DEV/admin-secret-key.tmp" "$DEV/admin-secret-key"
	cat > "$DEV/admin.env.tmp" <<ENV
# roomctl's settings for the development server of \`make run\`: . .dev/admin.env
export ROOMCTL_ENDPOINT='$ROOMCTL_ENDPOINT'
export ROOMCTL_ACCESS_KEY='$MINIO_ROOT_USER'
export ROOMCTL_SECRET_KEY_FILE='$DEV/admin-secret-key'
export ROOMCTL_BUCKET='$ROOMCTL_BUCKET'
export ROOMCTL_MC='$BIN/mc'
unset ROOMCTL_SECRET_KEY
case ":\$PATH:" in *':$BIN:'*) ;; *) export PATH='$BIN':"\$PATH" ;; esac
# the development admin identity (decrypts this server's recordings): -i .dev/admin.agekey
ENV
	chmod 600 "$DEV/admin.env.tmp"
	mv "$DEV/admin.env.tmp" "$DEV/admin.env"
)

# The development admin key: the identity stays here, the device gets the recipient.
if [ ! -f "$DEV/admin.agekey" ]; then
	roomctl keygen -o "$DEV/admin.agekey"
fi
RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$DEV/admin.agekey" | head -n 1)

roomctl bucket init --retention-days 1 || true
ROOM=$(sed -n 's/^id = "\(.*\)"/\1/p' configs/dev.toml | head -n 1)
if [ ! -f "$DEV/device-credentials.toml" ]; then
	roomctl provision "$ROOM" --apply --credentials-out "$DEV/device-credentials.toml"
fi

sed -e "s|@DEV_RECIPIENT@|$RECIPIENT|" -e "s|127.0.0.1:9000|127.0.0.1:$MINIO_PORT|" configs/dev.toml > "$DEV/roomkiosk.toml"
chmod 600 "$DEV/roomkiosk.toml" # it holds the counselor PIN hash
[ -f "$DEV/sim-state.json" ] || echo '{"door_open": false, "presence": false, "temperature_c": 22.5, "humidity_pct": 45, "lux": 420}' > "$DEV/sim-state.json"

# No sound card (a server, a VM): a pretend microphone speaks through ALSA's
# file plugin, so sessions really record.
if ! grep -qE '^ *[0-9]+ ' /proc/asound/cards 2>/dev/null; then
	echo "no sound card: a pretend microphone (espeak-ng speech through ALSA's file plugin) feeds the recorder"
	rm -rf "$DEV/mic"
	devmic -dir "$DEV/mic" > "$DEV/devmic.log" 2>&1 &
	pids="$pids $!"
	i=0
	until [ -f "$DEV/mic/asound.conf" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then echo "the pretend microphone did not start; see .dev/devmic.log" >&2; exit 1; fi
		sleep 0.1
	done
	export ALSA_CONFIG_PATH="$DEV/mic/asound.conf"
fi

roomkiosk --config "$DEV/roomkiosk.toml" &
pids="$pids $!"
i=0
until [ -S "$DEV/run/control.sock" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "the daemon did not open its control socket" >&2; exit 1; fi
	sleep 0.1
done

if [ -n "${DISPLAY:-}" ]; then
	roomkiosk-screen --socket .dev/run/control.sock --ui-listen 127.0.0.1:8090 &
	screen_pid=$!
else
	echo "no DISPLAY: running the screen in a virtual X server (Xvfb); screenshot it with: DISPLAY=:99 import -window root shot.png"
	# In a session of its own, so that Ctrl-C (SIGINT to the terminal's
	# process group) does not take the X server away under the screen;
	# cleanup stops it after the screen.
	setsid Xvfb :99 -screen 0 800x480x24 -nolisten tcp > "$DEV/xvfb.log" 2>&1 &
	pids="$pids $!"
	sleep 1
	DISPLAY=:99 roomkiosk-screen --socket .dev/run/control.sock --ui-listen 127.0.0.1:8090 &
	screen_pid=$!
fi

cat <<MSG

roomkiosk is running (Ctrl-C stops it all):
  status        http://127.0.0.1:8089/status   (also /healthz, /metrics)
  screen        http://127.0.0.1:8090/ui       (the scene and its touch targets, read-only)
  MinIO         $ROOMCTL_ENDPOINT (bucket roomkiosk; root credentials in .dev/minio-root.env)
  counselor PIN 1234
  sim board     edit .dev/sim-state.json (e.g. "door_open": true) and watch the checks change
  admin         in another shell, from $ROOT:
                  . .dev/admin.env
                  roomctl status; roomctl sessions; roomctl pull SESSION -i .dev/admin.agekey -o out.wav
                  roomctl console -i .dev/admin.agekey
MSG
wait
