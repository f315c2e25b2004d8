// Command xinit-go is the PID 1 of a container that runs an OpenGL/GLX program on
// a headless server: it detects the GPU, writes xorg.conf, starts the X server,
// x11vnc and the app, supervises them, and exits with the app's code.
//
// Usage:
//
//	xinit-go [flags] [--] APP [ARGS...]   run the X session and the app as PID 1
//	xinit-go [flags]                      no app: X and VNC run until stopped (SIGTERM)
//	xinit-go check [flags]                preflight: GPUs, driver, X modules, chosen backend
//	xinit-go xorgconf [flags]             print the xorg.conf that would be written
//	xinit-go health [--ready] [flags]     probe a running xinit-go (exit 0 healthy, 1 not)
//	xinit-go summary [--json] DIR         the runs under DIR (their summary.json): a table and totals; exit 1 when any failed
//	xinit-go version [--json]             version, commit, Go version, cgo and NVML
//
// Settings (variable, TOML key, flag, default), flags > environment > TOML > default:
//
//	XINIT_CONFIG             -                  --config             /etc/xinit-go/config.toml when it exists
//	XINIT_BACKEND            backend            --backend            auto (nvidia, xvfb, dummy, none)
//	XINIT_DISPLAY            display            --display            :0
//	SCREEN_RESOLUTION        resolution         --resolution         1920x1080x24
//	BUSID                    busid              --busid              detected through NVML
//	XINIT_GPU                gpu                --gpu                0 (index, UUID or all)
//	XINIT_XORG_CONF          xorg_conf          --xorg-conf          generated into the runtime directory
//	XINIT_RUNTIME_DIR        runtime_dir        --runtime-dir        /run/xinit-go
//	XINIT_X_READY_TIMEOUT    x_ready_timeout    --x-ready-timeout    30s
//	XINIT_X_ARGS             x_args             --x-args             none
//	XINIT_VNC                vnc                --vnc                on
//	XINIT_VNC_PORT           vnc_port           --vnc-port           5900
//	VNC_PASSWORD             vnc_password       (no flag)            none: VNC on localhost only
//	XINIT_VNC_PASSWORD_FILE  vnc_password_file  --vnc-password-file  none
//	XINIT_VNC_LISTEN         vnc_listen         --vnc-listen         all interfaces with a password
//	XINIT_HEALTH_ADDR        health_addr        --health-addr        :9810 (off disables)
//	XINIT_WEB_ADDR           web_addr           --web-addr           :6080 (localhost only without a VNC password; off disables)
//	XINIT_WEB_ROOT           web_root           --web-root           /usr/share/novnc (Debian's novnc)
//	XINIT_WEB_TLS_CERT       web_tls_cert       --web-tls-cert       none: HTTP
//	XINIT_WEB_TLS_KEY        web_tls_key        --web-tls-key        none
//	XINIT_WEB_HOSTS          web_hosts          --web-hosts          none: own names and IP addresses only
//	XINIT_VIEW               view               --view               on (the smooth view: H.264 with WebCodecs on /)
//	XINIT_VIEW_FPS           view_fps           --view-fps           60
//	XINIT_APP_RESTART        app_restart        --app-restart        never (on-failure, always)
//	XINIT_APP_TIMEOUT        app_timeout        --app-timeout        0 (no limit); past it exit 124
//	XINIT_STOP_GRACE         stop_grace         --stop-grace         5s
//	XINIT_RESTART_BUDGET     restart_budget     --restart-budget     5/1m
//	XINIT_RESTART_BACKOFF    restart_backoff    --restart-backoff    10s (the wait starts at 250ms and doubles)
//	XINIT_FORWARD_SIGNALS    forward_signals    --forward-signals    HUP,USR1,USR2,WINCH,QUIT
//	XINIT_APP_USER           app_user           --app-user           none: the app runs as xinit-go's user
//	XINIT_SCREENSHOT         screenshot         --screenshot         none
//	XINIT_RECORD             record             --record             none: no recording (an absolute .mp4 path)
//	XINIT_RECORD_FPS         record_fps         --record-fps         15
//	XINIT_RECORD_LAST        record_last        --record-last        0 (keep it all); e.g. 60s for a rolling window
//	XINIT_RECORD_KEEP        record_keep        --record-keep        always (failure)
//	XINIT_ARTIFACTS          artifacts          --artifacts          none: no bundle
//	XINIT_FREEZE_TIMEOUT     freeze_timeout     --freeze-timeout     0 (off)
//	XINIT_FREEZE_ACTION      freeze_action      --freeze-action      fail (restart, log)
//	XINIT_SLOW_FPS           slow_fps           --slow-fps           0 (off); updates a second below which the screen is slow
//	XINIT_SLOW_FOR           slow_for           --slow-for           30s
//	XINIT_SLOW_ACTION        slow_action        --slow-action        fail (restart, log)
//	XINIT_APP_READY          app_ready          --app-ready          start (frame: on the first frame not entirely black)
//	XINIT_APP_READY_TIMEOUT  app_ready_timeout  --app-ready-timeout  2m; past it with no such frame exit 79
//	XINIT_VULKAN             vulkan             --vulkan             auto (layer, copy, off): the present layer
//	XINIT_REQUIRE_GPU        require_gpu        --require-gpu        0 (1: a software GL renderer exits 69)
//	XINIT_LOG_FORMAT         log_format         --log-format         auto (json, console)
//	XINIT_LOG_LEVEL          log_level          --log-level          info
//
// Exit codes: the app's own; 128+N when signal N killed it; 124 past
// XINIT_APP_TIMEOUT; 126/127 when the app cannot be executed or found; 78 for bad
// configuration (nothing started); 69 when the requested backend is unavailable,
// or, with XINIT_REQUIRE_GPU=1, when the app's GL renderer is software (the app
// never started);
// 70 when the X server or VNC failed for good; 75 when the watchdog found the
// screen frozen or black and XINIT_FREEZE_ACTION=fail, or slow and
// XINIT_SLOW_ACTION=fail; 79 when, with XINIT_APP_READY=frame, the app drew no
// frame that is not entirely black within XINIT_APP_READY_TIMEOUT.
//
// main stays one line: run turns every error into an exit code, and no package
// calls os.Exit.
package main
