package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/xorgconf"
)

// setting is one configuration value with every name it goes by.
type setting struct {
	env     string // environment variable
	key     string // TOML key; "" for none
	flag    string // flag name; "" for none
	def     string // default, in the form the variable takes
	example string // a good value, shown in errors
	help    string
	apply   func(c *Config, v string) error
}

// Setting is the public view of one entry of the table, for docs and --help.
type Setting struct {
	Env, Key, Flag, Default, Help string
}

// Settings lists every setting in the order of docs/configuration.md's table.
func Settings() []Setting {
	out := make([]Setting, 0, len(settings))
	for _, s := range settings {
		out = append(out, Setting{s.env, s.key, s.flag, s.def, s.help})
	}
	return out
}

var settings = []setting{
	{env: "XINIT_CONFIG", flag: "config", example: "XINIT_CONFIG=/etc/xinit-go/config.toml",
		help:  "TOML file to read (default /etc/xinit-go/config.toml when it exists)",
		apply: func(*Config, string) error { return nil }},
	{env: "XINIT_BACKEND", key: "backend", flag: "backend", def: "auto", example: "XINIT_BACKEND=xvfb",
		help: "display backend: auto, nvidia, xvfb, dummy or none",
		apply: func(c *Config, v string) (err error) {
			c.Backend, err = parseEnum(v, BackendAuto, BackendNvidia, BackendXvfb, BackendDummy, BackendNone)
			return err
		}},
	{env: "XINIT_DISPLAY", key: "display", flag: "display", def: ":0", example: "XINIT_DISPLAY=:1",
		help: "X display to create",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimPrefix(v, ":"))
			if !strings.HasPrefix(v, ":") || err != nil || n < 0 || n > 32767 {
				return errors.New("want :N with N from 0 to 32767")
			}
			c.Display = n
			return nil
		}},
	{env: "SCREEN_RESOLUTION", key: "resolution", flag: "resolution", def: "1920x1080x24", example: "SCREEN_RESOLUTION=1280x1024x24",
		help: "screen size WIDTHxHEIGHT[xDEPTH]; depth 16, 24 or 30",
		apply: func(c *Config, v string) (err error) {
			c.Width, c.Height, c.Depth, err = ParseResolution(v)
			return err
		}},
	{env: "BUSID", key: "busid", flag: "busid", example: "BUSID=PCI:0:4:0",
		help: "PCI BusID of the GPU for Xorg (PCI:bus:dev:func, PCI:bus@domain:dev:func or nvidia-smi's 00000000:1A:00.0); detected through NVML when empty",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			b, err := xorgconf.ParseBusID(v)
			if err != nil {
				return err
			}
			c.BusID = &b
			return nil
		}},
	{env: "XINIT_GPU", key: "gpu", flag: "gpu", def: "0", example: "XINIT_GPU=1",
		help: "GPU to use: NVML index, UUID (GPU-...), or all (nvidia backend: one X screen per GPU)",
		apply: func(c *Config, v string) error {
			switch {
			case v == "all", strings.HasPrefix(v, "GPU-"), strings.HasPrefix(v, "MIG-"):
			default:
				if n, err := strconv.Atoi(v); err != nil || n < 0 {
					return errors.New("want an index (0, 1, ...), a UUID (GPU-...) or all")
				}
			}
			c.GPU = v
			return nil
		}},
	{env: "XINIT_XORG_CONF", key: "xorg_conf", flag: "xorg-conf", example: "XINIT_XORG_CONF=/etc/X11/xorg.conf",
		help: "use this xorg.conf as it is instead of generating one (nvidia and dummy backends)",
		apply: func(c *Config, v string) error {
			if v != "" && !filepath.IsAbs(v) {
				return errors.New("want an absolute path")
			}
			c.XorgConf = v
			return nil
		}},
	{env: "XINIT_RUNTIME_DIR", key: "runtime_dir", flag: "runtime-dir", def: "/run/xinit-go", example: "XINIT_RUNTIME_DIR=/run/xinit-go",
		help: "root's private directory for the generated xorg.conf, the X log and the client files (Xauthority, VNC password); made when missing, and an existing one that another user owns or can write is refused",
		apply: func(c *Config, v string) error {
			if !filepath.IsAbs(v) {
				return errors.New("want an absolute path")
			}
			c.RuntimeDir = filepath.Clean(v)
			return nil
		}},
	{env: "XINIT_X_READY_TIMEOUT", key: "x_ready_timeout", flag: "x-ready-timeout", def: "30s", example: "XINIT_X_READY_TIMEOUT=45s",
		help:  "how long the X server may take to report ready",
		apply: func(c *Config, v string) (err error) { c.XReady, err = parseDuration(v, false); return err }},
	{env: "XINIT_X_ARGS", key: "x_args", flag: "x-args", example: "XINIT_X_ARGS=\"+extension RANDR -verbose 3\"",
		help:  "extra arguments for the X server, split on spaces (in TOML a list of strings: one argument each)",
		apply: func(c *Config, v string) error { c.XArgs = argList(v); return nil }},
	{env: "XINIT_VNC", key: "vnc", flag: "vnc", def: "on", example: "XINIT_VNC=off",
		help:  "run x11vnc: on or off",
		apply: func(c *Config, v string) (err error) { c.VNC, err = parseBool(v); return err }},
	{env: "XINIT_VNC_PORT", key: "vnc_port", flag: "vnc-port", def: "5900", example: "XINIT_VNC_PORT=5901",
		help:  "VNC port",
		apply: func(c *Config, v string) (err error) { c.VNCPort, err = parsePort(v); return err }},
	{env: "VNC_PASSWORD", key: "vnc_password", example: "VNC_PASSWORD=s3cret12",
		help:  "VNC password (no flag: argv is visible to every process); only its first 8 characters count, and the whitespace around it is dropped. Empty: VNC on localhost only; set and empty, it overrides the TOML file's",
		apply: func(c *Config, v string) error { c.VNCPassword = v; return nil }},
	{env: "XINIT_VNC_PASSWORD_FILE", key: "vnc_password_file", flag: "vnc-password-file", example: "XINIT_VNC_PASSWORD_FILE=/run/secrets/vnc/password",
		help:  "file whose first line, without the whitespace around it, is the VNC password (a mounted Kubernetes secret)",
		apply: func(c *Config, v string) error { c.VNCPasswordFile = v; return nil }},
	{env: "XINIT_VNC_LISTEN", key: "vnc_listen", flag: "vnc-listen", example: "XINIT_VNC_LISTEN=localhost",
		help: "VNC listen address; default: every interface with a password, localhost without one. An IPv4 address listens on IPv4 alone; an XINIT_WEB_ADDR without a host listens on this address too",
		apply: func(c *Config, v string) error {
			if v != "" && v != "localhost" && net.ParseIP(v) == nil {
				return errors.New("want an IP address or localhost")
			}
			c.VNCListen = v
			return nil
		}},
	{env: "XINIT_HEALTH_ADDR", key: "health_addr", flag: "health-addr", def: ":9810", example: "XINIT_HEALTH_ADDR=:9810",
		help: "listen address of /healthz, /readyz, /status and /metrics; off disables",
		apply: func(c *Config, v string) error {
			if v == "off" {
				c.HealthAddr = ""
				return nil
			}
			host, port, err := net.SplitHostPort(v)
			if err != nil {
				return errors.New("want HOST:PORT, :PORT or off")
			}
			if host != "" && host != "localhost" && net.ParseIP(host) == nil {
				return fmt.Errorf("host %q is not an IP address or localhost", host)
			}
			if _, err := parsePort(port); err != nil {
				return err
			}
			c.HealthAddr = v
			return nil
		}},
	{env: "XINIT_WEB_ADDR", key: "web_addr", flag: "web-addr", def: ":6080", example: "XINIT_WEB_ADDR=:6080",
		help:  "listen address of the browser view (noVNC, bridged to x11vnc); without a host it takes XINIT_VNC_LISTEN's; localhost only without a VNC password; off disables. 6080 is noVNC's usual port",
		apply: func(c *Config, v string) (err error) { c.WebAddr, err = parseListenAddr(v); return err }},
	{env: "XINIT_WEB_ROOT", key: "web_root", flag: "web-root", example: "XINIT_WEB_ROOT=/usr/share/novnc",
		help: "directory of the noVNC client's files; default /usr/share/novnc (Debian's novnc), and without it the browser view is off",
		apply: func(c *Config, v string) error {
			if v != "" && !filepath.IsAbs(v) {
				return errors.New("want an absolute path")
			}
			if v != "" {
				v = filepath.Clean(v)
			}
			c.WebRoot = v
			return nil
		}},
	{env: "XINIT_WEB_TLS_CERT", key: "web_tls_cert", flag: "web-tls-cert", example: "XINIT_WEB_TLS_CERT=/run/secrets/web/tls.crt",
		help:  "PEM certificate (chain) for HTTPS and WSS on the browser view; needs XINIT_WEB_TLS_KEY",
		apply: func(c *Config, v string) error { c.WebTLSCert = v; return nil }},
	{env: "XINIT_WEB_TLS_KEY", key: "web_tls_key", flag: "web-tls-key", example: "XINIT_WEB_TLS_KEY=/run/secrets/web/tls.key",
		help:  "PEM private key of XINIT_WEB_TLS_CERT",
		apply: func(c *Config, v string) error { c.WebTLSKey = v; return nil }},
	{env: "XINIT_WEB_HOSTS", key: "web_hosts", flag: "web-hosts", example: "XINIT_WEB_HOSTS=view.example.com,*.apps.example.org",
		help:  "names the browser view and the health server answer to besides their own (localhost, *.localhost, any IP address, the host's name, the listen address), comma-separated; *.DOMAIN allows every name under DOMAIN. Any other Host gets 421, so a web page cannot reach them by DNS rebinding. Add the names of an Ingress or a Service used in a browser",
		apply: func(c *Config, v string) (err error) { c.WebHosts, err = parseHosts(v); return err }},
	{env: "XINIT_VIEW", key: "view", flag: "view", def: "on", example: "XINIT_VIEW=off",
		help:  "the smooth view on the browser view's address: H.264 (ffmpeg, only while someone watches) decoded by the browser with WebCodecs, input through XTEST; / opens it where the browser can, noVNC stays on /novnc and /vnc.html; on or off",
		apply: func(c *Config, v string) (err error) { c.View, err = parseBool(v); return err }},
	{env: "XINIT_VIEW_FPS", key: "view_fps", flag: "view-fps", def: "60", example: "XINIT_VIEW_FPS=30",
		help: "frames per second the smooth view captures and encodes, 1 to 120",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 120 {
				return errors.New("want a whole number from 1 to 120")
			}
			c.ViewFPS = n
			return nil
		}},
	{env: "XINIT_APP_RESTART", key: "app_restart", flag: "app-restart", def: "never", example: "XINIT_APP_RESTART=on-failure",
		help: "restart the app: never (the container exits with it), on-failure or always",
		apply: func(c *Config, v string) (err error) {
			c.AppRestart, err = parseEnum(v, RestartNever, RestartOnFailure, RestartAlways)
			return err
		}},
	{env: "XINIT_APP_TIMEOUT", key: "app_timeout", flag: "app-timeout", def: "0", example: "XINIT_APP_TIMEOUT=30m",
		help:  "stop the app after this long and exit 124; 0 means no limit",
		apply: func(c *Config, v string) (err error) { c.AppTimeout, err = parseDuration(v, true); return err }},
	{env: "XINIT_STOP_GRACE", key: "stop_grace", flag: "stop-grace", def: "5s", example: "XINIT_STOP_GRACE=8s",
		help:  "time between a service's stop signal and SIGKILL; the whole stop takes at most this plus 2s (plus 2s more with a screenshot)",
		apply: func(c *Config, v string) (err error) { c.StopGrace, err = parseDuration(v, false); return err }},
	{env: "XINIT_RESTART_BUDGET", key: "restart_budget", flag: "restart-budget", def: "5/1m", example: "XINIT_RESTART_BUDGET=10/5m",
		help: "restarts allowed per service within a window, N/DURATION; past it the service has failed",
		apply: func(c *Config, v string) error {
			n, w, ok := strings.Cut(v, "/")
			budget, err := strconv.Atoi(n)
			if !ok || err != nil || budget < 0 || budget > 1_000_000 {
				return errors.New("want RESTARTS/WINDOW with RESTARTS from 0 to 1000000")
			}
			window, err := parseDuration(w, false)
			if err != nil {
				return err
			}
			c.RestartBudget, c.RestartWindow = budget, window
			return nil
		}},
	{env: "XINIT_RESTART_BACKOFF", key: "restart_backoff", flag: "restart-backoff", def: "10s", example: "XINIT_RESTART_BACKOFF=2s",
		help: "longest wait before a restart; the wait starts at 250ms and doubles with each restart in a row",
		apply: func(c *Config, v string) (err error) {
			c.RestartBackoff, err = parseDuration(v, false)
			if err == nil && c.RestartBackoff < 250*time.Millisecond {
				err = errors.New("want at least 250ms")
			}
			return err
		}},
	{env: "XINIT_FORWARD_SIGNALS", key: "forward_signals", flag: "forward-signals", def: "HUP,USR1,USR2,WINCH,QUIT", example: "XINIT_FORWARD_SIGNALS=HUP,USR1",
		help: "signals passed on to the app's process group (TERM and INT always stop the session)",
		apply: func(c *Config, v string) error {
			c.Forward = nil
			for _, name := range strings.Split(v, ",") {
				name = strings.ToUpper(strings.TrimSpace(name))
				if name == "" {
					continue
				}
				if !strings.HasPrefix(name, "SIG") {
					name = "SIG" + name
				}
				sig := unix.SignalNum(name)
				switch {
				case sig == 0:
					return fmt.Errorf("%s is not a signal", name)
				case sig == syscall.SIGKILL || sig == syscall.SIGSTOP || sig == syscall.SIGCHLD:
					return fmt.Errorf("%s cannot be forwarded", name)
				case sig == syscall.SIGTERM || sig == syscall.SIGINT:
					return fmt.Errorf("%s always stops the session and is not forwarded", name)
				}
				c.Forward = append(c.Forward, sig)
			}
			if c.Forward == nil {
				c.Forward = []syscall.Signal{}
			}
			return nil
		}},
	{env: "XINIT_APP_USER", key: "app_user", flag: "app-user", example: "XINIT_APP_USER=1000:1000",
		help: "run the app and x11vnc as this user (name or UID[:GID]); the X server keeps its own",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.AppUser = ""
				return nil
			}
			name, gid, hasGID := strings.Cut(v, ":")
			if name == "" || strings.ContainsAny(name, " /") {
				return errors.New("want a user name or UID[:GID]")
			}
			if hasGID {
				if _, err := strconv.ParseUint(gid, 10, 32); err != nil {
					return errors.New("want a numeric GID after the colon")
				}
			}
			c.AppUser = v
			return nil
		}},
	{env: "XINIT_SCREENSHOT", key: "screenshot", flag: "screenshot", example: "XINIT_SCREENSHOT=/artifacts/last.png",
		help: "PNG written with the screen just before the app's end is acted on",
		apply: func(c *Config, v string) error {
			if v != "" && !strings.HasSuffix(strings.ToLower(v), ".png") {
				return errors.New("want a path ending in .png")
			}
			c.Screenshot = v
			return nil
		}},
	{env: "XINIT_RECORD", key: "record", flag: "record", example: "XINIT_RECORD=/artifacts/run.mp4",
		help: "record the display into this MP4 file (ffmpeg; fragmented, so it stays playable if anything is killed)",
		apply: func(c *Config, v string) error {
			if v != "" && (!filepath.IsAbs(v) || !strings.HasSuffix(strings.ToLower(v), ".mp4")) {
				return errors.New("want an absolute path ending in .mp4")
			}
			c.Record = v
			return nil
		}},
	{env: "XINIT_RECORD_FPS", key: "record_fps", flag: "record-fps", def: "15", example: "XINIT_RECORD_FPS=30",
		help: "frames per second of the recording, 1 to 60",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 60 {
				return errors.New("want a whole number from 1 to 60")
			}
			c.RecordFPS = n
			return nil
		}},
	{env: "XINIT_RECORD_LAST", key: "record_last", flag: "record-last", def: "0", example: "XINIT_RECORD_LAST=60s",
		help: "keep only this last stretch of the recording (rolling segments, bounded disk, stitched at the end); 0 keeps it all",
		apply: func(c *Config, v string) (err error) {
			c.RecordLast, err = parseDuration(v, true)
			if err == nil && c.RecordLast != 0 && c.RecordLast < 4*time.Second {
				err = errors.New("want 0 or at least 4s")
			}
			return err
		}},
	{env: "XINIT_RECORD_KEEP", key: "record_keep", flag: "record-keep", def: "always", example: "XINIT_RECORD_KEEP=failure",
		help: "keep the recording always, or only when the run failed (failure: a non-zero exit, a signal, a timeout, a frozen screen)",
		apply: func(c *Config, v string) (err error) {
			c.RecordKeep, err = parseEnum(v, KeepAlways, KeepFailure)
			return err
		}},
	{env: "XINIT_ARTIFACTS", key: "artifacts", flag: "artifacts", example: "XINIT_ARTIFACTS=/artifacts",
		help: "directory for the failure bundle: screenshot, video, X log, service output, status, GPU snapshot, summary.json (the summary alone on success)",
		apply: func(c *Config, v string) error {
			if v != "" && !filepath.IsAbs(v) {
				return errors.New("want an absolute path")
			}
			c.Artifacts = v
			return nil
		}},
	{env: "XINIT_FREEZE_TIMEOUT", key: "freeze_timeout", flag: "freeze-timeout", def: "0", example: "XINIT_FREEZE_TIMEOUT=30s",
		help: "a screen unchanged or entirely black for this long is frozen (see XINIT_FREEZE_ACTION); 0 turns the watchdog off",
		apply: func(c *Config, v string) (err error) {
			c.FreezeTimeout, err = parseDuration(v, true)
			if err == nil && c.FreezeTimeout != 0 && c.FreezeTimeout < time.Second {
				err = errors.New("want 0 or at least 1s")
			}
			return err
		}},
	{env: "XINIT_FREEZE_ACTION", key: "freeze_action", flag: "freeze-action", def: "fail", example: "XINIT_FREEZE_ACTION=restart",
		help: "what a frozen or black screen does: fail (the session ends with exit code 75), restart the app, or log",
		apply: func(c *Config, v string) (err error) {
			c.FreezeAction, err = parseEnum(v, FreezeFail, FreezeRestart, FreezeLog)
			return err
		}},
	{env: "XINIT_SLOW_FPS", key: "slow_fps", flag: "slow-fps", def: "0", example: "XINIT_SLOW_FPS=5",
		help: "the screen is slow when it updates fewer than this many times a second on average over XINIT_SLOW_FOR while the app runs (a screen that does not update at all is static, not slow: see XINIT_FREEZE_TIMEOUT); 0 turns the rule off",
		apply: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1000 || f != f {
				return errors.New("want a number of updates a second from 0 to 1000")
			}
			c.SlowFPS = f
			return nil
		}},
	{env: "XINIT_SLOW_FOR", key: "slow_for", flag: "slow-for", def: "30s", example: "XINIT_SLOW_FOR=1m",
		help: "the stretch XINIT_SLOW_FPS averages over, from 2s to 10m; choose it longer than the app's slowest legitimate phase (a level loading)",
		apply: func(c *Config, v string) (err error) {
			c.SlowFor, err = parseDuration(v, false)
			if err == nil && (c.SlowFor < 2*time.Second || c.SlowFor > 10*time.Minute) {
				err = errors.New("want from 2s to 10m")
			}
			return err
		}},
	{env: "XINIT_SLOW_ACTION", key: "slow_action", flag: "slow-action", def: "fail", example: "XINIT_SLOW_ACTION=log",
		help: "what a slow screen does: fail (the session ends with exit code 75), restart the app, or log",
		apply: func(c *Config, v string) (err error) {
			c.SlowAction, err = parseEnum(v, FreezeFail, FreezeRestart, FreezeLog)
			return err
		}},
	{env: "XINIT_APP_READY", key: "app_ready", flag: "app-ready", def: "start", example: "XINIT_APP_READY=frame",
		help: "when the app is ready (for /readyz and services with after = [\"app\"]): start (once started) or frame (once it has drawn a frame that is not entirely black, within XINIT_APP_READY_TIMEOUT)",
		apply: func(c *Config, v string) (err error) {
			c.AppReady, err = parseEnum(v, AppReadyStart, AppReadyFrame)
			return err
		}},
	{env: "XINIT_APP_READY_TIMEOUT", key: "app_ready_timeout", flag: "app-ready-timeout", def: "2m", example: "XINIT_APP_READY_TIMEOUT=5m",
		help: "with XINIT_APP_READY=frame: an app that has drawn no frame that is not entirely black this long after each start ends the session with exit code 79",
		apply: func(c *Config, v string) (err error) {
			c.AppReadyTimeout, err = parseDuration(v, false)
			if err == nil && c.AppReadyTimeout < time.Second {
				err = errors.New("want at least 1s")
			}
			return err
		}},
	{env: "XINIT_VULKAN", key: "vulkan", flag: "vulkan", def: "auto", example: "XINIT_VULKAN=layer",
		help: "Vulkan apps under xvfb or dummy: auto (the present layer when NVIDIA's Vulkan driver is there: the driver's own swapchains where it presents, copies where it cannot), layer (always), copy (always, copying even where the driver presents) or off",
		apply: func(c *Config, v string) (err error) {
			c.Vulkan, err = parseEnum(v, VulkanAuto, VulkanLayer, VulkanCopy, VulkanOff)
			return err
		}},
	{env: "XINIT_REQUIRE_GPU", key: "require_gpu", flag: "require-gpu", def: "0", example: "XINIT_REQUIRE_GPU=1",
		help: "1: the GL renderer the app gets on the display must be a GPU's, and so must one of the Vulkan devices it sees when it has any; a software one (llvmpipe, softpipe, swrast, lavapipe) ends the session with exit code 69 before the app starts",
		apply: func(c *Config, v string) error {
			switch strings.ToLower(v) {
			case "1", "on", "true", "yes":
				c.RequireGPU = true
			case "0", "off", "false", "no":
				c.RequireGPU = false
			default:
				return errors.New("want 0 or 1")
			}
			return nil
		}},
	{env: "XINIT_LOG_FORMAT", key: "log_format", flag: "log-format", def: "auto", example: "XINIT_LOG_FORMAT=json",
		help: "log format: json, console, or auto (console on a terminal, else json)",
		apply: func(c *Config, v string) (err error) {
			c.LogFormat, err = parseChoice(v, "auto", "json", "console")
			return err
		}},
	{env: "XINIT_LOG_LEVEL", key: "log_level", flag: "log-level", def: "info", example: "XINIT_LOG_LEVEL=debug",
		help: "log level: debug, info, warn or error",
		apply: func(c *Config, v string) (err error) {
			c.LogLevel, err = parseChoice(v, "debug", "info", "warn", "error")
			return err
		}},
}

