package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/xinit-go/xinit-go/xorgconf"
)

// DefaultFile is read when neither --config nor XINIT_CONFIG names a file and it exists.
const DefaultFile = "/etc/xinit-go/config.toml"

// Backend is the X server to run (XINIT_BACKEND); auto becomes nvidia or xvfb
// in the session's plan.
type Backend string

// Backends.
const (
	BackendAuto   Backend = "auto"
	BackendNvidia Backend = "nvidia"
	BackendXvfb   Backend = "xvfb"
	BackendDummy  Backend = "dummy"
	BackendNone   Backend = "none"
)

// Config is the whole validated configuration.
type Config struct {
	File string `json:"config_file,omitempty"` // the TOML file read, if any

	Backend    Backend          `json:"backend"`
	Display    int              `json:"display"` // the N of :N
	Width      int              `json:"width"`
	Height     int              `json:"height"`
	Depth      int              `json:"depth"`
	BusID      *xorgconf.BusID  `json:"busid,omitempty"`
	GPU        string           `json:"gpu"` // index, UUID or "all"
	XorgConf   string           `json:"xorg_conf,omitempty"`
	RuntimeDir string           `json:"runtime_dir"`
	XReady     time.Duration    `json:"x_ready_timeout"`
	XArgs      []string         `json:"x_args,omitempty"`
	Services   []Service        `json:"services,omitempty"`
	Forward    []syscall.Signal `json:"forward_signals"`

	VNC             bool   `json:"vnc"`
	VNCPort         int    `json:"vnc_port"`
	VNCPassword     string `json:"-"`
	VNCPasswordFile string `json:"vnc_password_file,omitempty"`
	VNCListen       string `json:"vnc_listen,omitempty"`

	HealthAddr string `json:"health_addr"` // "" when off

	WebAddr    string   `json:"web_addr"` // "" when off
	WebRoot    string   `json:"web_root,omitempty"`
	WebTLSCert string   `json:"web_tls_cert,omitempty"`
	WebTLSKey  string   `json:"web_tls_key,omitempty"`
	WebHosts   []string `json:"web_hosts,omitempty"`
	View       bool     `json:"view"`
	ViewFPS    int      `json:"view_fps"`

	AppUser        string        `json:"app_user,omitempty"`
	AppRestart     RestartPolicy `json:"app_restart"`
	AppTimeout     time.Duration `json:"app_timeout"`
	StopGrace      time.Duration `json:"stop_grace"`
	RestartBudget  int           `json:"restart_budget"`
	RestartWindow  time.Duration `json:"restart_window"`
	RestartBackoff time.Duration `json:"restart_backoff"`
	Screenshot     string        `json:"screenshot,omitempty"`
	Vulkan         VulkanMode    `json:"vulkan"`
	RequireGPU     bool          `json:"require_gpu"`

	Record        string        `json:"record,omitempty"`
	RecordFPS     int           `json:"record_fps"`
	RecordLast    time.Duration `json:"record_last"`
	RecordKeep    RecordKeep    `json:"record_keep"`
	Artifacts     string        `json:"artifacts,omitempty"`
	FreezeTimeout time.Duration `json:"freeze_timeout"`
	FreezeAction  FreezeAction  `json:"freeze_action"`
	SlowFPS       float64       `json:"slow_fps"`
	SlowFor       time.Duration `json:"slow_for"`
	SlowAction    FreezeAction  `json:"slow_action"`

	AppReady        AppReady      `json:"app_ready"`
	AppReadyTimeout time.Duration `json:"app_ready_timeout"`

	LogFormat string `json:"log_format"`
	LogLevel  string `json:"log_level"`

	App []string `json:"app,omitempty"`
}

// Service is an extra service declared in the TOML file ([[service]]).
type Service struct {
	Name     string            `toml:"name" json:"name"`
	Command  []string          `toml:"command" json:"command"`
	Env      map[string]string `toml:"env" json:"env,omitempty"`
	Dir      string            `toml:"dir" json:"dir,omitempty"`
	Restart  RestartPolicy     `toml:"restart" json:"restart"`
	After    []string          `toml:"after" json:"after,omitempty"`
	Required bool              `toml:"required" json:"required"`
}

