package config

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// parseHosts reads XINIT_WEB_HOSTS: DNS names, or *.DOMAIN, comma-separated.
func parseHosts(v string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(f), "*."), ".")
		ok := name != "" && len(name) <= 253
		for _, label := range strings.Split(name, ".") {
			ok = ok && label != "" && len(label) <= 63 && strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") == ""
		}
		if !ok {
			return nil, fmt.Errorf("%q is not a host name (want names like view.example.com or *.apps.example.org, without ports, comma-separated)", f)
		}
		out = append(out, strings.ToLower(f))
	}
	return out, nil
}

// canSign completes a TLS handshake in memory with the certificate, as a
// browser would: a key that loads but cannot sign (RSA under 1024 bits, P-224)
// fails here instead of in every handshake.
func canSign(cert tls.Certificate) error {
	srv, cli := net.Pipe()
	defer srv.Close()
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		err := s.HandshakeContext(ctx)
		srv.Close()
		done <- err
	}()
	c := tls.Client(cli, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	cerr := c.HandshakeContext(ctx)
	cli.Close()
	serr := <-done
	if serr != nil {
		return serr
	}
	return cerr
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
		if cert, err := tls.LoadX509KeyPair(c.WebTLSCert, c.WebTLSKey); err != nil {
			errs = append(errs, fmt.Errorf("XINIT_WEB_TLS_CERT=%q, XINIT_WEB_TLS_KEY=%q: %v; give a PEM certificate and its PEM private key, e.g. a mounted kubernetes.io/tls secret's tls.crt and tls.key", c.WebTLSCert, c.WebTLSKey, err))
		} else if err := canSign(cert); err != nil {
			errs = append(errs, fmt.Errorf("XINIT_WEB_TLS_KEY=%q loads but cannot sign a TLS handshake (%v); use an ECDSA P-256 or RSA 2048-bit key, e.g. openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt -subj /CN=localhost", c.WebTLSKey, err))
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