// ParseResolution reads WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH.
func ParseResolution(v string) (w, h, d int, err error) {
	parts := strings.Split(strings.ToLower(v), "x")
	bad := errors.New("want WIDTHxHEIGHT[xDEPTH]")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, bad
	}
	nums := []int{0, 0, 24}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || p[0] == '+' || p[0] == '-' {
			return 0, 0, 0, bad
		}
		nums[i] = n
	}
	w, h, d = nums[0], nums[1], nums[2]
	switch {
	case w < 320 || h < 200 || w > 16384 || h > 16384:
		return 0, 0, 0, fmt.Errorf("%dx%d is out of range: width and height from 320x200 to 16384x16384", w, h)
	case d != 16 && d != 24 && d != 30:
		return 0, 0, 0, fmt.Errorf("depth %d is not 16, 24 or 30", d)
	}
	return w, h, d, nil
}

func parseChoice(v string, choices ...string) (string, error) {
	l := strings.ToLower(v)
	for _, c := range choices {
		if l == c {
			return c, nil
		}
	}
	return "", fmt.Errorf("want one of %s", strings.Join(choices, ", "))
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, errors.New("want on or off")
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return 0, errors.New("want a port from 1 to 65535")
	}
	return n, nil
}

func parseDuration(v string, zeroOK bool) (time.Duration, error) {
	if v == "0" && zeroOK {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, errors.New("want a Go duration such as 500ms, 30s or 1h30m")
	case d < 0 || (d == 0 && !zeroOK):
		return 0, errors.New("want a positive duration")
	case d > 100*24*time.Hour:
		return 0, errors.New("want at most 100 days")
	}
	return d, nil
}

var errHelp = flag.ErrHelp

// newFlagSet returns a flag set with one string flag per setting, and a function
// that, after Parse, returns a pointer for each flag given on the command line.
func newFlagSet() (*flag.FlagSet, func() map[string]*string) {
	fs := flag.NewFlagSet("xinit-go", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := map[string]*string{}
	for _, s := range settings {
		if s.flag != "" {
			vals[s.flag] = fs.String(s.flag, s.def, s.help)
		}
	}
	return fs, func() map[string]*string {
		given := map[string]*string{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = vals[f.Name] })
		return given
	}
}

// argList is a list of arguments: a TOML list arrives joined with NUL (which no
// environment variable or flag can hold) and keeps each element whole; a
// variable or flag is split on spaces.
func argList(v string) []string {
	if strings.Contains(v, "\x00") {
		return strings.Split(v, "\x00")
	}
	return strings.Fields(v)
}