// DisplayName is ":N".
func (c *Config) DisplayName() string { return fmt.Sprintf(":%d", c.Display) }

// Resolution is "WxHxD".
func (c *Config) Resolution() string { return fmt.Sprintf("%dx%dx%d", c.Width, c.Height, c.Depth) }

// Error is what Load returns: every problem found, one per line.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() []error { return e.Problems }

// ErrHelp is returned for -h and --help; the caller prints the usage and exits 0.
var ErrHelp = errors.New("help requested")

// Load reads the configuration. args are the command-line arguments after the
// program name (and subcommand); getenv reads the environment, and an empty value
// counts as unset. defaultFile is read when no file is named and it exists
// (DefaultFile in production).
func Load(args []string, getenv func(string) string, defaultFile string) (*Config, error) {
	return LoadLookup(args, func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}, defaultFile)
}

// LoadLookup is Load with an environment that tells an empty variable from an
// unset one (os.LookupEnv). A variable set to "" overrides the TOML file for the
// settings whose default is empty, where empty means none (VNC_PASSWORD="": no
// password; XINIT_SCREENSHOT="": no screenshot); for the others an empty
// variable counts as unset.
func LoadLookup(args []string, lookup func(string) (string, bool), defaultFile string) (*Config, error) {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	var problems []error
	fs, givenFlags := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, errHelp) {
			return nil, ErrHelp
		}
		return nil, &Error{[]error{fmt.Errorf("command line: %v; see xinit-go --help", err)}}
	}
	flagVals := givenFlags()
	c := &Config{App: fs.Args()}

	file := ""
	switch {
	case flagVals["config"] != nil:
		file = *flagVals["config"]
	case getenv("XINIT_CONFIG") != "":
		file = getenv("XINIT_CONFIG")
	default:
		if _, err := os.Stat(defaultFile); err == nil {
			file = defaultFile
		}
	}
	var fileVals map[string]string
	if file != "" {
		c.File = file
		vals, svcs, errs := readFile(file)
		problems = append(problems, errs...)
		fileVals = vals
		c.Services = svcs
	}

	for _, st := range settings {
		if st.env == "XINIT_CONFIG" {
			continue
		}
		val, src, from := st.def, "", "env"
		if v, ok := fileVals[st.key]; ok && st.key != "" {
			val, src, from = v, fmt.Sprintf("%s: %s = %q", file, st.key, v), "file"
		}
		if v, ok := lookup(st.env); ok && (v != "" || st.def == "") {
			val, src, from = v, fmt.Sprintf("%s=%q", st.env, v), "env"
		}
		if p := flagVals[st.flag]; p != nil && st.flag != "" {
			val, src, from = *p, fmt.Sprintf("--%s %q", st.flag, *p), "flag"
		}
		if src == "" {
			src = fmt.Sprintf("%s default %q", st.env, val)
		}
		if err := st.apply(c, strings.TrimSpace(val)); err != nil {
			problems = append(problems, fmt.Errorf("%s: %v, e.g. %s", src, err, exampleIn(st, from)))
		}
	}
	problems = append(problems, c.crossCheck(getenv)...)
	if len(problems) > 0 {
		return nil, &Error{problems}
	}
	return c, nil
}

