package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// DefaultWebRoot is where Debian's novnc package installs the client's files.
const DefaultWebRoot = "/usr/share/novnc"

// WebClientFile is the noVNC module the browser view's page loads; a web root
// without it is not noVNC.
const WebClientFile = "core/rfb.js"

// parseListenAddr reads HOST:PORT, :PORT or off ("" when off).
func parseListenAddr(v string) (string, error) {
	if v == "off" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", errors.New("want HOST:PORT, :PORT or off")
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return "", fmt.Errorf("host %q is not an IP address or localhost", host)
	}
	if _, err := parsePort(port); err != nil {
		return "", err
	}
	return v, nil
}

// WebOn reports whether the browser view can run: it needs an address and VNC.
func (c *Config) WebOn() bool {
	return c.WebAddr != "" && c.VNC && c.Backend != BackendNone
}

// checkWeb validates the browser view's settings together.
func (c *Config) checkWeb() []error {
	var errs []error
	if (c.WebTLSCert == "") != (c.WebTLSKey == "") {
		errs = append(errs, fmt.Errorf("XINIT_WEB_TLS_CERT=%q and XINIT_WEB_TLS_KEY=%q: set both or neither, e.g. XINIT_WEB_TLS_CERT=/run/secrets/web/tls.crt XINIT_WEB_TLS_KEY=/run/secrets/web/tls.key", c.WebTLSCert, c.WebTLSKey))
	}
	if !c.WebOn() {
		return errs
	}
	if c.WebTLSCert != "" && c.WebTLSKey != "" {
		if _, err := tls.LoadX509KeyPair(c.WebTLSCert, c.WebTLSKey); err != nil {
			errs = append(errs, fmt.Errorf("XINIT_WEB_TLS_CERT=%q, XINIT_WEB_TLS_KEY=%q: %v; give a PEM certificate and its PEM private key, e.g. a mounted kubernetes.io/tls secret's tls.crt and tls.key", c.WebTLSCert, c.WebTLSKey, err))
		}
	}
	if c.WebRoot != "" {
		if _, err := os.Stat(filepath.Join(c.WebRoot, WebClientFile)); err != nil {
			errs = append(errs, fmt.Errorf("XINIT_WEB_ROOT=%q holds no noVNC client (%s: %v); point it at noVNC's files, e.g. XINIT_WEB_ROOT=%s (Debian's novnc package)", c.WebRoot, WebClientFile, errors.Unwrap(err), DefaultWebRoot))
		}
	}
	wp := portOf(c.WebAddr)
	if wp == c.VNCPort {
		errs = append(errs, fmt.Errorf("XINIT_WEB_ADDR=%q and XINIT_VNC_PORT=%d use the same port; move one, e.g. XINIT_WEB_ADDR=:6080", c.WebAddr, c.VNCPort))
	}
	if wp == c.healthPort() {
		errs = append(errs, fmt.Errorf("XINIT_WEB_ADDR=%q and XINIT_HEALTH_ADDR=%q use the same port; move one, e.g. XINIT_WEB_ADDR=:6080", c.WebAddr, c.HealthAddr))
	}
	return errs
}