// crossCheck validates what involves more than one setting.
func (c *Config) crossCheck(getenv func(string) string) []error {
	var errs []error
	if c.VNCPassword != "" && c.VNCPasswordFile != "" {
		errs = append(errs, errors.New("VNC_PASSWORD and XINIT_VNC_PASSWORD_FILE are both set: choose one, e.g. unset VNC_PASSWORD and mount the secret at XINIT_VNC_PASSWORD_FILE=/run/secrets/vnc"))
	}
	if c.VNCPasswordFile != "" && c.VNC {
		b, err := os.ReadFile(c.VNCPasswordFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("XINIT_VNC_PASSWORD_FILE=%q: %v; point it at a readable file that holds the password, e.g. a mounted Kubernetes secret", c.VNCPasswordFile, err))
		case passwordLine(b) == "":
			errs = append(errs, fmt.Errorf("XINIT_VNC_PASSWORD_FILE=%q: the first line is empty; write the password on it, e.g. printf 's3cret12' > %s, or unset the variable for a localhost-only VNC", c.VNCPasswordFile, c.VNCPasswordFile))
		default:
			c.VNCPassword = passwordLine(b)
		}
	}
	if c.VNC && c.VNCPort == c.healthPort() {
		errs = append(errs, fmt.Errorf("XINIT_VNC_PORT=%d and XINIT_HEALTH_ADDR=%q use the same port; move one, e.g. XINIT_HEALTH_ADDR=:9810", c.VNCPort, c.HealthAddr))
	}
	errs = append(errs, c.checkWeb()...)
	if c.Backend == BackendNone && len(c.App) == 0 {
		errs = append(errs, errors.New("XINIT_BACKEND=none needs an app to run: give it as arguments, e.g. xinit-go -- ./simulator --headless"))
	}
	if c.Backend == BackendNone && c.Screenshot != "" {
		errs = append(errs, fmt.Errorf("XINIT_SCREENSHOT=%q needs a display, but XINIT_BACKEND=none starts none; unset one of them", c.Screenshot))
	}
	if c.Backend == BackendNone && c.RequireGPU {
		errs = append(errs, errors.New("XINIT_REQUIRE_GPU=1 checks the GL renderer on the display, but XINIT_BACKEND=none starts none; unset one of them"))
	}
	errs = append(errs, c.checkRecord()...)
	names := map[string]bool{"x": true, "vnc": true, "gl": true, "app": true}
	for i, s := range c.Services {
		where := fmt.Sprintf("%s: [[service]] #%d", c.File, i+1)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is missing, e.g. name = \"wm\"", where))
		} else if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s: name = %q is taken (x, vnc, gl, app and each service name are reserved), e.g. name = \"wm\"", where, s.Name))
		}
		names[s.Name] = true
		if len(s.Command) == 0 || s.Command[0] == "" {
			errs = append(errs, fmt.Errorf("%s (%s): command is empty, e.g. command = [\"openbox\", \"--sm-disable\"]", where, s.Name))
		}
		if s.Restart == "" {
			c.Services[i].Restart = RestartOnFailure
		} else if p, err := parseEnum(string(s.Restart), RestartNever, RestartOnFailure, RestartAlways); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): restart = %q: want never, on-failure or always", where, s.Name, s.Restart))
		} else {
			c.Services[i].Restart = p
		}
	}
	for _, s := range c.Services {
		for _, a := range s.After {
			if !names[a] {
				errs = append(errs, fmt.Errorf("%s: service %s: after = [%q]: no such service; want x, vnc, gl, app or a declared service name", c.File, s.Name, a))
			}
			if a == "app" && c.Backend == BackendNone {
				continue
			}
			if (a == "x" || a == "vnc" || a == "gl") && c.Backend == BackendNone {
				errs = append(errs, fmt.Errorf("%s: service %s: after = [%q], but XINIT_BACKEND=none starts no X server, VNC or GL probe", c.File, s.Name, a))
			}
		}
	}
	return errs
}

// passwordLine is the password a file holds: its first line without the
// whitespace around it, as VNC_PASSWORD is read (so that "echo pw > file" and a
// secret with a trailing newline mean what they say).
func passwordLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func (c *Config) healthPort() int { return portOf(c.HealthAddr) }

// portOf is the port of a HOST:PORT address, -1 for "" (off).
func portOf(addr string) int {
	if addr == "" {
		return -1
	}
	i := strings.LastIndexByte(addr, ':')
	var p int
	if _, err := fmt.Sscanf(addr[i+1:], "%d", &p); err != nil {
		return -1
	}
	return p
}

// Redacted is a copy of c fit for a file the app user can read (the failure
// bundle's summary): the values of the extra services' environments are
// replaced, their names kept. The VNC password is never marshalled at all.
func (c *Config) Redacted() *Config {
	r := *c
	r.Services = make([]Service, len(c.Services))
	for i, s := range c.Services {
		if s.Env != nil {
			env := make(map[string]string, len(s.Env))
			for k := range s.Env {
				env[k] = "(redacted)"
			}
			s.Env = env
		}
		r.Services[i] = s
	}
	if c.Services == nil {
		r.Services = nil
	}
	return &r
}
